package quantum

import (
	"sync"
	"testing"
)

type benchInput struct {
	name   string
	bits   int
	size   int
	frames []encodedFrame
}

var benchInputs = sync.OnceValue(func() []benchInput {
	text := textLike(4<<20, 1<<21, 42)
	random := randomBytes(2<<20, 43)
	in := []benchInput{
		{name: "text", bits: 21, size: len(text)},
		{name: "random", bits: 16, size: len(random)},
	}
	in[0].frames, _ = compress(text, 21, 16)
	in[1].frames, _ = compress(random, 16, 16)
	return in
})

// BenchmarkDecode decodes a few MiB of the test encoder's output: pseudo-text
// with a 2 MiB window, and incompressible data (all literals).
func BenchmarkDecode(b *testing.B) {
	for _, in := range benchInputs() {
		b.Run(in.name, func(b *testing.B) {
			d, err := NewDecoder(in.bits)
			if err != nil {
				b.Fatal(err)
			}
			packed := 0
			for _, f := range in.frames {
				packed += len(f.data)
			}
			dst := make([]byte, MaxFrameSize)
			b.SetBytes(int64(in.size))
			b.ResetTimer()
			for b.Loop() {
				d.Reset()
				for _, f := range in.frames {
					if err := d.DecodeFrame(dst[:f.size], f.data); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(packed)/float64(in.size), "packed/unpacked")
		})
	}
}
