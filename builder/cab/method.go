package cab

import (
	"fmt"

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
		d, err := lzx.NewDecoder(int(comp>>8) & 0x1f)
		if err != nil {
			return nil, fmt.Errorf("method %s (%#04x): %w: %w", LZX, comp, err, ErrAlgorithm)
		}
		return d, nil
	}
	return nil, fmt.Errorf("method %s (%#04x): %w", Method(comp&0xf), comp, ErrAlgorithm)
}

// nopDecoder stands for stored folders, whose blocks are used as they are.
type nopDecoder struct{}

func (nopDecoder) DecodeFrame(dst, src []byte) error { return nil }
func (nopDecoder) Reset()                            {}
