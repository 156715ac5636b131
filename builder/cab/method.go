package cab

import (
	"fmt"
	"sync"

	"github.com/duws/duws/builder/cab/internal/lzx"
	"github.com/duws/duws/builder/cab/internal/quantum"
)

// newDecoder returns the decoder for a folder's typeCompress value.
func newDecoder(comp uint16) (frameDecoder, error) {
	switch Method(comp & 0xf) {
	case None:
		return nopDecoder{}, nil
	case MSZIP:
		return newMSZIPDecoder(), nil
	case Quantum:
		// Bits 4..7 hold the level (1 to 7), bits 8..12 the window size.
		d, err := quantum.NewDecoder(int(comp>>8) & 0x1f)
		if err != nil {
			return nil, fmt.Errorf("method %s (%#04x): %w: %w", Quantum, comp, err, ErrAlgorithm)
		}
		return d, nil
	case LZX:
		// Bits 8..12 hold the window size, 15 to 21.
		bits := int(comp>>8) & 0x1f
		if bits <= lzx.MaxWindowBits {
			if d, ok := lzxPool[bits].Get().(*lzx.Decoder); ok {
				d.Reset()
				return d, nil
			}
		}
		d, err := lzx.NewDecoder(bits)
		if err != nil {
			return nil, fmt.Errorf("method %s (%#04x): %w: %w", LZX, comp, err, ErrAlgorithm)
		}
		return d, nil
	}
	return nil, fmt.Errorf("method %s (%#04x): %w", Method(comp&0xf), comp, ErrAlgorithm)
}

// lzxPool keeps LZX decoders of closed readers, by window size: a
// decoder's window is up to 2 MiB, which costs more to allocate and clear
// than a small cabinet costs to decode. Like archive/zip's pool of flate
// readers, it holds nothing but reusable memory.
var lzxPool [lzx.MaxWindowBits + 1]sync.Pool

// recycle returns a folder reader's decoder to its pool.
func recycle(fr *folderReader) {
	if d, ok := fr.dec.(*lzx.Decoder); ok && Method(fr.comp&0xf) == LZX {
		if bits := int(fr.comp>>8) & 0x1f; bits <= lzx.MaxWindowBits {
			fr.dec = nil
			lzxPool[bits].Put(d)
		}
	}
}

// nopDecoder stands for stored folders, whose blocks are used as they are.
type nopDecoder struct{}

func (nopDecoder) DecodeFrame(dst, src []byte) error { return nil }
func (nopDecoder) Reset()                            {}
