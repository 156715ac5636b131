package quantum

import "encoding/binary"

// padBudget is how many bits past the end of a frame's data the decoder may
// read, as zeros, before it gives up on the frame. The arithmetic decoder
// reads 16 bits ahead of the symbols it has decoded, so an encoder that ends
// its code with the fewest bits that identify the final interval leaves the
// decoder up to 16 bits short. Microsoft's encoder writes its code out in
// full and never needs any.
const padBudget = 16

// bitReader reads a frame's data most significant bit first. Past the end of
// the data it reads zeros; the caller checks overrun against padBudget.
type bitReader struct {
	src  []byte
	next int    // index in src of the next byte to load into buf
	pad  int    // zero bytes loaded into buf past the end of src
	buf  uint64 // unread bits, first one in the top bit; the bits after the
	n    uint   // n unread ones are zero or equal to the stream's next bits
}

func (r *bitReader) reset(src []byte) {
	*r = bitReader{src: src}
}

// fill loads bytes until buf holds at least 57 bits.
func (r *bitReader) fill() {
	if r.next+8 <= len(r.src) {
		v := binary.BigEndian.Uint64(r.src[r.next:])
		r.buf |= v >> r.n
		k := (63 - r.n) >> 3
		r.next += int(k)
		r.n += k << 3
		return
	}
	for r.n <= 56 {
		if r.next < len(r.src) {
			r.buf |= uint64(r.src[r.next]) << (56 - r.n)
			r.next++
		} else {
			r.pad++
		}
		r.n += 8
	}
}

// read returns the next k bits, 1 <= k <= 32.
func (r *bitReader) read(k uint) uint32 {
	if r.n < k {
		r.fill()
	}
	v := uint32(r.buf >> (64 - k))
	r.buf <<= k
	r.n -= k
	return v
}

// overrun returns how many bits have been read past the end of the data
// (negative while there are still unread bits of data).
func (r *bitReader) overrun() int {
	return (r.next+r.pad)*8 - int(r.n) - len(r.src)*8
}
