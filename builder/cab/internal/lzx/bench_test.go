package lzx

import (
	"bytes"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
)

type benchInput struct {
	src    []byte
	blocks [][]byte
	sizes  []int
	packed int
}

var (
	benchMu     sync.Mutex
	benchInputs = map[string]*benchInput{}
)

// benchData returns encoded input of the given kind and size, made once.
func benchData(tb testing.TB, kind string, size int) *benchInput {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := kind + string(rune(size))
	if in := benchInputs[key]; in != nil {
		return in
	}
	rng := rand.New(rand.NewPCG(11, 11))
	var src []byte
	switch kind {
	case "mixed":
		src = genMixed(rng, size)
	case "text":
		src = genText(rng, size)
	case "exe":
		src = genExe(rng, size, 0)
	case "random":
		src = genRandom(rng, size)
	}
	blocks, sizes, err := Encode(src, 21, true)
	if err != nil {
		tb.Fatal(err)
	}
	in := &benchInput{src: src, blocks: blocks, sizes: sizes}
	for _, b := range blocks {
		in.packed += len(b)
	}
	out, err := decodeFrames(tb, 21, blocks, sizes)
	if err != nil || !bytes.Equal(out, src) {
		tb.Fatalf("%s: round trip failed: %v", kind, err)
	}
	benchInputs[key] = in
	return in
}

func benchDecode(b *testing.B, in *benchInput) {
	d, err := NewDecoder(21)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]byte, FrameSize)
	b.SetBytes(int64(len(in.src)))
	b.ReportMetric(float64(in.packed)/float64(len(in.src)), "ratio")
	b.ResetTimer()
	for b.Loop() {
		d.Reset()
		for i, blk := range in.blocks {
			if err := d.DecodeFrame(dst[:in.sizes[i]], blk); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkDecode decodes 64 MiB of mixed text, x86-like code, tables,
// random bytes and zeros, compressed by Encode with a 2 MiB window and E8
// translation.
func BenchmarkDecode(b *testing.B) {
	benchDecode(b, benchData(b, "mixed", 64<<20))
}

// BenchmarkDecodeKind decodes 8 MiB of one kind of data.
func BenchmarkDecodeKind(b *testing.B) {
	for _, kind := range []string{"text", "exe", "random"} {
		b.Run(kind, func(b *testing.B) {
			benchDecode(b, benchData(b, kind, 8<<20))
		})
	}
}

// TestWriteBenchCab writes the benchmark's input as a cabinet to the path
// in LZX_BENCH_CAB, to time other extractors on it (cabextract -p), and
// beside it the uncompressed data (.raw). LZX_BENCH_KIND chooses text, exe
// or random data (8 MiB) instead of the mixed 64 MiB.
func TestWriteBenchCab(t *testing.T) {
	path := os.Getenv("LZX_BENCH_CAB")
	if path == "" {
		t.Skip("LZX_BENCH_CAB not set")
	}
	kind, size := os.Getenv("LZX_BENCH_KIND"), 8<<20
	if kind == "" {
		kind, size = "mixed", 64<<20
	}
	in := benchData(t, kind, size)
	if err := os.WriteFile(path, writeCab(kind+".bin", 21, len(in.src), in.blocks, in.sizes), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".raw", in.src, 0o644); err != nil {
		t.Fatal(err)
	}
}
