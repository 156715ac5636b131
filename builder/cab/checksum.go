package cab

import "encoding/binary"

// checksum folds b into seed the way the cabinet format checksums CFDATA
// blocks: the XOR of b read as little-endian 32-bit words, with the one
// to three bytes left over packed most significant first.
func checksum(b []byte, seed uint32) uint32 {
	// XOR is associative, so eight bytes at a time give the XOR of two
	// words at once, folded at the end.
	var x uint64
	n := len(b) &^ 31
	for i := 0; i < n; i += 32 {
		x ^= binary.LittleEndian.Uint64(b[i:]) ^ binary.LittleEndian.Uint64(b[i+8:]) ^
			binary.LittleEndian.Uint64(b[i+16:]) ^ binary.LittleEndian.Uint64(b[i+24:])
	}
	for ; n+8 <= len(b); n += 8 {
		x ^= binary.LittleEndian.Uint64(b[n:])
	}
	sum := seed ^ uint32(x) ^ uint32(x>>32)
	if n+4 <= len(b) {
		sum ^= binary.LittleEndian.Uint32(b[n:])
		n += 4
	}
	var tail uint32
	for _, c := range b[n:] {
		tail = tail<<8 | uint32(c)
	}
	return sum ^ tail
}

// blockChecksum is the checksum stored in a CFDATA header: over the data,
// then over the header's two size fields.
func blockChecksum(sizes []byte, data []byte) uint32 {
	return checksum(sizes[:4], checksum(data, 0))
}
