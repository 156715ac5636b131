package cab

import "fmt"

// newDecoder returns the decoder for a folder's typeCompress value.
func newDecoder(comp uint16) (frameDecoder, error) {
	switch Method(comp & 0xf) {
	case None:
		return nopDecoder{}, nil
	case MSZIP:
		return newMSZIPDecoder(), nil
	}
	return nil, fmt.Errorf("method %s (%#04x): %w", Method(comp&0xf), comp, ErrAlgorithm)
}

// nopDecoder stands for stored folders, whose blocks are used as they are.
type nopDecoder struct{}

func (nopDecoder) DecodeFrame(dst, src []byte) error { return nil }
func (nopDecoder) Reset()                            {}

// Whether the LZX and Quantum decoders are wired in.
const (
	decodesLZX     = false
	decodesQuantum = false
)
