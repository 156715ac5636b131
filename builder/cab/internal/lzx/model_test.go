package lzx

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestAgainstModel decodes random token streams, written by hand into one
// verbatim block that spans every frame, and compares the output with a
// naive model that copies matches byte by byte from the whole history.
// The offsets favour the awkward cases the encoder seldom makes: nearly a
// whole window, under 8 (repeating patterns), long matches.
func TestAgainstModel(t *testing.T) {
	for seed := uint64(0); seed < 24; seed++ {
		wb := 15 + int(seed%3)
		t.Run(fmt.Sprintf("seed%d-w%d", seed, wb), func(t *testing.T) {
			modelRun(t, rand.New(rand.NewPCG(seed, 99)), wb, 5)
		})
	}
}

type modelToken struct {
	lit    byte
	length int // 0 for a literal
	off    int
}

func modelRun(t *testing.T, rng *rand.Rand, wb, frames int) {
	wsize := 1 << wb
	total := frames * FrameSize
	var toks []modelToken
	var out []byte
	for pos := 0; pos < total; {
		frameEnd := (pos/FrameSize + 1) * FrameSize
		room := min(maxMatch, frameEnd-pos)
		full := pos/FrameSize*FrameSize >= wsize // the decoder's rule: output before the frame
		hist := pos
		if full {
			hist = wsize
		}
		if rng.IntN(5) < 2 || room < minMatch || hist < 1 {
			b := byte('a' + rng.IntN(4))
			if rng.IntN(4) == 0 {
				b = byte(rng.Uint32())
			}
			toks = append(toks, modelToken{lit: b})
			out = append(out, b)
			pos++
			continue
		}
		var off int
		switch r := rng.IntN(10); {
		case r < 3 && full:
			off = wsize - 3 - rng.IntN(20) // the largest a slot codes, or just under
		case r < 5:
			off = 1 + rng.IntN(min(hist, 9))
		case r < 7:
			off = 1 + rng.IntN(min(hist, 40))
		default:
			off = 1 + rng.IntN(hist)
		}
		off = min(off, hist, wsize-3)
		length := minMatch + rng.IntN(min(room-minMatch+1, 12))
		if rng.IntN(6) == 0 {
			length = minMatch + rng.IntN(room-minMatch+1)
		}
		toks = append(toks, modelToken{length: length, off: off})
		for i := 0; i < length; i++ {
			out = append(out, out[len(out)-off])
		}
		pos += length
	}

	// Code the tokens.
	numMain := numChars + 8*positionSlots[wb-MinWindowBits]
	type coded struct {
		main, lenSym int
		footer       uint32
		extra        uint
	}
	var syms []coded
	mainFreq := make([]uint32, numMain)
	lenFreq := make([]uint32, numLengthSymbols)
	r := [3]uint32{1, 1, 1}
	for _, tk := range toks {
		if tk.length == 0 {
			syms = append(syms, coded{main: int(tk.lit), lenSym: -1})
			mainFreq[tk.lit]++
			continue
		}
		slot, footer := slotFor(uint32(tk.off), &r)
		c := coded{main: matchSym(slot, tk.length), lenSym: -1, footer: footer, extra: uint(footerBits[slot])}
		if tk.length-minMatch >= numPrimaryLengths {
			c.lenSym = tk.length - minMatch - numPrimaryLengths
			lenFreq[c.lenSym]++
		}
		mainFreq[c.main]++
		syms = append(syms, c)
	}
	s := newTestStream(wb, false)
	mainLens := huffLengths(mainFreq, maxCodeLen)
	lenLens := huffLengths(lenFreq, maxCodeLen)
	s.verbatim(total, mainLens, lenLens)
	mainCodes, lenCodes := canonicalCodes(mainLens), canonicalCodes(lenLens)
	var blocks [][]byte
	var sizes []int
	pos := 0
	for i, c := range syms {
		s.w.put(mainCodes[c.main], uint(mainLens[c.main]))
		if c.lenSym >= 0 {
			s.w.put(lenCodes[c.lenSym], uint(lenLens[c.lenSym]))
		}
		s.w.put(c.footer, c.extra)
		if toks[i].length == 0 {
			pos++
		} else {
			pos += toks[i].length
		}
		if pos%FrameSize == 0 {
			blocks = append(blocks, s.bytes())
			sizes = append(sizes, FrameSize)
		}
	}
	got, err := decodeFrames(t, wb, blocks, sizes)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, out) {
		i := 0
		for got[i] == out[i] {
			i++
		}
		t.Fatalf("output differs from byte %d", i)
	}
}

// TestWholeWindowOffset uses the offsets a position slot can't code,
// up to the whole window, which only the repeated offsets set by an
// uncompressed block can carry.
func TestWholeWindowOffset(t *testing.T) {
	const wb = 15
	wsize := 1 << wb
	rng := rand.New(rand.NewPCG(14, 14))
	first := genRandom(rng, FrameSize)
	for _, off := range []int{wsize, wsize - 1, wsize - 2, wsize - 8} {
		s := newTestStream(wb, false)
		s.uncompressed(FrameSize, [3]uint32{1, 1, 1}, first)
		f0 := s.bytes()
		// Frame 1: set R0 = off, then literals and repeated matches.
		s.uncompressed(0, [3]uint32{uint32(off), 1, 1}, nil)
		s.verbatim(FrameSize, lens(numChars+8*positionSlots[0], 'x', 1, matchSym(0, 2), 2, matchSym(0, 8), 2), lens(numLengthSymbols))
		out := append([]byte(nil), first...)
		for len(out) < 2*FrameSize {
			switch r := rng.IntN(3); {
			case r == 0 || len(out) > 2*FrameSize-8:
				s.lit('x')
				out = append(out, 'x')
			default:
				n := 2
				if r == 2 {
					n = 8
				}
				s.match(0, n, 0)
				for range n {
					out = append(out, out[len(out)-off])
				}
			}
		}
		got, err := decodeFrames(t, wb, [][]byte{f0, s.bytes()}, []int{FrameSize, FrameSize})
		if err != nil {
			t.Fatalf("offset %d: %v", off, err)
		}
		if !bytes.Equal(got, out) {
			t.Fatalf("offset %d: output differs", off)
		}
	}
}
