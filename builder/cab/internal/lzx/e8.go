package lzx

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Intel E8 call translation. Before compressing, the encoder rewrites the
// 32-bit operand that follows each 0xE8 byte (the x86 CALL opcode) from a
// displacement relative to the instruction into an absolute position, so
// that calls to one target look alike and compress better; the decoder
// undoes it on each output frame. pos is the folder offset of b[0] and
// size the translation size from the stream header. Only 0xE8 bytes more
// than 10 bytes before the end of the frame count, and the four operand
// bytes that follow a counted 0xE8 are never themselves scanned. All
// arithmetic is on 32-bit two's complement numbers.

// nextE8 returns the index of the first 0xE8 in b[i:limit], or limit;
// the caller guarantees 8 readable bytes past limit. In x86 code E8
// bytes come every few bytes, where one search call per hit would cost
// more than the search: the first 64 bytes are tested 8 at a time.
func nextE8(b []byte, i, limit int) int {
	const ones, highs, e8s = 0x0101010101010101, 0x8080808080808080, 0xe8e8e8e8e8e8e8e8
	for end := min(i+64, limit); i < end; i += 8 {
		x := binary.LittleEndian.Uint64(b[i:]) ^ e8s
		if m := (x - ones) &^ x & highs; m != 0 {
			// The lowest flagged byte is a true zero byte of x.
			return min(i+bits.TrailingZeros64(m)/8, limit)
		}
	}
	if i >= limit {
		return limit
	}
	if j := bytes.IndexByte(b[i:limit], 0xE8); j >= 0 {
		return i + j
	}
	return limit
}

// e8Decode turns absolute operands back into relative ones.
func e8Decode(b []byte, pos, size int32) {
	limit := len(b) - 10
	for i := 0; i < limit; {
		if i = nextE8(b, i, limit); i >= limit {
			return
		}
		cur := pos + int32(i)
		abs := int32(binary.LittleEndian.Uint32(b[i+1:]))
		if abs >= -cur && abs < size {
			rel := abs + size
			if abs >= 0 {
				rel = abs - cur
			}
			binary.LittleEndian.PutUint32(b[i+1:], uint32(rel))
		}
		i += 5
	}
}

// e8Encode is the inverse of e8Decode, for the encoder.
func e8Encode(b []byte, pos, size int32) {
	limit := len(b) - 10
	for i := 0; i < limit; {
		j := bytes.IndexByte(b[i:limit], 0xE8)
		if j < 0 {
			return
		}
		i += j
		cur := pos + int32(i)
		rel := int32(binary.LittleEndian.Uint32(b[i+1:]))
		if rel >= -cur && rel < size {
			// e8Decode maps [0, size) to [-cur, size-cur) and
			// [-cur, 0) to [size-cur, size).
			var abs int32
			if rel < size-cur {
				abs = rel + cur
			} else {
				abs = rel - size
			}
			binary.LittleEndian.PutUint32(b[i+1:], uint32(abs))
		}
		i += 5
	}
}
