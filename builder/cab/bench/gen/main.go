// Command gen writes the benchmark input of bench.sh: a directory of
// mixed data (text, an executable-like image, noise, zeros) and a
// cabinet of it written by duws's own writer, MSZIP or LZX. The data is
// the same on every run and machine.
//
//	go run ./builder/cab/bench/gen -size 200 -dir DIR -cab OUT.cab [-method lzx]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/duws/duws/builder/cab"
)

func main() {
	size := flag.Int("size", 200, "total size in MB")
	dir := flag.String("dir", "bench-src", "directory for the source files")
	out := flag.String("cab", "", "cabinet to write with duws's writer (none when empty)")
	folders := flag.Int("folders", 4, "folders in the cabinet (one per file, at most)")
	method := flag.String("method", "mszip", "compression: mszip or lzx (written by the test encoder)")
	flag.Parse()
	m := cab.MSZIP
	switch *method {
	case "mszip":
	case "lzx":
		m = cab.LZX
	default:
		fmt.Fprintf(os.Stderr, "gen: -method %q: want mszip or lzx\n", *method)
		os.Exit(2)
	}
	if err := run(*size<<20, *dir, *out, *folders, m); err != nil {
		fmt.Fprintf(os.Stderr, "gen: %v\n", err)
		os.Exit(1)
	}
}

type file struct {
	name string
	data []byte
}

func run(size int, dir, out string, folders int, method cab.Method) error {
	rng := rand.New(rand.NewPCG(2026, 11))
	files := []file{
		{"text.txt", text(rng, size*30/100)},
		{"image.nbt", image(rng, size*45/100)},
		{"random.bin", noise(rng, size*15/100)},
		{"zeros.bin", make([]byte, size*10/100)},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	if out == "" {
		return nil
	}
	var buf bytes.Buffer
	w := cab.NewWriter(&buf)
	for i, f := range files {
		if i == 0 || i < folders {
			if err := w.NewFolder(method); err != nil {
				return err
			}
		}
		fw, err := w.Create(f.name)
		if err != nil {
			return err
		}
		fw.Write(f.data)
	}
	if err := w.Close(); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644)
}

func text(rng *rand.Rand, n int) []byte {
	words := []string{"firmware", "update", "approved", "pending", "UCPhone", "Polycom", "CX600", "version",
		"device", "the", "a", "of", "and", "to", "in", "is", "for", "on", "with", "4.0.7577.4363"}
	var b bytes.Buffer
	for b.Len() < n {
		for i := range 12 {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(words[rng.IntN(len(words))])
		}
		b.WriteString("\r\n")
	}
	return b.Bytes()[:n]
}

// image imitates firmware: a 4 KiB page repeated with scattered changes.
func image(rng *rand.Rand, n int) []byte {
	page := noise(rng, 4096)
	b := make([]byte, 0, n+4096)
	for len(b) < n {
		p := bytes.Clone(page)
		for range 200 {
			p[rng.IntN(len(p))] = byte(rng.Uint32())
		}
		b = append(b, p...)
	}
	return b[:n]
}

func noise(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}
