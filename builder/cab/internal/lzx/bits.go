package lzx

import "encoding/binary"

// LZX packs its bits into 16-bit little-endian words and hands them out
// most significant bit first. The reader keeps up to 64 of those bits
// left-aligned in buf, so that one refill covers a whole match: a main
// code (16 bits at most), a length code (16) and 17 footer bits.

// inputSlackBits is how far a frame may read past the end of its input.
// The decoder pretends the input goes on with zero bits, as the reference
// decoders do, so that the last codes of a frame can be looked up with a
// full-width table probe; actually consuming more than one word of those
// zeros means the frame wanted data it was not given.
const inputSlackBits = 16

// minRefill is the number of bits a refill guarantees.
const minRefill = 49

// bitReader reads one frame's input.
type bitReader struct {
	src []byte
	// p is the next byte of src to load. It passes len(src) when the
	// reader runs on into the zero bits beyond the end.
	p int
	// buf holds the unread bits, the next one in the top bit. The bits
	// below the first n are either zero or copies of the input that
	// follows (a fast refill loads whole 64-bit chunks), never anything
	// else, so OR-ing the same input into them again is harmless.
	buf uint64
	n   uint
}

func (br *bitReader) init(src []byte) {
	*br = bitReader{src: src}
}

// swapWords turns eight input bytes, loaded big-endian, into four 16-bit
// words in stream order: each little-endian word gets its bytes swapped.
func swapWords(x uint64) uint64 {
	return (x>>8)&0x00ff00ff00ff00ff | (x&0x00ff00ff00ff00ff)<<8
}

// refill tops buf up to at least minRefill bits. It is the slow half of
// the refill that the hot loop inlines.
func refill(src []byte, p int, buf uint64, n uint) (int, uint64, uint) {
	if p+8 <= len(src) {
		x := swapWords(binary.BigEndian.Uint64(src[p:]))
		buf |= x >> n
		k := (64 - n) >> 4
		return p + int(k<<1), buf, n + k<<4
	}
	for n < minRefill {
		var w uint64
		switch {
		case p+1 < len(src):
			w = uint64(src[p]) | uint64(src[p+1])<<8
		case p < len(src):
			w = uint64(src[p])
		}
		buf |= w << (48 - n)
		n += 16
		p += 2
	}
	return p, buf, n
}

// ensure makes at least minRefill bits available.
func (br *bitReader) ensure() {
	if br.n < minRefill {
		br.p, br.buf, br.n = refill(br.src, br.p, br.buf, br.n)
	}
}

// bits reads k bits, 1 <= k <= 32, as an unsigned number.
func (br *bitReader) bits(k uint) uint32 {
	if br.n < k {
		br.ensure()
	}
	v := br.buf >> ((64 - k) & 63)
	br.buf <<= k
	br.n -= k
	return uint32(v)
}

// consumed is the number of bits read so far, counting the zero bits
// invented beyond the end of the input.
func (br *bitReader) consumed() int {
	return br.p*8 - int(br.n)
}

// overrun reports whether the frame has read more than inputSlackBits
// past the end of its input.
func (br *bitReader) overrun() bool {
	return br.consumed() > len(br.src)*8+inputSlackBits
}

// alignBytes ends bit reading for an uncompressed block: it drops the rest
// of the current 16-bit word, or a whole word when the stream is already
// on a word boundary (the format pads with 1 to 16 bits, never 0), and
// leaves p at the first byte that follows.
func (br *bitReader) alignBytes() {
	whole := int(br.n >> 4)
	if br.n&15 == 0 {
		whole--
	}
	br.p -= 2 * whole
	br.buf, br.n = 0, 0
}

// bytes returns the next k input bytes, or false when the input has
// fewer. The reader must be byte-aligned (n == 0).
func (br *bitReader) bytes(k int) ([]byte, bool) {
	if br.p > len(br.src) || len(br.src)-br.p < k {
		return nil, false
	}
	b := br.src[br.p : br.p+k]
	br.p += k
	return b, true
}
