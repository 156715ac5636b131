package lzx

// LZX Huffman codes are canonical: given the code length of every symbol,
// codes are handed out in order of length, and within one length in
// order of symbol, each code read most significant bit first. Lengths
// run from 1 to 16; 0 means the symbol is absent.
//
// A decoding table is indexed by the next tableBits bits of the stream.
// An entry is either a symbol with the length of its code, or, for codes
// longer than tableBits, a link to a second-level table indexed by the
// bits that follow. Table slots that no code reaches (an incomplete or
// empty code) hold a symbol number no tree has, so decoding them is
// caught where the symbol is used.

const (
	maxCodeLen = 16

	// Entry layout: bits 0-7 the code length (for a link, the number of
	// index bits of the second-level table), bits 8-30 the symbol (for a
	// link, the offset of the second-level table), bit 31 set for links.
	linkFlag     = 1 << 31
	entryLenMask = 0xff
	linkOffMask  = 0x7fffff

	// badSymbol is what a slot that no code reaches decodes to: larger
	// than any symbol of any tree.
	badSymbol = 0xffff
	badEntry  = badSymbol << 8
)

// Primary table sizes. Every aligned-offset code is at most 7 bits long,
// so its table never needs links.
const (
	mainTableBits    = 11
	lengthTableBits  = 10
	alignedTableBits = 7
	pretreeTableBits = 8
	maxTableBits     = mainTableBits
)

// huffTable is a two-level decoding table.
type huffTable struct {
	entries []uint32
}

// build makes the table for the code with the given lengths. It fails
// only for an over-subscribed code (more codes than the lengths leave
// room for), which no stream can be read with; an incomplete or empty
// code builds, and its unused slots decode to badSymbol.
func (t *huffTable) build(lens []uint8, tableBits uint) bool {
	if len(lens) > maxMainSymbols || tableBits > maxTableBits {
		panic("lzx: huffTable.build: tree too large")
	}
	var count [maxCodeLen + 1]int
	for _, l := range lens {
		if l > maxCodeLen {
			return false
		}
		count[l]++
	}
	count[0] = 0
	room := 1
	maxLen := uint(0)
	for l := 1; l <= maxCodeLen; l++ {
		room = room<<1 - count[l]
		if room < 0 {
			return false
		}
		if count[l] > 0 {
			maxLen = uint(l)
		}
	}
	var next [maxCodeLen + 1]uint32
	code := uint32(0)
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}

	// Hand out the codes, and count the second-level tables: one per
	// distinct tableBits-bit prefix of the longer codes.
	subBits := uint(0)
	if maxLen > tableBits {
		subBits = maxLen - tableBits
	}
	var codes [maxMainSymbols]uint32
	var linked [1 << maxTableBits]bool
	links := 0
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		codes[sym] = next[l]
		next[l]++
		if uint(l) > tableBits {
			if prefix := codes[sym] >> (uint(l) - tableBits); !linked[prefix] {
				linked[prefix] = true
				links++
			}
		}
	}

	size := 1<<tableBits + links<<subBits
	if cap(t.entries) < size {
		t.entries = make([]uint32, size)
	}
	t.entries = t.entries[:size]
	fill(t.entries, badEntry)
	nextSub := 1 << tableBits
	for sym, l8 := range lens {
		l := uint(l8)
		if l == 0 {
			continue
		}
		c := codes[sym]
		e := uint32(sym)<<8 | uint32(l)
		if l <= tableBits {
			start := int(c << (tableBits - l))
			fill(t.entries[start:start+1<<(tableBits-l)], e)
			continue
		}
		// Long code: the first tableBits bits pick the link, the
		// rest index the second-level table.
		prefix := c >> (l - tableBits)
		link := t.entries[prefix]
		if link&linkFlag == 0 {
			link = linkFlag | uint32(nextSub)<<8 | uint32(subBits)
			t.entries[prefix] = link
			nextSub += 1 << subBits
		}
		off := int(link>>8) & linkOffMask
		rest := l - tableBits
		low := int(c & (1<<rest - 1))
		start := off + low<<(subBits-rest)
		fill(t.entries[start:start+1<<(subBits-rest)], e)
	}
	return true
}

func fill(s []uint32, v uint32) {
	for i := range s {
		s[i] = v
	}
}

// decode reads one symbol with t, whose primary table has tableBits bits.
// It returns badSymbol for a code that the tree does not have.
func (br *bitReader) decode(t *huffTable, tableBits uint) uint32 {
	br.ensure()
	e := t.entries[br.buf>>(64-tableBits)]
	if e&linkFlag != 0 {
		sub := (br.buf << tableBits) >> ((64 - e) & 63)
		e = t.entries[int(e>>8)&linkOffMask+int(sub)]
	}
	l := uint(e & entryLenMask)
	br.buf <<= l
	br.n -= l
	return e >> 8
}
