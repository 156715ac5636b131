package quantum

// A test-only Quantum encoder: the encoding side of the arithmetic coder with
// the decoder's own models, and a simple greedy LZ77 parser. It exists so the
// decoder can be tested on more than the handful of real Quantum cabinets.

import "fmt"

// bitSink collects bits, most significant first.
type bitSink struct {
	b []byte
	n int // bits written
}

func (s *bitSink) put(v uint32, k uint) {
	for i := int(k) - 1; i >= 0; i-- {
		if s.n%8 == 0 {
			s.b = append(s.b, 0)
		}
		s.b[s.n/8] |= byte(v>>uint(i)&1) << (7 - s.n%8)
		s.n++
	}
}

func (s *bitSink) bit(i int) uint32 { return uint32(s.b[i/8]>>(7-i%8)) & 1 }

// rawGroup is a run of raw bits and the number of coder shifts done before
// they were written.
type rawGroup struct {
	at int
	v  uint32
	k  uint8
}

// arithEncoder mirrors arithDecoder. The decoder's code register runs 16 bits
// ahead of the bits the encoder has settled: it reads 16 bits to start and
// one per shift, and raw bits in between. So raw bits written after s shifts
// belong after code bit 16+s, and finish interleaves them accordingly.
type arithEncoder struct {
	lo, hi  uint32
	pending int // shifts of the straddling case whose bit is not yet known
	shifts  int
	code    bitSink
	raws    []rawGroup
	minimal bool // end frames with the fewest bits, not the full register
}

func (e *arithEncoder) start() {
	*e = arithEncoder{hi: 0xFFFF, minimal: e.minimal}
}

func (e *arithEncoder) settle(b uint32) {
	e.code.put(b, 1)
	for ; e.pending > 0; e.pending-- {
		e.code.put(b^1, 1)
	}
}

// encode writes symbol sym of model m and updates the model.
func (e *arithEncoder) encode(m *model, sym int) {
	i := 0
	for i < m.n && int(m.sym[i]) != sym {
		i++
	}
	if i == m.n {
		panic(fmt.Sprintf("symbol %d not in a model of %d", sym, m.n))
	}
	span := e.hi - e.lo + 1
	total := m.total
	cumLo, cumHi := m.bounds(i)
	e.hi = e.lo + cumHi*span/total - 1
	e.lo += cumLo * span / total
	m.update(i)
	for {
		switch {
		case (e.lo^e.hi)&0x8000 == 0:
			e.settle(e.lo >> 15)
		case e.lo&0x4000 != 0 && e.hi&0x4000 == 0:
			e.pending++
			e.lo &= 0x3FFF
			e.hi |= 0x4000
		default:
			return
		}
		e.lo = e.lo << 1 & 0xFFFF
		e.hi = (e.hi<<1 | 1) & 0xFFFF
		e.shifts++
	}
}

func (e *arithEncoder) raw(v uint32, k uint8) {
	if k > 0 {
		e.raws = append(e.raws, rawGroup{e.shifts, v, k})
	}
}

// finish ends the frame: it writes out all 16 bits of lo, so that the decoder
// never reads past the data, then two zero bits as Microsoft's encoder does,
// then zeros up to a byte boundary.
//
// With minimal set it writes instead the two bits that identify a value
// inside the final interval (0x4000 or 0x8000, followed by zeros), and
// nothing after them, as a textbook arithmetic coder does: the decoder then
// reads up to 14 bits past the data.
func (e *arithEncoder) finish() []byte {
	if e.minimal {
		e.pending++
		if e.lo < 0x4000 {
			e.settle(0)
		} else {
			e.settle(1)
		}
	} else {
		e.settle(e.lo >> 15)
		e.code.put(e.lo&0x7FFF, 15)
	}
	var out bitSink
	next := 0
	copyCode := func(end int) {
		for ; next < end; next++ {
			// Raw bits may belong past the end of a minimal code: the
			// decoder reads zeros there, so write zeros.
			b := uint32(0)
			if next < e.code.n {
				b = e.code.bit(next)
			}
			out.put(b, 1)
		}
	}
	for _, r := range e.raws {
		copyCode(16 + r.at)
		out.put(r.v, uint(r.k))
	}
	copyCode(e.code.n)
	if !e.minimal {
		out.put(0, 2)
	}
	return out.b
}

// token is a literal (length 0) or a match.
type token struct {
	lit    byte
	dist   int
	length int
}

// testEncoder encodes frames of tokens with the decoder's models.
type testEncoder struct {
	windowBits int
	selector   model
	literal    [4]model
	pos3       model
	pos4       model
	posVar     model
	length     model
	ac         arithEncoder
	stats      [numSelectors]int // symbols written per selector
}

func newTestEncoder(windowBits int) *testEncoder {
	e := &testEncoder{windowBits: windowBits}
	e.selector.init(numSelectors)
	for i := range e.literal {
		e.literal[i].init(numLiteralSyms)
	}
	n := 2 * windowBits
	e.pos3.init(min(n, maxPosSlots3))
	e.pos4.init(min(n, maxPosSlots4))
	e.posVar.init(n)
	e.length.init(numLengthSlots)
	return e
}

// findSlot returns the slot of table t that holds v.
func findSlot(t []slot, v uint32) int {
	for i := len(t) - 1; i >= 0; i-- {
		if t[i].base <= v {
			return i
		}
	}
	panic("no slot")
}

// maxDist returns the farthest distance that a position model of n slots
// can code.
func maxDist(n int) int {
	s := posSlots[n-1]
	return int(s.base) + 1<<s.extra
}

// frame encodes one frame. It does not check the tokens against the frame
// or the window, so that tests can write bad streams too.
func (e *testEncoder) frame(tokens []token) []byte {
	e.ac.start()
	for _, t := range tokens {
		if t.length == 0 {
			sel := int(t.lit >> 6)
			e.stats[sel]++
			e.ac.encode(&e.selector, sel)
			e.ac.encode(&e.literal[sel], int(t.lit&63))
			continue
		}
		var slots *model
		switch {
		case t.length == 3:
			e.stats[4]++
			e.ac.encode(&e.selector, 4)
			slots = &e.pos3
		case t.length == 4:
			e.stats[5]++
			e.ac.encode(&e.selector, 5)
			slots = &e.pos4
		default:
			e.stats[6]++
			e.ac.encode(&e.selector, 6)
			v := uint32(t.length - minVarMatch)
			ls := findSlot(lengthSlots[:], v)
			e.ac.encode(&e.length, ls)
			e.ac.raw(v-lengthSlots[ls].base, lengthSlots[ls].extra)
			slots = &e.posVar
		}
		v := uint32(t.dist - 1)
		ps := findSlot(posSlots[:slots.n], v)
		e.ac.encode(slots, ps)
		e.ac.raw(v-posSlots[ps].base, posSlots[ps].extra)
	}
	return e.ac.finish()
}

// encodedFrame is one frame of a compressed folder.
type encodedFrame struct {
	data []byte // compressed
	size int    // uncompressed
}

// compress encodes data as one Quantum folder of 32 KiB frames, with a
// greedy parse over hash chains of at most chain links.
func compress(data []byte, windowBits, chain int) ([]encodedFrame, *testEncoder) {
	return compressWith(newTestEncoder(windowBits), data, chain)
}

// compressWith is compress with a given, fresh encoder.
func compressWith(e *testEncoder, data []byte, chain int) ([]encodedFrame, *testEncoder) {
	window := 1 << e.windowBits
	max3, max4 := maxDist(e.pos3.n), maxDist(e.pos4.n)
	const hashBits = 16
	head := make([]int32, 1<<hashBits)
	for i := range head {
		head[i] = -1
	}
	prev := make([]int32, len(data))
	hash := func(p int) int {
		return int((uint32(data[p])<<16 | uint32(data[p+1])<<8 | uint32(data[p+2])) * 2654435761 >> (32 - hashBits))
	}
	insert := func(p int) {
		if p+3 <= len(data) {
			h := hash(p)
			prev[p] = head[h]
			head[h] = int32(p)
		}
	}
	var frames []encodedFrame
	for start := 0; start < len(data); start += MaxFrameSize {
		end := min(start+MaxFrameSize, len(data))
		var tokens []token
		for p := start; p < end; {
			best, bestDist := 0, 0
			if p+3 <= end {
				limit := min(end-p, maxVarMatch)
				for q, links := int(head[hash(p)]), 0; q >= 0 && links < chain; q, links = int(prev[q]), links+1 {
					dist := p - q
					if dist > window {
						break
					}
					n := 0
					for n < limit && data[q+n] == data[p+n] {
						n++
					}
					// Lengths 3 and 4 have their own, shorter reach.
					if n == 4 && dist > max4 {
						n = 3
					}
					if n == 3 && dist > max3 {
						n = 0
					}
					if n > best {
						best, bestDist = n, dist
						if n == limit {
							break
						}
					}
				}
			}
			if best >= 3 {
				tokens = append(tokens, token{dist: bestDist, length: best})
				for i := 0; i < best; i++ {
					insert(p + i)
				}
				p += best
			} else {
				tokens = append(tokens, token{lit: data[p]})
				insert(p)
				p++
			}
		}
		frames = append(frames, encodedFrame{e.frame(tokens), end - start})
	}
	return frames, e
}

// decompress decodes frames with a fresh decoder.
func decompress(frames []encodedFrame, windowBits int) ([]byte, error) {
	d, err := NewDecoder(windowBits)
	if err != nil {
		return nil, err
	}
	var out []byte
	for i, f := range frames {
		dst := make([]byte, f.size)
		if err := d.DecodeFrame(dst, f.data); err != nil {
			return out, fmt.Errorf("frame %d: %w", i, err)
		}
		out = append(out, dst...)
	}
	return out, nil
}
