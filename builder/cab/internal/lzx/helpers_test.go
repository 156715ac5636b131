package lzx

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// decodeFrames decodes a folder's frames with a fresh decoder.
func decodeFrames(t testing.TB, windowBits int, blocks [][]byte, sizes []int) ([]byte, error) {
	t.Helper()
	d, err := NewDecoder(windowBits)
	if err != nil {
		t.Fatal(err)
	}
	return decodeWith(d, blocks, sizes)
}

func decodeWith(d *Decoder, blocks [][]byte, sizes []int) ([]byte, error) {
	total := 0
	for _, s := range sizes {
		total += s
	}
	out := make([]byte, total)
	o := 0
	for i, b := range blocks {
		if err := d.DecodeFrame(out[o:o+sizes[i]], b); err != nil {
			return out[:o], err
		}
		o += sizes[i]
	}
	return out, nil
}

var vocabulary = strings.Fields(`the of and to a in is that for it as was with be by on not he this are or
his from at which but have an they you were her all she there would their we him been has when who will
more no if out so said what up its about into than them can only other new some could time these two may
then do first any my now such like our over man me even most made after also did many before must through
back years where much your way well down should because each just those people how too little state good
very make world still own see men work long get here between both life being under never day same another
know while last might us great old year off come since against go came right used take three cabinet folder
frame window decoder encoder huffman tree literal match offset length aligned verbatim uncompressed block`)

// genText is English-like text: words drawn with a skewed distribution,
// punctuation and line breaks.
func genText(rng *rand.Rand, n int) []byte {
	var b []byte
	col := 0
	for len(b) < n {
		i := int(float64(len(vocabulary)) * rng.Float64() * rng.Float64())
		w := vocabulary[i]
		if rng.IntN(12) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b = append(b, w...)
		col += len(w)
		switch r := rng.IntN(20); {
		case r == 0:
			b = append(b, ". "...)
		case r == 1:
			b = append(b, ", "...)
		case col > 70:
			b = append(b, '\n')
			col = 0
			continue
		default:
			b = append(b, ' ')
		}
		col++
	}
	return b[:n]
}

func genRandom(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// genExe imitates x86 code: common opcodes, E8 calls to a set of
// functions (relative operands, as a linker writes them), 32-bit
// immediates, and padding. base is the data's offset in the folder.
func genExe(rng *rand.Rand, n, base int) []byte {
	b := make([]byte, 0, n+16)
	funcs := make([]int, 64)
	for i := range funcs {
		funcs[i] = rng.IntN(4 << 20)
	}
	ops := []byte{0x8b, 0x89, 0x55, 0x5d, 0xc3, 0x83, 0x85, 0x74, 0x75, 0x0f, 0x48, 0x31, 0xff, 0x50, 0x58}
	for len(b) < n {
		switch r := rng.IntN(16); {
		case r < 4:
			target := funcs[rng.IntN(len(funcs))]
			rel := int32(target - (base + len(b) + 5))
			b = append(b, 0xe8)
			b = binary.LittleEndian.AppendUint32(b, uint32(rel))
		case r < 6:
			b = append(b, 0xb8+byte(rng.IntN(8)))
			b = binary.LittleEndian.AppendUint32(b, uint32(rng.IntN(4096)))
		case r == 6:
			b = append(b, 0xcc, 0xcc, 0xcc, 0xcc)
		case r == 7:
			b = append(b, 0xe8) // a stray E8 with any operand
			b = binary.LittleEndian.AppendUint32(b, rng.Uint32())
		default:
			b = append(b, ops[rng.IntN(len(ops))], byte(rng.IntN(256)&0xc7))
		}
	}
	return b[:n]
}

// genTable imitates structured binary data: records of slowly changing
// little-endian numbers.
func genTable(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n+16)
	v := uint32(rng.IntN(1000))
	for len(b) < n {
		v += uint32(rng.IntN(16))
		b = binary.LittleEndian.AppendUint32(b, v)
		b = binary.LittleEndian.AppendUint16(b, uint16(rng.IntN(4)))
		b = append(b, 0, byte(rng.IntN(3)))
	}
	return b[:n]
}

// genMixed concatenates segments of every kind, mostly text and code, as
// a software distribution would.
func genMixed(rng *rand.Rand, n int) []byte {
	b := make([]byte, 0, n)
	for len(b) < n {
		size := min(n-len(b), 4096+rng.IntN(256<<10))
		switch r := rng.IntN(20); {
		case r < 8:
			b = append(b, genText(rng, size)...)
		case r < 14:
			b = append(b, genExe(rng, size, len(b))...)
		case r < 17:
			b = append(b, genTable(rng, size)...)
		case r < 18:
			b = append(b, genRandom(rng, size)...)
		default:
			b = append(b, make([]byte, size)...)
		}
	}
	return b
}
