package quantum

import (
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error the decoder returns.
var ErrCorrupt = errors.New("quantum: corrupt stream")

// Window sizes and frame size.
const (
	MinWindowBits = 10    // smallest window, 1 KiB
	MaxWindowBits = 21    // largest window, 2 MiB
	MaxFrameSize  = 32768 // output of one frame (one CFDATA block)
)

// Decoder decodes the frames of one Quantum folder after another. The zero
// value is not usable; create one with NewDecoder. A Decoder is not safe for
// concurrent use.
type Decoder struct {
	windowBits int

	// The last min(window size, folder output) bytes of the folder's output
	// before the current frame, as a ring: the byte written n bytes before
	// the frame starts is at (pos-n) & (len(window)-1).
	window []byte
	pos    int
	total  int64 // bytes of output in the folder before the current frame

	err error // sticky: a failed frame leaves the state unusable until Reset

	// overshot is set by a frame whose last match ran past its declared
	// end: the window then lacks the bytes the encoder meant to follow,
	// so such a frame can only be the folder's last.
	overshot bool

	selector model
	literal  [4]model
	pos3     model // distances of 3-byte matches (selector 4)
	pos4     model // distances of 4-byte matches (selector 5)
	posVar   model // distances of longer matches (selector 6)
	length   model // lengths of longer matches (selector 6)

	ac arithDecoder
}

// NewDecoder returns a decoder for a window of 1<<windowBits bytes,
// windowBits from 10 to 21. A cabinet folder's compression type carries the
// window bits in bits 8 to 12 (and the compression level, of no concern to
// the decoder, in bits 4 to 7).
func NewDecoder(windowBits int) (*Decoder, error) {
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return nil, fmt.Errorf("%w: window bits %d out of range %d to %d",
			ErrCorrupt, windowBits, MinWindowBits, MaxWindowBits)
	}
	d := &Decoder{
		windowBits: windowBits,
		window:     make([]byte, 1<<windowBits),
	}
	d.Reset()
	return d, nil
}

// WindowBits returns the decoder's window size as a power of two.
func (d *Decoder) WindowBits() int { return d.windowBits }

// Reset restores the state at the start of a cabinet folder: the models are
// re-initialised and the window is empty. It also clears a previous error.
func (d *Decoder) Reset() {
	d.pos = 0
	d.total = 0
	d.err = nil
	d.overshot = false
	d.selector.init(numSelectors)
	for i := range d.literal {
		d.literal[i].init(numLiteralSyms)
	}
	n := 2 * d.windowBits
	d.pos3.init(min(n, maxPosSlots3))
	d.pos4.init(min(n, maxPosSlots4))
	d.posVar.init(n)
	d.length.init(numLengthSlots)
}

// DecodeFrame decodes one frame, the payload of one CFDATA block: src is its
// compressed data and len(dst) its declared uncompressed size, at most
// MaxFrameSize (only the last block of a folder is normally smaller). It
// fills dst exactly or returns an error wrapping ErrCorrupt; on error the
// contents of dst are unspecified, and every later call fails too until
// Reset. The window and the models carry over from one call to the next.
// An empty dst is a no-op.
func (d *Decoder) DecodeFrame(dst, src []byte) error {
	if d.err != nil {
		return d.err
	}
	if d.window == nil {
		return fmt.Errorf("%w: decoder not made by NewDecoder", ErrCorrupt)
	}
	if len(dst) > MaxFrameSize {
		d.err = fmt.Errorf("%w: frame of %d bytes exceeds %d", ErrCorrupt, len(dst), MaxFrameSize)
		return d.err
	}
	if len(dst) == 0 {
		return nil
	}
	if d.overshot {
		d.err = fmt.Errorf("%w: frame follows one whose last match ran past its declared end", ErrCorrupt)
		return d.err
	}
	if err := d.decode(dst, src); err != nil {
		d.err = err
		return err
	}
	d.remember(dst)
	return nil
}

// decode is DecodeFrame's loop. Every iteration writes at least one byte of
// dst, so it ends after at most len(dst) iterations.
func (d *Decoder) decode(dst, src []byte) error {
	ac := &d.ac
	ac.start(src)
	n := 0
	for n < len(dst) {
		if ac.bad {
			return fmt.Errorf("%w: arithmetic code out of range at frame offset %d", ErrCorrupt, n)
		}
		if ac.in.pad > 0 && ac.in.overrun() > padBudget {
			return fmt.Errorf("%w: frame data ends after %d of %d bytes", ErrCorrupt, n, len(dst))
		}
		sel := ac.decode(&d.selector)
		if sel < 4 {
			dst[n] = byte(sel<<6 | ac.decode(&d.literal[sel]))
			n++
			continue
		}
		var length int
		var slots *model
		switch sel {
		case 4:
			length, slots = 3, &d.pos3
		case 5:
			length, slots = 4, &d.pos4
		default:
			ls := lengthSlots[ac.decode(&d.length)]
			length = minVarMatch + int(ls.base+ac.bits(ls.extra))
			slots = &d.posVar
		}
		ps := posSlots[ac.decode(slots)]
		dist := 1 + int(ps.base+ac.bits(ps.extra))
		if err := d.copyMatch(dst, n, dist, length); err != nil {
			return err
		}
		n += length // past len(dst) only after the frame's last match
	}
	if ac.bad {
		return fmt.Errorf("%w: arithmetic code out of range at frame end", ErrCorrupt)
	}
	if ac.in.overrun() > padBudget {
		return fmt.Errorf("%w: frame data too short", ErrCorrupt)
	}
	return nil
}

// copyMatch writes the length bytes found dist bytes back to dst[n:], from
// dst itself or, for the part before the frame, from the window.
//
// A match may run past the frame's declared end, as the encoder's last
// match of a folder does when the last block declares fewer bytes than
// the encoder parsed: libmspack decodes it and keeps the declared bytes,
// and so does this, as long as the match stays inside the 32 KiB frame
// and does not run over the end of the window, both of which libmspack
// refuses. Only the declared bytes are written.
func (d *Decoder) copyMatch(dst []byte, n, dist, length int) error {
	if length > len(dst)-n {
		if n+length > MaxFrameSize {
			return fmt.Errorf("%w: match of %d bytes at frame offset %d runs past the %d-byte frame",
				ErrCorrupt, length, n, MaxFrameSize)
		}
		if at := int((d.total + int64(n)) & int64(len(d.window)-1)); at+length > len(d.window) {
			return fmt.Errorf("%w: match of %d bytes at frame offset %d runs past its declared end (%d) and over the end of the %d-byte window",
				ErrCorrupt, length, n, len(dst), len(d.window))
		}
		length = len(dst) - n
		d.overshot = true
	}
	if int64(dist) > d.total+int64(n) {
		return fmt.Errorf("%w: match distance %d reaches before the start of the folder",
			ErrCorrupt, dist)
	}
	if dist > len(d.window) { // the slot tables rule this out; the ring relies on it
		return fmt.Errorf("%w: match distance %d exceeds the window", ErrCorrupt, dist)
	}
	out := dst[n : n+length]
	if back := dist - n; back > 0 {
		// The match starts in an earlier frame: copy from the window, at
		// most up to the frame's start, wrapping around the ring.
		mask := len(d.window) - 1
		k := 0
		for k < len(out) && k < back {
			i := (d.pos - back + k) & mask
			k += copy(out[k:min(len(out), back)], d.window[i:])
		}
		out = out[k:]
		n += k
	}
	// The rest comes from the frame itself; source and destination may
	// overlap, repeating the last dist bytes.
	from := n - dist
	for len(out) > 0 {
		k := copy(out, dst[from:n])
		out = out[k:]
		n += k
	}
	return nil
}

// remember appends a finished frame to the window.
func (d *Decoder) remember(frame []byte) {
	d.total += int64(len(frame))
	size := len(d.window)
	if len(frame) > size {
		frame = frame[len(frame)-size:]
	}
	for len(frame) > 0 {
		k := copy(d.window[d.pos:], frame)
		frame = frame[k:]
		d.pos = (d.pos + k) & (size - 1)
	}
}
