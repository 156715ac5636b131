package quantum

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNewDecoderWindowBits(t *testing.T) {
	for _, bits := range []int{-1, 0, 9, 22, 31} {
		d, err := NewDecoder(bits)
		if d != nil || !errors.Is(err, ErrCorrupt) {
			t.Errorf("NewDecoder(%d) = %v, %v; want an error wrapping ErrCorrupt", bits, d, err)
		}
	}
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		d, err := NewDecoder(bits)
		if err != nil || d.WindowBits() != bits {
			t.Errorf("NewDecoder(%d) = %v, %v", bits, d, err)
		}
	}
}

func roundTrip(t *testing.T, data []byte, windowBits int) *testEncoder {
	t.Helper()
	frames, enc := compress(data, windowBits, 16)
	got, err := decompress(frames, windowBits)
	if err != nil {
		t.Fatalf("window bits %d: %v", windowBits, err)
	}
	if !bytes.Equal(got, data) {
		i := 0
		for i < len(got) && i < len(data) && got[i] == data[i] {
			i++
		}
		t.Fatalf("window bits %d: output differs from input at byte %d of %d (got %d bytes)", windowBits, i, len(data), len(got))
	}
	return enc
}

func TestRoundTripLiterals(t *testing.T) {
	// Every byte value, then incompressible data: all four literal models,
	// and enough symbols to rescale and rebuild them many times.
	var data []byte
	for i := range 256 {
		data = append(data, byte(i))
	}
	data = append(data, randomBytes(3*MaxFrameSize+100, 1)...)
	enc := roundTrip(t, data, 15)
	for sel := range 4 {
		if enc.stats[sel] == 0 {
			t.Errorf("literal selector %d never used", sel)
		}
	}
}

func TestRoundTripSelectors(t *testing.T) {
	data := textLike(200_000, 50_000, 2)
	enc := roundTrip(t, data, 16)
	t.Logf("symbols per selector: %v", enc.stats)
	for sel, n := range enc.stats {
		if n == 0 {
			t.Errorf("selector %d never used", sel)
		}
	}
}

func TestRoundTripHandMade(t *testing.T) {
	// Each match kind with its extremes: lengths 3, 4, 5 and 259, distance 1
	// (a run) and the farthest each kind can reach.
	const bits = 13
	e := newTestEncoder(bits)
	var want []byte
	var tokens []token
	lit := func(s string) {
		for i := range len(s) {
			tokens = append(tokens, token{lit: s[i]})
			want = append(want, s[i])
		}
	}
	match := func(dist, length int) {
		tokens = append(tokens, token{dist: dist, length: length})
		for range length {
			want = append(want, want[len(want)-dist])
		}
	}
	lit("a")
	match(1, 3)
	match(1, 4)
	match(1, 259)
	lit("xyz\x00\xff\x80\x40")
	for len(want) < 1<<bits {
		lit(fmt.Sprint(len(want), ","))
	}
	match(maxDist(e.pos3.n), 3)
	match(maxDist(e.pos4.n), 4)
	match(1<<bits, 5)
	match(1<<bits, maxVarMatch)
	match(2, 258)
	data := e.frame(tokens)

	d, _ := NewDecoder(bits)
	got := make([]byte, len(want))
	if err := d.DecodeFrame(got, data); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("output differs")
	}
}

func TestRoundTripWindowSizes(t *testing.T) {
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		t.Run(fmt.Sprint(bits), func(t *testing.T) {
			// Long enough to span several frames and, for the small
			// windows, to wrap the window many times; copies reach as far
			// back as the window allows.
			n := max(5*MaxFrameSize+777, 1<<bits+3*MaxFrameSize)
			if testing.Short() {
				n = min(n, 3*MaxFrameSize+777)
			}
			data := textLike(n, 1<<bits, uint64(bits))
			roundTrip(t, data, bits)
		})
	}
}

func TestRoundTripFarMatches(t *testing.T) {
	// A block of random data repeated exactly one window later: the copy
	// is coded as matches of the farthest distance, into earlier frames,
	// around the ring.
	for _, bits := range []int{10, 15, 16, 21} {
		w := 1 << bits
		block := randomBytes(min(w, 40_000), uint64(bits))
		data := append(append([]byte{}, block...), make([]byte, w-len(block))...)
		data = append(data, block...)
		enc := roundTrip(t, data, bits)
		if enc.stats[6] == 0 {
			t.Errorf("window bits %d: no long matches", bits)
		}
	}
}

func TestFrameSizes(t *testing.T) {
	// Frames of odd sizes: every size is a frame of its own.
	data := textLike(100_000, 10_000, 5)
	e := newTestEncoder(16)
	d, _ := NewDecoder(16)
	for p, size := 0, 1; p < len(data); size = size*3 + 1 {
		size = min(size, MaxFrameSize, len(data)-p)
		var tokens []token
		for _, c := range data[p : p+size] {
			tokens = append(tokens, token{lit: c})
		}
		got := make([]byte, size)
		if err := d.DecodeFrame(got, e.frame(tokens)); err != nil {
			t.Fatalf("frame of %d at %d: %v", size, p, err)
		}
		if !bytes.Equal(got, data[p:p+size]) {
			t.Fatalf("frame of %d at %d differs", size, p)
		}
		p += size
	}
}

func TestTrailingBytes(t *testing.T) {
	// Bytes after a frame's code are ignored: encoders may pad.
	data := textLike(2*MaxFrameSize, 10_000, 6)
	frames, _ := compress(data, 16, 8)
	for _, tail := range [][]byte{{0}, {0, 0, 0, 0}, {0xFF}, {0x12, 0x34, 0x56}} {
		var padded []encodedFrame
		for _, f := range frames {
			padded = append(padded, encodedFrame{append(append([]byte{}, f.data...), tail...), f.size})
		}
		got, err := decompress(padded, 16)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("tail % x: err %v, equal %v", tail, err, bytes.Equal(got, data))
		}
	}
}

func TestReset(t *testing.T) {
	data := textLike(3*MaxFrameSize, 30_000, 7)
	frames, _ := compress(data, 17, 8)
	d, _ := NewDecoder(17)
	for round := range 3 {
		for i, f := range frames {
			dst := make([]byte, f.size)
			if err := d.DecodeFrame(dst, f.data); err != nil {
				t.Fatalf("round %d frame %d: %v", round, i, err)
			}
			if !bytes.Equal(dst, data[i*MaxFrameSize:][:f.size]) {
				t.Fatalf("round %d frame %d differs", round, i)
			}
		}
		d.Reset()
	}
}

// corruptFrame encodes tokens as a frame and decodes it into size bytes.
func corruptFrame(t *testing.T, bits int, size int, tokens []token) error {
	t.Helper()
	data := newTestEncoder(bits).frame(tokens)
	d, _ := NewDecoder(bits)
	dst := make([]byte, size)
	return d.DecodeFrame(dst, data)
}

func TestCorruptMatches(t *testing.T) {
	lits := func(s string) (tk []token) {
		for i := range len(s) {
			tk = append(tk, token{lit: s[i]})
		}
		return tk
	}
	cases := []struct {
		name   string
		size   int
		tokens []token
	}{
		{"match at start", 3, []token{{dist: 1, length: 3}}},
		{"match before start", 10, append(lits("abc"), token{dist: 4, length: 4})},
		{"far match before start", 100, append(lits("abc"), token{dist: 1000, length: 20})},
		// Past the declared end is fine (TestLastMatchOvershootsDeclaredEnd),
		// past the 32 KiB frame is not.
		{"match past frame end", MaxFrameSize, append(lits(strings.Repeat("abcdefgh", MaxFrameSize/8-1)+"abcdef"), token{dist: 3, length: 3})},
		{"long match past frame end", MaxFrameSize, append(lits(strings.Repeat("abcdefgh", MaxFrameSize/8-1)), token{dist: 3, length: 259})},
	}
	for _, c := range cases {
		err := corruptFrame(t, 12, c.size, c.tokens)
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want an error wrapping ErrCorrupt", c.name, err)
		} else {
			t.Logf("%s: %v", c.name, err)
		}
	}
}

func TestMatchIntoEarlierFolder(t *testing.T) {
	// After Reset, the previous folder's bytes are out of reach.
	d, _ := NewDecoder(12)
	e := newTestEncoder(12)
	dst := make([]byte, 4)
	if err := d.DecodeFrame(dst, e.frame([]token{{lit: 'a'}, {lit: 'b'}, {lit: 'c'}, {lit: 'd'}})); err != nil {
		t.Fatal(err)
	}
	// The same decoder, without Reset, may reach back into the first frame.
	if err := d.DecodeFrame(dst[:3], e.frame([]token{{dist: 4, length: 3}})); err != nil || string(dst[:3]) != "abc" {
		t.Fatalf("match into the previous frame: %q, %v", dst[:3], err)
	}
	d.Reset()
	e = newTestEncoder(12)
	err := d.DecodeFrame(dst[:3], e.frame([]token{{dist: 4, length: 3}}))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("match into the previous folder: %v", err)
	}
}

func TestStickyError(t *testing.T) {
	d, _ := NewDecoder(12)
	bad := newTestEncoder(12).frame([]token{{dist: 1, length: 3}})
	good := newTestEncoder(12).frame([]token{{lit: 'x'}})
	dst := make([]byte, 3)
	if err := d.DecodeFrame(dst, bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("bad frame: %v", err)
	}
	if err := d.DecodeFrame(dst[:1], good); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("frame after an error: %v, want the error again", err)
	}
	d.Reset()
	if err := d.DecodeFrame(dst[:1], good); err != nil || dst[0] != 'x' {
		t.Fatalf("frame after Reset: %q, %v", dst[:1], err)
	}
}

func TestZeroDecoder(t *testing.T) {
	var d Decoder
	if err := d.DecodeFrame(make([]byte, 10), []byte{1, 2, 3}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("zero Decoder: %v", err)
	}
}

func TestFrameTooLarge(t *testing.T) {
	d, _ := NewDecoder(15)
	err := d.DecodeFrame(make([]byte, MaxFrameSize+1), make([]byte, 100))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v", err)
	}
	if err := d.DecodeFrame(nil, nil); err == nil {
		t.Fatal("error not sticky")
	}
	d.Reset()
	if err := d.DecodeFrame(nil, nil); err != nil {
		t.Fatalf("empty frame: %v", err)
	}
}

func TestTruncated(t *testing.T) {
	data := textLike(MaxFrameSize, 10_000, 8)
	frames, _ := compress(data, 15, 8)
	f := frames[0]
	// The encoder writes the code out in full; a frame cut short by more than
	// the padding budget must fail, not loop or invent data.
	for _, cut := range []int{0, 1, 3, 10, len(f.data) / 2, len(f.data) - 4} {
		d, _ := NewDecoder(15)
		dst := make([]byte, f.size)
		err := d.DecodeFrame(dst, f.data[:cut])
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("cut to %d of %d: %v", cut, len(f.data), err)
		}
	}
}

func TestMinimalFlush(t *testing.T) {
	// An encoder that ends its code with just two bits leaves the decoder up
	// to 14 bits short: those are read as zeros, within the padding budget.
	data := textLike(4*MaxFrameSize+99, 50_000, 8)
	e := newTestEncoder(16)
	e.ac.minimal = true
	frames, _ := compressWith(e, data, 8)
	d, _ := NewDecoder(16)
	most := 0
	for i, f := range frames {
		dst := make([]byte, f.size)
		if err := d.DecodeFrame(dst, f.data); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !bytes.Equal(dst, data[i*MaxFrameSize:][:f.size]) {
			t.Fatalf("frame %d differs", i)
		}
		most = max(most, d.ac.in.overrun())
	}
	if most <= 0 || most > padBudget {
		t.Errorf("read at most %d bits past the data, want 1 to %d", most, padBudget)
	}
}

func TestGarbage(t *testing.T) {
	// Whatever the input, the decoder returns nil or ErrCorrupt, promptly.
	inputs := [][]byte{nil, {0}, {0xFF}, make([]byte, 38912), bytes.Repeat([]byte{0xFF}, 38912),
		bytes.Repeat([]byte{0x55, 0xAA}, 1000), randomBytes(40000, 9), textLike(40000, 1000, 10)}
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		for i, in := range inputs {
			d, _ := NewDecoder(bits)
			for _, size := range []int{1, 100, MaxFrameSize} {
				dst := make([]byte, size)
				err := d.DecodeFrame(dst, in)
				if err != nil && !errors.Is(err, ErrCorrupt) {
					t.Errorf("bits %d input %d size %d: %v", bits, i, size, err)
				}
			}
		}
	}
}
