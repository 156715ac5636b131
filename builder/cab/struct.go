package cab

import (
	"errors"
	"io/fs"
	"path"
	"time"
)

// Sentinel errors. Every error the package returns for bad input wraps one
// of them (or [io.ErrUnexpectedEOF] when a cabinet ends early), together
// with where the problem was found.
var (
	// ErrFormat reports a cabinet that breaks the format: a bad
	// signature, a count the file cannot hold, an offset out of range, a
	// truncated structure.
	ErrFormat = errors.New("cab: not a valid cabinet")
	// ErrChecksum reports a CFDATA block whose checksum does not match.
	ErrChecksum = errors.New("cab: checksum error")
	// ErrAlgorithm reports a compression method the reader does not
	// support, or a compressed stream it cannot decode.
	ErrAlgorithm = errors.New("cab: unsupported compression method")
	// ErrInsecurePath reports a file name that is not safe to create on
	// disk as is: absolute, with "..", a drive letter, a UNC prefix, a
	// device name or a control character. The file can still be listed
	// and read; [Reader.Open] does not offer it.
	ErrInsecurePath = errors.New("cab: insecure file path")
)

// Method is a folder's compression method, the low four bits of its
// typeCompress field.
type Method uint16

// The compression methods of the cabinet format.
const (
	None    Method = 0
	MSZIP   Method = 1
	Quantum Method = 2
	LZX     Method = 3
)

func (m Method) String() string {
	switch m {
	case None:
		return "none"
	case MSZIP:
		return "mszip"
	case Quantum:
		return "quantum"
	case LZX:
		return "lzx"
	}
	return "unknown"
}

// File attribute bits of a CFFILE entry.
const (
	AttrReadOnly = 0x01
	AttrHidden   = 0x02
	AttrSystem   = 0x04
	AttrArchive  = 0x20
	AttrExec     = 0x40
	// AttrNameUTF8 says the name is UTF-8; without it the reader decodes
	// the name as Latin-1 (ISO 8859-1), since the code page a cabinet was
	// written in is not recorded.
	AttrNameUTF8 = 0x80
)

// Format limits.
const (
	headerSize = 36
	folderSize = 8
	fileSize   = 16
	dataSize   = 8

	// maxFrame is the most a CFDATA block may decompress to: the format
	// fixes 32 KiB frames for every method.
	maxFrame = 32 << 10
	// maxInput is the most compressed data one CFDATA block may hold:
	// a frame plus the worst expansion the methods allow, as cabinet.dll
	// accepts.
	maxInput = maxFrame + 6144
	// maxName is the longest name the format allows, without its NUL.
	maxName = 255
	// maxHeaderReserve is the largest per-cabinet reserve area the format
	// allows.
	maxHeaderReserve = 60000
)

// Header flags.
const (
	flagPrevCabinet    = 0x0001
	flagNextCabinet    = 0x0002
	flagReservePresent = 0x0004
)

// Special folder indices of CFFILE entries that span cabinets.
const (
	ifoldContinuedFromPrev    = 0xFFFD
	ifoldContinuedToNext      = 0xFFFE
	ifoldContinuedPrevAndNext = 0xFFFF
)

// FileHeader describes a file in a cabinet.
type FileHeader struct {
	// Name is the file's name with "/" as separator (cabinets store "\").
	// It is reported as stored: check it before creating files from it;
	// [Reader.Open] only offers names that pass [ValidName].
	Name string
	// Size is the uncompressed size the cabinet declares. A reader never
	// yields more bytes than this.
	Size int64
	// Modified is the MS-DOS date and time of the file. Cabinets record
	// no time zone; the wall-clock value is reported in UTC.
	Modified time.Time
	// Attributes holds the Attr* bits.
	Attributes uint16
	// Method is the compression method of the folder holding the file.
	Method Method

	folder int   // index into Reader.folders, or -1 when unusable
	offset int64 // offset of the file in the folder's uncompressed data
	bad    error // why the file cannot be read (incomplete set), if so
}

// FileInfo returns an fs.FileInfo for the file.
func (h *FileHeader) FileInfo() fs.FileInfo { return headerFileInfo{h} }

// Mode returns the file's permission bits derived from its attributes.
func (h *FileHeader) Mode() fs.FileMode {
	mode := fs.FileMode(0o644)
	if h.Attributes&AttrReadOnly != 0 {
		mode = 0o444
	}
	if h.Attributes&AttrExec != 0 {
		mode |= 0o111
	}
	return mode
}

type headerFileInfo struct{ fh *FileHeader }

func (fi headerFileInfo) Name() string       { return path.Base(fi.fh.Name) }
func (fi headerFileInfo) Size() int64        { return fi.fh.Size }
func (fi headerFileInfo) IsDir() bool        { return false }
func (fi headerFileInfo) ModTime() time.Time { return fi.fh.Modified }
func (fi headerFileInfo) Mode() fs.FileMode  { return fi.fh.Mode() }
func (fi headerFileInfo) Sys() any           { return fi.fh }

// dosTime converts an MS-DOS date and time to a time in UTC.
func dosTime(date, tm uint16) time.Time {
	return time.Date(
		int(date>>9)+1980, time.Month(date>>5&0xf), int(date&0x1f),
		int(tm>>11), int(tm>>5&0x3f), int(tm&0x1f)*2, 0, time.UTC)
}

// toDOSTime converts t to an MS-DOS date and time, clamped to the range
// the format can hold (1980 to 2107).
func toDOSTime(t time.Time) (date, tm uint16) {
	if t.IsZero() || t.Year() < 1980 {
		return 0<<9 | 1<<5 | 1, 0
	}
	if t.Year() > 2107 {
		return 127<<9 | 12<<5 | 31, 23<<11 | 59<<5 | 29
	}
	date = uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day())
	tm = uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2)
	return date, tm
}
