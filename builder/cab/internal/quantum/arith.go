package quantum

import "math/bits"

// arithDecoder is the decoding side of Quantum's arithmetic coder.
//
// The coder narrows an interval [lo, hi] of 16-bit fixed-point fractions,
// which stand for lo followed by infinitely many zero bits and hi followed by
// infinitely many one bits. Whenever both ends share their top bit, that bit
// is settled: it is shifted out and one more bit of the code is shifted in.
// When the ends straddle the middle closely (lo = 01..., hi = 10...) the
// interval is widened around the middle instead, dropping the second bit.
//
// The decoder keeps val, the code's 16 bits in the same window, as an offset
// from lo: a well-formed code always has 0 <= val <= hi-lo.
type arithDecoder struct {
	lo, hi, val uint32
	bad         bool // the code left its interval
	in          bitReader
}

// start begins a frame: the full interval, and the first 16 bits of code.
func (a *arithDecoder) start(src []byte) {
	a.in.reset(src)
	a.lo, a.hi = 0, 0xFFFF
	a.val = a.in.read(16)
	a.bad = false
}

// decode returns the next symbol of model m and updates the model.
func (a *arithDecoder) decode(m *model) int {
	span := a.hi - a.lo + 1
	v := a.val
	if v >= span {
		// Not a code any encoder writes. Note it and carry on with a value
		// in range; the caller stops at the next check.
		a.bad = true
		v = span - 1
	}
	total := m.total
	// Scale the code to the model's counts and find its symbol.
	i, cumLo, cumHi := m.find(((v+1)*total - 1) / span)
	sym := int(m.sym[i])

	top := cumHi * span / total
	bottom := cumLo * span / total
	a.hi = a.lo + top - 1
	a.lo += bottom
	a.val = v - bottom
	m.update(i)

	// Shift out the settled top bits, all at once.
	if k := uint(bits.LeadingZeros16(uint16(a.lo ^ a.hi))); k > 0 {
		a.lo = a.lo << k & 0xFFFF
		a.hi = (a.hi<<k | (1<<k - 1)) & 0xFFFF
		a.val = a.val<<k | a.in.read(k)
	}
	// Now lo starts with 0 and hi with 1; widen while they straddle the
	// middle closely. val is relative to lo, so only the shift touches it.
	for a.lo&0x4000 != 0 && a.hi&0x4000 == 0 {
		a.lo = (a.lo & 0x3FFF) << 1
		a.hi = ((a.hi|0x4000)<<1 | 1) & 0xFFFF
		a.val = a.val<<1 | a.in.read(1)
	}
	return sym
}

// bits reads k raw bits, 0 <= k <= 19, straight from the stream.
func (a *arithDecoder) bits(k uint8) uint32 {
	if k == 0 {
		return 0
	}
	return a.in.read(uint(k))
}
