package cab

import (
	"bytes"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// benchCab is a cabinet of mixed data in one folder of the given method.
func benchCab(b *testing.B, m Method, size int) []byte {
	b.Helper()
	return writeCab(b, []testFile{
		{Name: "image.nbt", Data: mixedData(11, size/2), Method: m},
		{Name: "text.txt", Data: bytes.Repeat([]byte("UCPhone firmware 4.0.7577.4363 approved\r\n"), size/2/41), Method: m},
	})
}

func benchRead(b *testing.B, data []byte) {
	r := openBytes(b, data)
	var total int64
	for _, f := range r.File {
		total += f.Size
	}
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, f := range r.File {
			rc, err := f.Open()
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, rc); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkReadNone(b *testing.B)  { benchRead(b, benchCab(b, None, 16<<20)) }
func BenchmarkReadMSZIP(b *testing.B) { benchRead(b, benchCab(b, MSZIP, 16<<20)) }

func BenchmarkChecksum(b *testing.B) {
	data := mixedData(3, maxFrame)
	b.SetBytes(int64(len(data)))
	for range b.N {
		checksum(data, 0)
	}
}

func BenchmarkWriteMSZIP(b *testing.B) {
	data := mixedData(12, 8<<20)
	b.SetBytes(int64(len(data)))
	for range b.N {
		w := NewWriter(io.Discard)
		fw, _ := w.Create("x")
		fw.Write(data)
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadLZX(b *testing.B) { benchRead(b, benchCab(b, LZX, 16<<20)) }

// BenchmarkCorpusLZX reads every LZX cabinet of the shared corpus that
// the reference extracts.
func BenchmarkCorpusLZX(b *testing.B) {
	var cabs [][]byte
	var total int64
	for _, c := range cabtest.Cases(b) {
		if c.Exp.Status != "ok" || !slices.Contains(c.Exp.Tags, "lzx") {
			continue
		}
		data, err := os.ReadFile(c.Path)
		if err != nil {
			b.Fatal(err)
		}
		r := openBytes(b, data)
		for _, f := range r.File {
			total += f.Size
		}
		cabs = append(cabs, data)
	}
	if len(cabs) == 0 {
		b.Fatal("no LZX cabinets in the corpus")
	}
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		for _, data := range cabs {
			r := openBytes(b, data)
			for _, f := range r.File {
				rc, err := f.Open()
				if err == nil {
					io.Copy(io.Discard, rc)
					rc.Close()
				}
			}
		}
	}
}
