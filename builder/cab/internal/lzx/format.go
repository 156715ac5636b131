package lzx

import (
	"errors"
	"fmt"
)

// Format constants.
const (
	// FrameSize is the uncompressed size of a frame, the unit a cabinet
	// stores in one CFDATA block; only a folder's last frame is smaller.
	FrameSize = 32768

	// MinWindowBits and MaxWindowBits bound the window sizes, as powers
	// of two, that cabinets use and this package supports.
	MinWindowBits = 15
	MaxWindowBits = 21

	numChars          = 256 // literal symbols of the main tree
	numPrimaryLengths = 7   // length header 7 means "add a length-tree symbol"
	numLengthSymbols  = 249 // symbols of the length tree
	minMatch          = 2
	maxMatch          = minMatch + numPrimaryLengths + numLengthSymbols - 1 // 257
	numAlignedSymbols = 8
	numPretreeSymbols = 20
	maxPositionSlots  = 50
	maxMainSymbols    = numChars + maxPositionSlots*8

	// e8MaxFrames is the number of frames of a folder that get the E8
	// call translation.
	e8MaxFrames = 32768

	// lengthSlack is room past the end of a length array: a run in the
	// pretree-coded lengths can spill over the end of the range it fills
	// by up to 50 entries, and the reference decoder keeps what spills
	// (the first half of the main tree spills into the second).
	lengthSlack = 64
)

// LZX block types.
const (
	blockVerbatim     = 1
	blockAligned      = 2
	blockUncompressed = 3
)

// positionSlots gives, for window bits 15 to 21, how many position slots
// the main tree has: enough for the position bases to cover the window.
var positionSlots = [MaxWindowBits - MinWindowBits + 1]int{30, 32, 34, 36, 38, 42, 50}

// footerBits[s] is the number of offset bits that follow position slot s,
// and positionBase[s] the smallest formatted offset (offset + 2) it codes.
// Slots 0 to 2 stand for the repeated offsets R0, R1, R2. Sized 64 so
// that indexing with a masked slot needs no bounds check.
var footerBits, positionBase = slotTables()

func slotTables() (bits [64]uint8, base [64]uint32) {
	for s := 0; s < maxPositionSlots; s++ {
		switch {
		case s < 4:
			bits[s] = 0
		case s < 36:
			bits[s] = uint8(s/2 - 1)
		default:
			bits[s] = 17
		}
		if s > 0 {
			base[s] = base[s-1] + 1<<bits[s-1]
		}
	}
	return bits, base
}

// ErrCorrupt is matched (errors.Is) by every error that decoding returns.
var ErrCorrupt = errors.New("lzx: corrupt stream")

// ErrWindow is matched by the error NewDecoder and Encode return for a
// window size outside MinWindowBits..MaxWindowBits. That error matches
// ErrCorrupt too: a cabinet folder that names such a window can't be read.
var ErrWindow = errors.New("lzx: unsupported window size")

// corruption ends the text of every decoding error and makes it match
// ErrCorrupt, so that messages read "lzx: frame 3: <what>: corrupt stream".
type corruption struct{}

func (corruption) Error() string        { return "corrupt stream" }
func (corruption) Is(target error) bool { return target == ErrCorrupt }

type windowError int

func (e windowError) Error() string {
	return fmt.Sprintf("lzx: window bits %d not in %d..%d", int(e), MinWindowBits, MaxWindowBits)
}

func (e windowError) Is(target error) bool { return target == ErrWindow || target == ErrCorrupt }

func checkWindowBits(windowBits int) error {
	if windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return windowError(windowBits)
	}
	return nil
}
