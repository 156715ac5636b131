package lzx

import (
	"encoding/binary"
	"math/bits"
)

// A greedy LZ77 match finder over hash chains of 3-byte prefixes, which
// also tries the three repeated offsets at every position.

const (
	hashBits   = 16
	chainDepth = 24
	minHashLen = 3 // matches found by hash; repeated-offset ones may be 2 long
)

// token is a literal (length 0) or a match.
type token struct {
	length uint16
	lit    byte
	off    uint32
}

type matcher struct {
	data   []byte
	head   []int32 // newest position per hash, -1 for none
	chain  []int32 // previous position with the same hash, by position & mask
	mask   int
	maxOff int
}

func newMatcher(data []byte, wsize int) *matcher {
	m := &matcher{
		data:   data,
		head:   make([]int32, 1<<hashBits),
		chain:  make([]int32, wsize),
		mask:   wsize - 1,
		maxOff: wsize - 3, // the largest offset the format defines
	}
	for i := range m.head {
		m.head[i] = -1
	}
	return m
}

func hash3(b []byte) uint32 {
	v := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
	return (v * 2654435761) >> (32 - hashBits)
}

func (m *matcher) insert(pos int) {
	if pos+minHashLen > len(m.data) {
		return
	}
	h := hash3(m.data[pos:])
	m.chain[pos&m.mask] = m.head[h]
	m.head[h] = int32(pos)
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
		if maxLen >= minHashLen && repLen < maxLen {
			c := int(m.head[hash3(data[pos:])])
			for depth := chainDepth; c >= 0 && depth > 0; depth-- {
				if pos-c > m.maxOff {
					break
				}
				if data[c+hashLen] == data[pos+hashLen] {
					if l := matchLen(data, pos, c, maxLen); l > hashLen {
						hashLen, hashOff = l, pos-c
						if l == maxLen {
							break
						}
					}
				}
				next := int(m.chain[c&m.mask])
				if next >= c {
					break
				}
				c = next
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
