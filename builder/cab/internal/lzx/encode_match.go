package lzx

import (
	"encoding/binary"
	"math/bits"
)

// A greedy LZ77 match finder: a hash table of 4-byte prefixes keeps the
// last few positions of each (one cache line, so that the candidates are
// fetched together rather than down a chain), and the three repeated
// offsets are tried at every position.

const (
	hashBits   = 17
	bucketSize = 4
	minHashLen = 4  // matches found by hash; repeated-offset ones may be 2 long
	goodLen    = 32 // a match this long ends the search
)

// token is a literal (length 0) or a match.
type token struct {
	length uint16
	lit    byte
	off    uint32
}

type matcher struct {
	data    []byte
	buckets [][bucketSize]int32 // newest positions first, -1 for none
	maxOff  int
}

func newMatcher(data []byte, wsize int) *matcher {
	m := &matcher{
		data:    data,
		buckets: make([][bucketSize]int32, 1<<hashBits),
		maxOff:  wsize - 3, // the largest offset the format defines
	}
	for i := range m.buckets {
		for j := range m.buckets[i] {
			m.buckets[i][j] = -1
		}
	}
	return m
}

func hash4(b []byte) uint32 {
	return (binary.LittleEndian.Uint32(b) * 2654435761) >> (32 - hashBits)
}

func (m *matcher) insert(pos int) {
	if pos+minHashLen > len(m.data) {
		return
	}
	b := &m.buckets[hash4(m.data[pos:])]
	copy(b[1:], b[:bucketSize-1])
	b[0] = int32(pos)
}

// matchLen is the length of the common prefix of data[a:] and data[b:],
// up to max; a+max must not pass the end of data, and b < a.
func matchLen(data []byte, a, b, max int) int {
	n := 0
	for n+8 <= max {
		x := binary.LittleEndian.Uint64(data[a+n:]) ^ binary.LittleEndian.Uint64(data[b+n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)/8
		}
		n += 8
	}
	for n < max && data[a+n] == data[b+n] {
		n++
	}
	return n
}

// tokenize parses data[start:end] into literals and matches, none of
// which crosses end or a frame boundary. r is the repeated-offset queue
// at start; it is updated as the block's matches would update it.
func (m *matcher) tokenize(start, end int, r *[3]uint32, toks []token) []token {
	data := m.data
	for pos := start; pos < end; {
		frameEnd := (pos/FrameSize + 1) * FrameSize
		maxLen := min(maxMatch, end-pos, frameEnd-pos)
		repLen, repOff := 0, uint32(0)
		hashLen, hashOff := 0, 0
		if maxLen >= minMatch {
			for _, ro := range r {
				if int(ro) <= pos && int(ro) <= m.maxOff {
					if l := matchLen(data, pos, pos-int(ro), maxLen); l > repLen {
						repLen, repOff = l, ro
					}
				}
			}
		}
		if maxLen >= minHashLen && repLen < min(maxLen, goodLen) {
			for _, c32 := range m.buckets[hash4(data[pos:])] {
				c := int(c32)
				if c < 0 || pos-c > m.maxOff {
					break
				}
				if data[c+hashLen] == data[pos+hashLen] {
					if l := matchLen(data, pos, c, maxLen); l > hashLen && worthIt(l, pos-c) {
						hashLen, hashOff = l, pos-c
						if l >= min(maxLen, goodLen) {
							break
						}
					}
				}
			}
		}
		adv := 1
		switch {
		case repLen >= minHashLen && repLen+1 >= hashLen, repLen == minMatch && hashLen < minHashLen:
			toks = append(toks, token{length: uint16(repLen), off: repOff})
			adv = repLen
		case hashLen >= minHashLen:
			toks = append(toks, token{length: uint16(hashLen), off: uint32(hashOff)})
			adv = hashLen
		default:
			toks = append(toks, token{lit: data[pos]})
		}
		if adv > 1 {
			slotFor(toks[len(toks)-1].off, r)
		}
		for i := pos; i < pos+adv; i++ {
			m.insert(i)
		}
		pos += adv
	}
	return toks
}

// worthIt reports whether a match of length l at offset off may save
// bits over literals: short matches only pay at short offsets.
func worthIt(l, off int) bool {
	switch l {
	case 3:
		return off <= 1<<12
	case 4:
		return off <= 1<<16
	case 5:
		return off <= 1<<19
	}
	return true
}

// slotFor returns the position slot and footer that code a match offset,
// updating the repeated-offset queue r as the decoder will.
func slotFor(off uint32, r *[3]uint32) (slot int, footer uint32) {
	switch off {
	case r[0]:
		return 0, 0
	case r[1]:
		r[0], r[1] = r[1], r[0]
		return 1, 0
	case r[2]:
		r[0], r[2] = r[2], r[0]
		return 2, 0
	}
	r[2], r[1], r[0] = r[1], r[0], off
	f := off + 2
	switch {
	case f < 4:
		slot = int(f)
	case f >= positionBase[36]:
		slot = 36 + int((f-positionBase[36])>>17)
	default:
		hb := bits.Len32(f) - 1
		slot = 2*hb + int(f>>(hb-1)&1)
	}
	return slot, f - positionBase[slot]
}
