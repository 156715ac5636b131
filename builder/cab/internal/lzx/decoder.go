package lzx

import (
	"encoding/binary"
	"fmt"
)

// Decoder decompresses the LZX frames of one cabinet folder at a time.
// It is not safe for concurrent use.
type Decoder struct {
	windowBits int
	wsize      int
	numMain    int // main tree symbols: 256 literals + 8 per position slot
	window     []byte
	wpos       int   // where the next output byte goes in window
	frameStart int   // window position of the current frame's first byte
	total      int64 // bytes output by the folder's earlier frames
	frame      int   // index of the next frame in the folder

	r0, r1, r2 uint32 // repeated offsets

	headerRead bool  // the E8 header has been read
	e8Size     int32 // E8 translation size, 0 for none

	blockType      int
	blockLength    int // declared size of the current LZX block
	blockRemaining int // bytes of it still to decode
	// needPad: an odd-sized uncompressed block has ended and the byte
	// that pads it to an even size is still to be skipped.
	needPad bool

	br bitReader

	// Code lengths persist from block to block: each tree is sent as
	// differences from the previous one.
	mainLens    [maxMainSymbols + lengthSlack]uint8
	lengthLens  [numLengthSymbols + lengthSlack]uint8
	alignedLens [numAlignedSymbols]uint8
	pretreeLens [numPretreeSymbols]uint8

	mainTable, lengthTable, alignedTable, pretreeTable huffTable

	queue [copyQueueLen]matchCopy

	err error
}

// NewDecoder returns a decoder for a window of 1<<windowBits bytes, ready
// for the first frame of a folder. windowBits must be in 15..21, else the
// error matches ErrWindow (and ErrCorrupt).
func NewDecoder(windowBits int) (*Decoder, error) {
	if err := checkWindowBits(windowBits); err != nil {
		return nil, err
	}
	d := &Decoder{windowBits: windowBits, wsize: 1 << windowBits}
	d.numMain = numChars + 8*positionSlots[windowBits-MinWindowBits]
	d.window = make([]byte, d.wsize)
	d.Reset()
	return d, nil
}

// Reset returns the decoder to the state at the start of a cabinet folder:
// empty window, repeated offsets R0 = R1 = R2 = 1, all previous code
// lengths zero, no LZX block under way and the E8 header not yet read. It
// also clears an error from an earlier frame.
func (d *Decoder) Reset() {
	d.wpos = 0
	d.total = 0
	d.frame = 0
	d.r0, d.r1, d.r2 = 1, 1, 1
	d.headerRead = false
	d.e8Size = 0
	d.blockType = 0
	d.blockLength = 0
	d.blockRemaining = 0
	d.needPad = false
	d.mainLens = [len(d.mainLens)]uint8{}
	d.lengthLens = [len(d.lengthLens)]uint8{}
	d.br = bitReader{}
	d.err = nil
}

// corrupt records and returns a decoding error of the current frame.
func (d *Decoder) corrupt(format string, args ...any) error {
	d.err = fmt.Errorf("lzx: frame %d: %s: %w", d.frame, fmt.Sprintf(format, args...), corruption{})
	return d.err
}

// DecodeFrame decodes the next frame of the folder: src is the compressed
// payload of one CFDATA block and len(dst) its declared uncompressed size,
// at most FrameSize (only the folder's last frame may be smaller). It
// fills dst exactly, or returns an error matching ErrCorrupt; dst may be
// partly written then. State carries over to the next call. An empty dst
// is a no-op: a CFDATA block split across two cabinets (the first part
// declaring no uncompressed bytes) must be joined to its continuation and
// passed as one.
func (d *Decoder) DecodeFrame(dst, src []byte) error {
	if d.err != nil {
		return d.err
	}
	if len(dst) == 0 {
		return nil
	}
	if len(dst) > FrameSize {
		return d.corrupt("frame size %d over %d", len(dst), FrameSize)
	}
	if d.wpos+len(dst) > d.wsize {
		return d.corrupt("frame of %d bytes at window position %d crosses the window end (frames before the last must be %d bytes)", len(dst), d.wpos, FrameSize)
	}
	d.br.init(src)
	if d.needPad {
		// An odd-sized uncompressed block ended the previous frame,
		// whose input had no room left for the padding byte.
		d.br.p = 1
		d.needPad = false
	}
	if !d.headerRead {
		// Intel E8 header: one bit, then if set the translation size
		// in 32 bits.
		if d.br.bits(1) == 1 {
			hi := d.br.bits(16)
			lo := d.br.bits(16)
			d.e8Size = int32(hi<<16 | lo)
		}
		d.headerRead = true
	}
	d.frameStart = d.wpos
	end := d.wpos + len(dst)
	for d.wpos < end {
		if d.blockRemaining == 0 {
			if err := d.readBlockHeader(); err != nil {
				return err
			}
			continue
		}
		run := min(end-d.wpos, d.blockRemaining)
		var err error
		switch d.blockType {
		case blockVerbatim:
			err = d.decodeCompressed(d.wpos+run, false)
		case blockAligned:
			err = d.decodeCompressed(d.wpos+run, true)
		default:
			err = d.copyUncompressed(d.wpos + run)
		}
		if err != nil {
			return err
		}
		d.blockRemaining -= run
		if d.blockRemaining == 0 && d.blockType == blockUncompressed && d.blockLength&1 == 1 {
			d.needPad = true
		}
		if d.br.overrun() {
			return d.corrupt("input exhausted: %d bytes do not hold the frame", len(src))
		}
	}
	if d.needPad && d.br.p < len(src) {
		// An odd-sized uncompressed block ended with the frame, and
		// its padding byte is the last of this input.
		d.br.p++
		d.needPad = false
	}

	copy(dst, d.window[end-len(dst):end])
	if d.e8Size != 0 && d.frame < e8MaxFrames && len(dst) > 10 {
		e8Decode(dst, int32(d.total), d.e8Size)
	}
	d.total += int64(len(dst))
	d.frame++
	d.wpos = end
	if d.wpos == d.wsize {
		d.wpos = 0
	}
	return nil
}

// readBlockHeader starts a new LZX block: type, size and, for the
// compressed types, the trees.
func (d *Decoder) readBlockHeader() error {
	br := &d.br
	if d.needPad {
		br.p++
		d.needPad = false
	}
	typ := int(br.bits(3))
	size := int(br.bits(24))
	switch typ {
	case blockAligned:
		for i := range d.alignedLens {
			d.alignedLens[i] = uint8(br.bits(3))
		}
		if !d.alignedTable.build(d.alignedLens[:], alignedTableBits) {
			return d.corrupt("aligned offset tree over-subscribed")
		}
		fallthrough
	case blockVerbatim:
		if err := d.readLengths(d.mainLens[:], 0, numChars, "main"); err != nil {
			return err
		}
		if err := d.readLengths(d.mainLens[:], numChars, d.numMain, "main"); err != nil {
			return err
		}
		if !d.mainTable.build(d.mainLens[:d.numMain], mainTableBits) {
			return d.corrupt("main tree over-subscribed")
		}
		if err := d.readLengths(d.lengthLens[:], 0, numLengthSymbols, "length"); err != nil {
			return err
		}
		if !d.lengthTable.build(d.lengthLens[:numLengthSymbols], lengthTableBits) {
			return d.corrupt("length tree over-subscribed")
		}
	case blockUncompressed:
		br.alignBytes()
		b, ok := br.bytes(12)
		if !ok {
			return d.corrupt("input exhausted in uncompressed block header")
		}
		d.r0 = binary.LittleEndian.Uint32(b[0:])
		d.r1 = binary.LittleEndian.Uint32(b[4:])
		d.r2 = binary.LittleEndian.Uint32(b[8:])
	default:
		return d.corrupt("invalid block type %d", typ)
	}
	if br.overrun() {
		return d.corrupt("input exhausted in block header")
	}
	d.blockType = typ
	d.blockLength = size
	d.blockRemaining = size
	return nil
}

// readLengths reads the code lengths of symbols first..last-1 of a tree:
// a pretree of 20 symbols with 4-bit lengths, then pretree symbols that
// give each length as a difference from the previous one (0-16) or runs:
// 17 and 18 short and long runs of zeros, 19 a short run of one length.
func (d *Decoder) readLengths(lens []uint8, first, last int, tree string) error {
	br := &d.br
	for i := range d.pretreeLens {
		d.pretreeLens[i] = uint8(br.bits(4))
	}
	if !d.pretreeTable.build(d.pretreeLens[:], pretreeTableBits) {
		return d.corrupt("%s tree: pretree over-subscribed", tree)
	}
	for x := first; x < last; {
		sym := br.decode(&d.pretreeTable, pretreeTableBits)
		run := 1
		switch {
		case sym <= 16:
			lens[x] = (lens[x] + 17 - uint8(sym)) % 17
		case sym == 17:
			run = 4 + int(br.bits(4))
			clear(lens[x : x+run])
		case sym == 18:
			run = 20 + int(br.bits(5))
			clear(lens[x : x+run])
		case sym == 19:
			run = 4 + int(br.bits(1))
			delta := br.decode(&d.pretreeTable, pretreeTableBits)
			if delta > 16 {
				return d.corrupt("%s tree: pretree symbol %d after a same-length run", tree, delta)
			}
			v := (lens[x] + 17 - uint8(delta)) % 17
			for i := x; i < x+run; i++ {
				lens[i] = v
			}
		default:
			return d.corrupt("%s tree: pretree code missing", tree)
		}
		x += run
	}
	if br.overrun() {
		return d.corrupt("%s tree: input exhausted", tree)
	}
	return nil
}

// copyUncompressed copies an uncompressed block's bytes up to window
// position end.
func (d *Decoder) copyUncompressed(end int) error {
	n := end - d.wpos
	b, ok := d.br.bytes(n)
	if !ok {
		return d.corrupt("input exhausted in uncompressed block: %d bytes wanted, %d left", n, max(0, len(d.br.src)-d.br.p))
	}
	copy(d.window[d.wpos:end], b)
	d.wpos = end
	return nil
}
