package quantum

import (
	"math/rand/v2"
	"strings"
)

// textLike returns n bytes of pseudo-text: words from a small vocabulary,
// with now and then a copy of an earlier stretch from up to far bytes back.
func textLike(n, far int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	words := strings.Fields(`the quick brown fox jumps over lazy dog cabinet folder
		quantum arithmetic window frame model selector literal match length position
		slot extra bits decoder encoder stream Microsoft archive compression data
		A B C 0 1 2 3 , . ; ( ) { } = := func return if else for range`)
	b := make([]byte, 0, n+300)
	for len(b) < n {
		switch k := r.IntN(40); {
		case k == 0 && len(b) > 300:
			// A long copy from far back.
			d := 1 + r.IntN(min(far, len(b)-300))
			from := len(b) - d
			b = append(b, b[from:from+5+r.IntN(300)]...)
		case k == 1:
			b = append(b, byte(r.IntN(256)))
		case k == 2:
			b = append(b, '\n')
		default:
			b = append(b, words[r.IntN(len(words))]...)
			b = append(b, ' ')
		}
	}
	return b[:n]
}

// randomBytes returns n incompressible bytes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
