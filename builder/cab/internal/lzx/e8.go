package lzx

import (
	"bytes"
	"encoding/binary"
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

// e8Decode turns absolute operands back into relative ones.
func e8Decode(b []byte, pos, size int32) {
	limit := len(b) - 10
	for i := 0; i < limit; {
		j := bytes.IndexByte(b[i:limit], 0xE8)
		if j < 0 {
			return
		}
		i += j
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
