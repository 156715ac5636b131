package lzx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func roundTrip(t *testing.T, src []byte, windowBits int, e8 bool) *encoder {
	t.Helper()
	e, err := encode(src, windowBits, e8)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range e.sizes {
		if s > FrameSize || s < FrameSize && i != len(e.sizes)-1 {
			t.Fatalf("frame %d of %d bytes", i, s)
		}
	}
	out, err := decodeFrames(t, windowBits, e.frames, e.sizes)
	if err != nil {
		t.Fatalf("window 2^%d e8 %v, %d bytes: %v", windowBits, e8, len(src), err)
	}
	if !bytes.Equal(out, src) {
		i := 0
		for i < min(len(out), len(src)) && out[i] == src[i] {
			i++
		}
		t.Fatalf("window 2^%d e8 %v, %d bytes: output differs from byte %d (frame %d)", windowBits, e8, len(src), i, i/FrameSize)
	}
	return e
}

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	e8s := bytes.Repeat([]byte{0xe8, 1, 2, 3}, 5)
	inputs := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{0xe8}},
		{"ten E8 bytes", e8s[:10]},
		{"eleven E8 bytes", e8s[:11]},
		{"text", genText(rng, 150000)},
		{"random", genRandom(rng, 70001)},
		{"zeros", make([]byte, 100000)},
		{"exe", genExe(rng, 200000, 0)},
		{"table", genTable(rng, 99999)},
		{"frame-1", genText(rng, FrameSize-1)},
		{"frame", genExe(rng, FrameSize, 0)},
		{"frame+1", genText(rng, FrameSize+1)},
		{"mixed", genMixed(rng, 600000+333)},
	}
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		if (testing.Short() || raceEnabled) && wb%3 != 0 {
			continue // windows 15, 18, 21
		}
		for _, e8 := range []bool{false, true} {
			for _, in := range inputs {
				t.Run(fmt.Sprintf("w%d/e8=%v/%s", wb, e8, in.name), func(t *testing.T) {
					roundTrip(t, in.data, wb, e8)
				})
			}
		}
	}
}

// TestRoundTripLong goes round the largest window more than once, and the
// smallest many times.
func TestRoundTripLong(t *testing.T) {
	if testing.Short() {
		t.Skip("long input")
	}
	src := genMixed(rand.New(rand.NewPCG(3, 3)), 4<<20+7)
	for _, wb := range []int{15, 21} {
		roundTrip(t, src, wb, true)
	}
}

// TestEncoderCoverage checks that the encoder's output exercises the
// decoder: every block type, blocks spanning frames, repeated offsets,
// the length tree, the largest position slot, 2-byte matches.
func TestEncoderCoverage(t *testing.T) {
	src := genMixed(rand.New(rand.NewPCG(5, 5)), 3<<20)
	// Far repeats, so that the top position slots get used.
	src = append(src, src[:1<<20]...)
	e := roundTrip(t, src, 21, true)
	st := e.stats
	t.Logf("%+v", st)
	for typ := blockVerbatim; typ <= blockUncompressed; typ++ {
		if st.blocks[typ] == 0 {
			t.Errorf("no block of type %d", typ)
		}
	}
	if st.spanning == 0 || st.lengthSymbols == 0 || st.shortMatches == 0 {
		t.Errorf("spanning blocks %d, length symbols %d, 2-byte matches %d", st.spanning, st.lengthSymbols, st.shortMatches)
	}
	for i, n := range st.repeated {
		if n == 0 {
			t.Errorf("repeated offset R%d unused", i)
		}
	}
	if st.slots < positionSlots[21-MinWindowBits]-2 {
		t.Errorf("highest slot %d", st.slots)
	}
}

// TestReset decodes two folders, and a folder after a failed one, with
// one decoder.
func TestReset(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	a := genMixed(rng, 300000)
	b := genExe(rng, 200000, 0)
	ba, sa, _ := Encode(a, 16, true)
	bb, sb, _ := Encode(b, 16, false)
	d, _ := NewDecoder(16)
	if out, err := decodeWith(d, ba, sa); err != nil || !bytes.Equal(out, a) {
		t.Fatalf("first folder: %v", err)
	}
	d.Reset()
	if out, err := decodeWith(d, bb, sb); err != nil || !bytes.Equal(out, b) {
		t.Fatalf("second folder: %v", err)
	}
	// A failed frame makes the decoder refuse more until Reset.
	d.Reset()
	err := d.DecodeFrame(make([]byte, 100), []byte{0xff, 0xff})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage: %v", err)
	}
	if err2 := d.DecodeFrame(make([]byte, sa[0]), ba[0]); err2 != err {
		t.Fatalf("after an error: %v, want %v", err2, err)
	}
	d.Reset()
	if out, err := decodeWith(d, ba, sa); err != nil || !bytes.Equal(out, a) {
		t.Fatalf("after Reset: %v", err)
	}
}

func TestNewDecoderWindow(t *testing.T) {
	for _, wb := range []int{-1, 0, 14, 22, 25} {
		d, err := NewDecoder(wb)
		if d != nil || !errors.Is(err, ErrWindow) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("NewDecoder(%d) = %v, %v", wb, d, err)
		}
		if _, _, err := Encode([]byte("x"), wb, false); !errors.Is(err, ErrWindow) {
			t.Errorf("Encode window %d: %v", wb, err)
		}
	}
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		d, err := NewDecoder(wb)
		if err != nil || len(d.window) != 1<<wb {
			t.Errorf("NewDecoder(%d): %v", wb, err)
		}
	}
}

func TestSlotTables(t *testing.T) {
	// The slot counts are those whose position bases cover the window.
	for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
		n := positionSlots[wb-MinWindowBits]
		last := positionBase[n-1] + 1<<footerBits[n-1]
		if last < 1<<wb || positionBase[n-1] >= 1<<wb {
			t.Errorf("window 2^%d: %d slots cover up to %d", wb, n, last)
		}
	}
	if positionBase[49] != 1966080 || footerBits[49] != 17 || positionBase[30] != 32768 {
		t.Errorf("tables: base[30] %d, base[49] %d, bits[49] %d", positionBase[30], positionBase[49], footerBits[49])
	}
	check := func(off uint32) {
		r := [3]uint32{0, 0, 0}
		slot, footer := slotFor(off, &r)
		if slot < 3 || footer >= 1<<footerBits[slot] || positionBase[slot]+footer != off+2 || r[0] != off {
			t.Fatalf("offset %d: slot %d footer %d", off, slot, footer)
		}
	}
	for off := uint32(1); off < 1<<17; off++ {
		check(off)
	}
	for off := uint32(1 << 17); off < 1<<21-2; off += 997 {
		check(off)
	}
	check(1<<21 - 3)
}

func TestHuffmanTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	for iter := 0; iter < 200; iter++ {
		n := 8 + rng.IntN(maxMainSymbols-7)
		freq := make([]uint32, n)
		for i := range freq {
			if rng.IntN(3) > 0 {
				freq[i] = uint32(rng.ExpFloat64() * float64(1+rng.IntN(1000)))
			}
		}
		lens := huffLengths(freq, maxCodeLen)
		codes := canonicalCodes(lens)
		var tab huffTable
		if !tab.build(lens, mainTableBits) {
			t.Fatal("complete code did not build")
		}
		var w bitWriter
		var syms []int
		for range 2000 {
			s := rng.IntN(n)
			if lens[s] == 0 {
				continue
			}
			syms = append(syms, s)
			w.put(codes[s], uint(lens[s]))
		}
		w.flush()
		var br bitReader
		br.init(w.out)
		for i, s := range syms {
			if got := br.decode(&tab, mainTableBits); got != uint32(s) {
				t.Fatalf("iteration %d symbol %d: got %d, want %d", iter, i, got, s)
			}
		}
	}
	// Incomplete code: the missing half decodes to badSymbol.
	var tab huffTable
	lens := make([]uint8, 300)
	lens[5], lens[290] = 1, 14 // codes 0 and 10000000000000
	if !tab.build(lens, mainTableBits) {
		t.Fatal("incomplete code refused")
	}
	for _, c := range []struct {
		bits uint16
		want uint32
	}{{0x0000, 5}, {0x8000, 290}, {0x8003, 290}, {0x8004, badSymbol}, {0xc000, badSymbol}} {
		var br bitReader
		br.init([]byte{byte(c.bits), byte(c.bits >> 8)})
		if got := br.decode(&tab, mainTableBits); got != c.want {
			t.Errorf("incomplete code, bits %016b: %d, want %d", c.bits, got, c.want)
		}
	}
	// Over-subscribed and out-of-range lengths.
	if tab.build([]uint8{1, 1, 1}, 8) {
		t.Error("over-subscribed code built")
	}
	if tab.build([]uint8{17, 1}, 8) {
		t.Error("length 17 built")
	}
	// Empty code: everything is missing.
	if !tab.build(make([]uint8, 20), 8) {
		t.Fatal("empty code refused")
	}
	var br bitReader
	br.init(nil)
	if got := br.decode(&tab, 8); got != badSymbol {
		t.Errorf("empty code decoded %d", got)
	}
}

func TestE8Translation(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for iter := 0; iter < 2000; iter++ {
		n := rng.IntN(200)
		b := make([]byte, n)
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = 0xe8
			case 1:
				b[i] = 0xff
			case 2:
				b[i] = byte(rng.IntN(8))
			default:
				b[i] = byte(rng.Uint32())
			}
		}
		pos := int32(rng.IntN(1 << 30))
		size := int32(rng.IntN(1 << 31))
		if iter%3 == 0 {
			size = int32(rng.IntN(int(pos) + 1)) // smaller than the position
		}
		enc := append([]byte(nil), b...)
		e8Encode(enc, pos, size)
		dec := append([]byte(nil), enc...)
		e8Decode(dec, pos, size)
		if !bytes.Equal(dec, b) {
			t.Fatalf("pos %d size %d: % x -> % x -> % x", pos, size, b, enc, dec)
		}
	}
	// A known case: E8 at folder offset 5, absolute target 0.
	b := []byte{0, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0, 0xe8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	e8Decode(b, 0, 1000)
	want := []byte{0, 0, 0, 0, 0, 0xe8, 0xfb, 0xff, 0xff, 0xff, 0xe8, 0xe7, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Errorf("got % x\nwant % x", b, want)
	}
}

// TestE8Frames checks which frames get translated: not frames of 10
// bytes or less, nor frames from the 32768th on.
func TestE8Frames(t *testing.T) {
	raw := []byte{0xe8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	translated := []byte{0xe8, 0xfb, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	for _, c := range []struct {
		frame int
		size  int
		want  []byte
	}{
		{0, 16, translated},
		{e8MaxFrames - 1, 16, translated},
		{e8MaxFrames, 16, raw},
		{0, 11, translated[:11]},
		{0, 10, raw[:10]},
	} {
		s := newTestStream(15, true)
		s.uncompressed(c.size, [3]uint32{1, 1, 1}, raw[:c.size])
		d, _ := NewDecoder(15)
		// Pretend earlier frames: the E8 is at folder offset 5.
		d.frame, d.total = c.frame, 5
		dst := make([]byte, c.size)
		if err := d.DecodeFrame(dst, s.bytes()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(dst, c.want) {
			t.Errorf("frame %d size %d: % x, want % x", c.frame, c.size, dst, c.want)
		}
	}
}

// testStream writes hand-made LZX streams.
type testStream struct {
	w         bitWriter
	numMain   int
	prevMain  [maxMainSymbols + lengthSlack]uint8
	prevLen   [numLengthSymbols + lengthSlack]uint8
	mainLens  []uint8
	lenLens   []uint8
	alignLens []uint8
}

// newTestStream starts a folder's stream with its E8 header (translation
// size 1000 if e8).
func newTestStream(windowBits int, e8 bool) *testStream {
	s := &testStream{numMain: numChars + 8*positionSlots[windowBits-MinWindowBits]}
	if e8 {
		s.w.put(1, 1)
		s.w.put(0, 16)
		s.w.put(1000, 16)
	} else {
		s.w.put(0, 1)
	}
	return s
}

// lens makes a length array of n symbols from symbol: length pairs.
func lens(n int, pairs ...int) []uint8 {
	l := make([]uint8, n)
	for i := 0; i < len(pairs); i += 2 {
		l[pairs[i]] = uint8(pairs[i+1])
	}
	return l
}

func matchSym(slot, length int) int {
	return numChars + slot*8 + min(length-minMatch, numPrimaryLengths)
}

func (s *testStream) compressed(typ, size int, mainLens, lenLens, alignLens []uint8) {
	s.w.put(uint32(typ), 3)
	s.w.put(uint32(size), 24)
	if typ == blockAligned {
		for _, l := range alignLens {
			s.w.put(uint32(l), 3)
		}
	}
	writeLengths(&s.w, mainLens, s.prevMain[:], 0, numChars)
	writeLengths(&s.w, mainLens, s.prevMain[:], numChars, s.numMain)
	writeLengths(&s.w, lenLens, s.prevLen[:], 0, numLengthSymbols)
	s.mainLens, s.lenLens, s.alignLens = mainLens, lenLens, alignLens
}

func (s *testStream) verbatim(size int, mainLens, lenLens []uint8) {
	s.compressed(blockVerbatim, size, mainLens, lenLens, nil)
}

func (s *testStream) code(lens []uint8, sym int) {
	s.w.put(canonicalCodes(lens)[sym], uint(lens[sym]))
}

func (s *testStream) lit(b byte) { s.code(s.mainLens, int(b)) }

// match writes a match with a verbatim footer.
func (s *testStream) match(slot, length int, footer uint32) {
	s.code(s.mainLens, matchSym(slot, length))
	if length-minMatch >= numPrimaryLengths {
		s.code(s.lenLens, length-minMatch-numPrimaryLengths)
	}
	s.w.put(footer, uint(footerBits[slot]))
}

func (s *testStream) uncompressed(size int, r [3]uint32, data []byte) {
	s.w.put(blockUncompressed, 3)
	s.w.put(uint32(size), 24)
	if s.w.n == 0 {
		s.w.put(0, 16)
	}
	s.w.flush()
	for _, v := range r {
		s.w.out = binary.LittleEndian.AppendUint32(s.w.out, v)
	}
	s.w.out = append(s.w.out, data...)
	if len(data) == size && size&1 == 1 {
		s.w.out = append(s.w.out, 0)
	}
}

// bytes ends the frame: flushes and returns what was written, and starts
// the next frame's output.
func (s *testStream) bytes() []byte {
	s.w.flush()
	b := s.w.out
	s.w.out = nil
	return b
}

func TestCorruptStreams(t *testing.T) {
	twoLits := lens(numLengthSymbols, 0, 1, 1, 1)
	cases := []struct {
		name   string
		window int
		frames [][]byte
		sizes  []int
		want   string
	}{}
	add := func(name string, window int, want string, sizes []int, build func(s *testStream) [][]byte) {
		s := newTestStream(window, false)
		cases = append(cases, struct {
			name   string
			window int
			frames [][]byte
			sizes  []int
			want   string
		}{name, window, build(s), sizes, want})
	}
	one := func(s *testStream) [][]byte { return [][]byte{s.bytes()} }

	for _, typ := range []uint32{0, 4, 7} {
		add(fmt.Sprintf("block type %d", typ), 15, "invalid block type", []int{100}, func(s *testStream) [][]byte {
			s.w.put(typ, 3)
			s.w.put(100, 24)
			return one(s)
		})
	}
	add("premature match", 15, "reaches before the start of the folder", []int{10}, func(s *testStream) [][]byte {
		s.verbatim(10, lens(s.numMain, 'a', 1, matchSym(3, 2), 1), twoLits)
		s.match(3, 2, 0) // offset 1 at the first byte
		return one(s)
	})
	add("match before folder start", 15, "match offset 3 at frame offset 2", []int{10}, func(s *testStream) [][]byte {
		s.verbatim(10, lens(s.numMain, 'a', 1, matchSym(4, 2), 1), twoLits)
		s.lit('a')
		s.lit('a')
		s.match(4, 2, 1) // offset 3
		return one(s)
	})
	add("offset beyond window", 15, "match offset 1048576 beyond window", []int{10}, func(s *testStream) [][]byte {
		s.uncompressed(2, [3]uint32{1 << 20, 1, 1}, []byte("ab"))
		s.verbatim(8, lens(s.numMain, 'a', 1, matchSym(0, 2), 1), twoLits)
		s.match(0, 2, 0)
		return one(s)
	})
	add("offset 0", 15, "match offset 0", []int{10}, func(s *testStream) [][]byte {
		s.uncompressed(2, [3]uint32{5, 0, 1}, []byte("ab"))
		s.verbatim(8, lens(s.numMain, 'a', 1, matchSym(1, 2), 1), twoLits)
		s.match(1, 2, 0)
		return one(s)
	})
	add("match past block end", 15, "runs past the end of its block or frame", []int{10}, func(s *testStream) [][]byte {
		s.verbatim(3, lens(s.numMain, 'a', 1, matchSym(3, 3), 1), twoLits)
		s.lit('a')
		s.match(3, 3, 0)
		return one(s)
	})
	add("match past frame end", 15, "match of 257 bytes at frame offset 32640", []int{FrameSize, FrameSize}, func(s *testStream) [][]byte {
		s.verbatim(40000, lens(s.numMain, 'a', 1, matchSym(3, maxMatch), 1), lens(numLengthSymbols, 0, 1, 248, 1))
		s.lit('a')
		for range 128 {
			s.match(3, maxMatch, 0)
		}
		return [][]byte{s.bytes(), {}}
	})
	add("empty main tree", 15, "main tree code missing", []int{10}, func(s *testStream) [][]byte {
		s.verbatim(10, lens(s.numMain), twoLits)
		return one(s)
	})
	add("incomplete main tree", 15, "main tree code missing", []int{10}, func(s *testStream) [][]byte {
		s.verbatim(10, lens(s.numMain, 'A', 1), twoLits)
		s.w.put(0, 3) // AAA, then a code the tree does not have
		s.w.put(1, 1)
		return one(s)
	})
	add("over-subscribed main tree", 15, "main tree over-subscribed", []int{10}, func(s *testStream) [][]byte {
		l := make([]uint8, s.numMain)
		for i := range l {
			l[i] = 1
		}
		s.verbatim(10, l, twoLits)
		return one(s)
	})
	add("over-subscribed pretree", 15, "main tree: pretree over-subscribed", []int{10}, func(s *testStream) [][]byte {
		s.w.put(blockVerbatim, 3)
		s.w.put(10, 24)
		for range numPretreeSymbols {
			s.w.put(1, 4)
		}
		return one(s)
	})
	add("pretree run of a run", 15, "pretree symbol 18 after a same-length run", []int{10}, func(s *testStream) [][]byte {
		s.w.put(blockVerbatim, 3)
		s.w.put(10, 24)
		pl := lens(numPretreeSymbols, 18, 1, 19, 1)
		for _, l := range pl {
			s.w.put(uint32(l), 4)
		}
		s.code(pl, 19)
		s.w.put(0, 1)
		s.code(pl, 18)
		return one(s)
	})
	add("empty length tree", 15, "length tree code missing", []int{100}, func(s *testStream) [][]byte {
		s.verbatim(100, lens(s.numMain, 'a', 1, matchSym(3, 20), 1), lens(numLengthSymbols))
		s.lit('a')
		s.code(s.mainLens, matchSym(3, 20))
		return one(s)
	})
	add("aligned code missing", 15, "aligned offset tree code missing", []int{100}, func(s *testStream) [][]byte {
		s.compressed(blockAligned, 100, lens(s.numMain, 'a', 1, matchSym(8, 2), 1), twoLits, lens(8, 0, 2, 1, 2))
		for range 20 {
			s.lit('a')
		}
		s.code(s.mainLens, matchSym(8, 2)) // slot 8: all 3 footer bits aligned
		s.w.put(3, 2)                      // no such aligned code
		return one(s)
	})
	add("uncompressed data cut", 15, "input exhausted in uncompressed block", []int{1000}, func(s *testStream) [][]byte {
		s.uncompressed(1000, [3]uint32{1, 1, 1}, make([]byte, 500))
		return one(s)
	})
	add("uncompressed header cut", 15, "input exhausted in uncompressed block header", []int{1000}, func(s *testStream) [][]byte {
		s.uncompressed(1000, [3]uint32{1, 1, 1}, nil)
		b := s.bytes()
		return [][]byte{b[:len(b)-3]}
	})
	add("frame too large", 15, "frame size 32769 over 32768", []int{FrameSize + 1}, func(s *testStream) [][]byte {
		return one(s)
	})
	add("frame crossing window end", 15, "crosses the window end", slicesRepeat(1000, 40), func(s *testStream) [][]byte {
		s.uncompressed(40000, [3]uint32{1, 1, 1}, make([]byte, 1000))
		frames := [][]byte{s.bytes()}
		for range 39 {
			frames = append(frames, make([]byte, 1000))
		}
		return frames
	})
	add("empty input", 15, "invalid block type 0", []int{100}, func(s *testStream) [][]byte {
		return [][]byte{nil}
	})

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := NewDecoder(c.window)
			if err != nil {
				t.Fatal(err)
			}
			_, err = decodeWith(d, c.frames, c.sizes)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || !strings.HasPrefix(msg, "lzx: frame ") || !strings.HasSuffix(msg, ": corrupt stream") {
				t.Errorf("error %q, want one about %q", msg, c.want)
			}
		})
	}
}

func slicesRepeat(v, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestTruncatedFrames cuts frames short: a frame missing a good part of its
// input is an error, not made-up output.
func TestTruncatedFrames(t *testing.T) {
	src := genText(rand.New(rand.NewPCG(8, 8)), 3*FrameSize)
	blocks, sizes, _ := Encode(src, 17, false)
	for f := range blocks {
		for _, keep := range []int{0, len(blocks[f]) / 4, len(blocks[f]) / 2, len(blocks[f]) * 3 / 4} {
			cut := append([][]byte(nil), blocks...)
			cut[f] = cut[f][:keep]
			_, err := decodeFrames(t, 17, cut[:f+1], sizes[:f+1])
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("frame %d cut to %d of %d bytes: %v", f, keep, len(blocks[f]), err)
			}
		}
	}
}

// TestUncompressedPadding has an odd-sized uncompressed block end a frame,
// with its padding byte at the end of that frame's input or at the start
// of the next one's: both are the same stream.
func TestUncompressedPadding(t *testing.T) {
	data := genText(rand.New(rand.NewPCG(9, 9)), FrameSize+5)
	build := func(padFirst bool) [][]byte {
		s := newTestStream(16, false)
		s.uncompressed(FrameSize-1, [3]uint32{1, 1, 1}, data[:FrameSize-1])
		s.uncompressed(1, [3]uint32{1, 1, 1}, data[FrameSize-1:FrameSize])
		f0 := s.bytes()
		if !padFirst {
			f0 = f0[:len(f0)-1]
			s.w.out = append(s.w.out, 0)
		}
		s.uncompressed(5, [3]uint32{1, 1, 1}, data[FrameSize:])
		return [][]byte{f0, s.bytes()}
	}
	for _, padFirst := range []bool{true, false} {
		out, err := decodeFrames(t, 16, build(padFirst), []int{FrameSize, 5})
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("padding byte in first frame %v: %v", padFirst, err)
		}
	}
}

// TestEmptyFrame: an empty destination is a no-op.
func TestEmptyFrame(t *testing.T) {
	d, _ := NewDecoder(15)
	if err := d.DecodeFrame(nil, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	src := []byte("hello, world")
	blocks, sizes, _ := Encode(src, 15, true)
	if out, err := decodeWith(d, blocks, sizes); err != nil || !bytes.Equal(out, src) {
		t.Fatalf("after an empty frame: %q, %v", out, err)
	}
}

// TestAllocs: once its tables have grown, a decoder decodes without
// allocating.
func TestAllocs(t *testing.T) {
	src := genMixed(rand.New(rand.NewPCG(13, 13)), 400000)
	blocks, sizes, _ := Encode(src, 17, true)
	d, _ := NewDecoder(17)
	dst := make([]byte, FrameSize)
	run := func() {
		d.Reset()
		for i, b := range blocks {
			if err := d.DecodeFrame(dst[:sizes[i]], b); err != nil {
				t.Fatal(err)
			}
		}
	}
	run()
	if n := testing.AllocsPerRun(3, run); n != 0 {
		t.Errorf("%v allocations per folder", n)
	}
}

// TestTableBound checks the memory the package documentation promises
// for the decoding tables: at most one second-level table per symbol.
func TestTableBound(t *testing.T) {
	bound := 0
	for _, c := range []struct {
		n       int
		bits    uint
		maxLen  int
		longLen uint8
	}{
		{maxMainSymbols, mainTableBits, maxCodeLen, mainTableBits + 1},
		{numLengthSymbols, lengthTableBits, maxCodeLen, lengthTableBits + 1},
		{numPretreeSymbols, pretreeTableBits, 15, pretreeTableBits + 1},
		{numAlignedSymbols, alignedTableBits, 7, alignedTableBits},
	} {
		size := 1<<c.bits + c.n<<max(0, c.maxLen-int(c.bits))
		bound += 4 * size
		// A bad case: many codes just over the primary width, and one
		// of the longest length.
		lens := make([]uint8, c.n)
		for i := range lens {
			lens[i] = c.longLen
		}
		lens[0] = uint8(c.maxLen)
		var tab huffTable
		if !tab.build(lens, c.bits) {
			t.Fatalf("%d symbols did not build", c.n)
		}
		if len(tab.entries) > size {
			t.Errorf("%d-symbol table of %d entries, bound %d", c.n, len(tab.entries), size)
		}
	}
	if bound > 200<<10 {
		t.Errorf("tables up to %d bytes", bound)
	}
	t.Logf("tables up to %d bytes", bound)
}
