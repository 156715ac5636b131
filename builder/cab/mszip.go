package cab

import (
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
)

// historySize is the deflate window MSZIP blocks may reach back into:
// the previous 32 KiB of the folder, whatever block they came from.
const historySize = 32 << 10

// mszipDecoder decodes MSZIP blocks: "CK" and a deflate stream that ends
// with the block, which may refer to the folder's previous 32 KiB.
type mszipDecoder struct {
	hist []byte // the folder's last output, at most historySize bytes
	src  bytes.Reader
	zr   io.ReadCloser
}

func newMSZIPDecoder() *mszipDecoder {
	d := &mszipDecoder{hist: make([]byte, 0, historySize)}
	d.zr = flate.NewReader(&d.src)
	return d
}

func (d *mszipDecoder) Reset() { d.hist = d.hist[:0] }

func (d *mszipDecoder) DecodeFrame(dst, src []byte) error {
	if len(src) < 2 || src[0] != 'C' || src[1] != 'K' {
		return fmt.Errorf("mszip: missing CK signature")
	}
	d.src.Reset(src[2:])
	if err := d.zr.(flate.Resetter).Reset(&d.src, d.hist); err != nil {
		return fmt.Errorf("mszip: %w", err)
	}
	n, err := io.ReadFull(d.zr, dst)
	if err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return fmt.Errorf("mszip: block decodes to %d bytes, declares %d", n, len(dst))
		}
		return fmt.Errorf("mszip: %w", err)
	}
	// The deflate stream must end with the block, not go on past the
	// size the block declares.
	var one [1]byte
	if m, err := d.zr.Read(one[:]); m != 0 || err != io.EOF {
		if err != nil && err != io.EOF {
			return fmt.Errorf("mszip: %w", err)
		}
		return fmt.Errorf("mszip: block decodes to more than the %d bytes it declares", len(dst))
	}
	d.remember(dst)
	return nil
}

// remember keeps the last historySize bytes of output.
func (d *mszipDecoder) remember(out []byte) {
	if len(out) >= historySize {
		d.hist = append(d.hist[:0], out[len(out)-historySize:]...)
		return
	}
	if keep := historySize - len(out); len(d.hist) > keep {
		d.hist = d.hist[:copy(d.hist, d.hist[len(d.hist)-keep:])]
	}
	d.hist = append(d.hist, out...)
}
