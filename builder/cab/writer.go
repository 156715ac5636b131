package cab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/duws/duws/builder/cab/internal/lzx"
	"github.com/klauspost/compress/flate"
)

// Writer writes a cabinet. Files are added with [Writer.Create] or
// [Writer.CreateHeader] into the current folder; [Writer.NewFolder] starts
// another folder, with its own compression method. The whole cabinet is
// assembled in memory and written by [Writer.Close], because its header
// records counts and offsets that are known only at the end: the Writer
// is meant for update packages, tests and examples, not for archives
// larger than memory.
//
// The output is deterministic: the same calls give the same bytes.
type Writer struct {
	w       io.Writer
	folders []*wfolder
	files   []wfile
	open    *fileWriter
	closed  bool
	level   int
	zw      *flate.Writer
	zbuf    bytes.Buffer
	setID   uint16
}

type wfolder struct {
	method  Method
	raw     []byte // LZX: the folder's data, encoded as a whole on close
	blocks  []wblock
	pending []byte // uncompressed data not yet made a block
	size    int64  // uncompressed bytes so far
	hist    []byte // last output, the MSZIP history of the next block
}

type wblock struct {
	data     []byte
	uncomp   int
	checksum uint32
}

type wfile struct {
	name   []byte
	size   int64
	offset int64
	folder int
	date   uint16
	time   uint16
	attrs  uint16
}

// Writer limits the format imposes.
const (
	maxCount      = 0xFFFF    // folders, files, and blocks per folder
	maxFileSize   = 1<<32 - 1 // cbFile and uoffFolderStart are 32-bit
	maxCabinetLen = 1<<32 - 1
)

// NewWriter returns a Writer writing a cabinet to w. Files go into an
// MSZIP folder unless [Writer.NewFolder] says otherwise first.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, level: flate.DefaultCompression}
}

// SetLevel sets the deflate level (1 to 9) of MSZIP folders.
func (w *Writer) SetLevel(level int) error {
	if level < flate.BestSpeed || level > flate.BestCompression {
		return fmt.Errorf("cab: deflate level %d out of range 1..9", level)
	}
	w.level = level
	w.zw = nil
	return nil
}

// SetID sets the set identifier recorded in the header.
func (w *Writer) SetID(id uint16) { w.setID = id }

// lzxWindowBits is the window of the LZX folders the writer makes: the
// largest, 2 MiB, as Microsoft's tools use for update packages.
const lzxWindowBits = 21

// NewFolder starts a new folder compressed with m; the files created
// after it are stored in it. None, MSZIP and LZX are supported; LZX uses a
// simple encoder (greedy matching) meant for tests and benchmarks, and
// keeps the folder's data in memory until the cabinet is closed.
func (w *Writer) NewFolder(m Method) error {
	if w.closed {
		return errors.New("cab: writer closed")
	}
	if m != None && m != MSZIP && m != LZX {
		return fmt.Errorf("cab: writer: method %s: %w", m, ErrAlgorithm)
	}
	if err := w.finishFile(); err != nil {
		return err
	}
	if len(w.folders) > 0 {
		if err := w.flushFolder(w.folders[len(w.folders)-1]); err != nil {
			return err
		}
	}
	if len(w.folders) == maxCount {
		return fmt.Errorf("cab: writer: more than %d folders", maxCount)
	}
	w.folders = append(w.folders, &wfolder{method: m})
	return nil
}

// typeCompress is the folder's typeCompress field.
func (fo *wfolder) typeCompress() uint16 {
	if fo.method == LZX {
		return uint16(LZX) | lzxWindowBits<<8
	}
	return uint16(fo.method)
}

// Create adds a file with the given name ("/" or "\" as separator) and
// returns a writer for its contents, valid until the next call on w.
func (w *Writer) Create(name string) (io.Writer, error) {
	return w.CreateHeader(&FileHeader{Name: name})
}

// CreateHeader adds a file described by fh: its Name, Modified time
// (1980-01-01 when zero) and Attributes. Size is counted as data is
// written. Names that are not ASCII are stored as UTF-8 and flagged so.
func (w *Writer) CreateHeader(fh *FileHeader) (io.Writer, error) {
	if w.closed {
		return nil, errors.New("cab: writer closed")
	}
	if err := w.finishFile(); err != nil {
		return nil, err
	}
	name := strings.ReplaceAll(fh.Name, "/", `\`)
	switch {
	case name == "":
		return nil, errors.New("cab: writer: empty file name")
	case len(name) > maxName:
		return nil, fmt.Errorf("cab: writer: name %q longer than %d bytes", fh.Name, maxName)
	case strings.IndexByte(name, 0) >= 0 || !utf8.ValidString(name):
		return nil, fmt.Errorf("cab: writer: name %q is not valid UTF-8 text", fh.Name)
	}
	if len(w.files) == maxCount {
		return nil, fmt.Errorf("cab: writer: more than %d files", maxCount)
	}
	if len(w.folders) == 0 {
		if err := w.NewFolder(MSZIP); err != nil {
			return nil, err
		}
	}
	attrs := fh.Attributes &^ AttrNameUTF8
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			attrs |= AttrNameUTF8
			break
		}
	}
	date, tm := toDOSTime(fh.Modified)
	fo := w.folders[len(w.folders)-1]
	w.files = append(w.files, wfile{
		name: []byte(name), offset: fo.size, folder: len(w.folders) - 1,
		date: date, time: tm, attrs: attrs,
	})
	w.open = &fileWriter{w: w, f: &w.files[len(w.files)-1], fo: fo}
	return w.open, nil
}

type fileWriter struct {
	w  *Writer
	f  *wfile
	fo *wfolder
}

func (fw *fileWriter) Write(p []byte) (int, error) {
	if fw.w.open != fw {
		return 0, errors.New("cab: write to a file after the next was created")
	}
	if fw.f.size+int64(len(p)) > maxFileSize || fw.fo.size+int64(len(p)) > maxFileSize {
		return 0, fmt.Errorf("cab: writer: file %q or its folder exceeds 4 GiB", fw.f.name)
	}
	n := 0
	for len(p) > 0 {
		k := min(len(p), maxFrame-len(fw.fo.pending))
		fw.fo.pending = append(fw.fo.pending, p[:k]...)
		p = p[k:]
		n += k
		fw.f.size += int64(k)
		fw.fo.size += int64(k)
		if len(fw.fo.pending) == maxFrame {
			if fw.fo.method == LZX {
				fw.fo.raw = append(fw.fo.raw, fw.fo.pending...)
				fw.fo.pending = fw.fo.pending[:0]
				continue
			}
			if err := fw.w.flushBlock(fw.fo); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *Writer) finishFile() error {
	w.open = nil
	return nil
}

func (w *Writer) flushFolder(fo *wfolder) error {
	if fo.method == LZX {
		fo.raw = append(fo.raw, fo.pending...)
		fo.pending = nil
		if len(fo.raw) == 0 {
			return nil
		}
		blocks, sizes, err := lzx.Encode(fo.raw, lzxWindowBits, true)
		if err != nil {
			return fmt.Errorf("cab: writer: %w", err)
		}
		if len(blocks) > maxCount {
			return fmt.Errorf("cab: writer: folder needs more than %d blocks", maxCount)
		}
		for i, b := range blocks {
			if len(b) > maxInput {
				return fmt.Errorf("cab: writer: LZX frame compressed to %d bytes", len(b))
			}
			var sz [4]byte
			binary.LittleEndian.PutUint16(sz[0:], uint16(len(b)))
			binary.LittleEndian.PutUint16(sz[2:], uint16(sizes[i]))
			fo.blocks = append(fo.blocks, wblock{data: b, uncomp: sizes[i], checksum: blockChecksum(sz[:], b)})
		}
		fo.raw = nil
		return nil
	}
	if len(fo.pending) > 0 {
		return w.flushBlock(fo)
	}
	return nil
}

// flushBlock turns the folder's pending data into a CFDATA block.
func (w *Writer) flushBlock(fo *wfolder) error {
	if len(fo.blocks) == maxCount {
		return fmt.Errorf("cab: writer: folder %d needs more than %d blocks", len(w.folders)-1, maxCount)
	}
	raw := fo.pending
	var data []byte
	switch fo.method {
	case None:
		data = bytes.Clone(raw)
	case MSZIP:
		w.zbuf.Reset()
		w.zbuf.WriteString("CK")
		if w.zw == nil {
			zw, err := flate.NewWriter(&w.zbuf, w.level)
			if err != nil {
				return err
			}
			w.zw = zw
		}
		// Each block is a complete deflate stream that may refer to the
		// previous block's data, as cabinet.dll writes them.
		w.zw.ResetDict(&w.zbuf, fo.hist)
		if _, err := w.zw.Write(raw); err != nil {
			return err
		}
		if err := w.zw.Close(); err != nil {
			return err
		}
		if w.zbuf.Len() > maxInput {
			return fmt.Errorf("cab: writer: block compressed to %d bytes", w.zbuf.Len())
		}
		data = bytes.Clone(w.zbuf.Bytes())
		fo.hist = append(fo.hist[:0], raw...)
	}
	var sizes [4]byte
	binary.LittleEndian.PutUint16(sizes[0:], uint16(len(data)))
	binary.LittleEndian.PutUint16(sizes[2:], uint16(len(raw)))
	fo.blocks = append(fo.blocks, wblock{data: data, uncomp: len(raw), checksum: blockChecksum(sizes[:], data)})
	fo.pending = fo.pending[:0]
	return nil
}

// Close writes the cabinet. It does not close the underlying writer.
func (w *Writer) Close() error {
	if w.closed {
		return errors.New("cab: writer closed")
	}
	w.closed = true
	if len(w.files) == 0 {
		return errors.New("cab: writer: a cabinet needs at least one file")
	}
	for _, fo := range w.folders {
		if err := w.flushFolder(fo); err != nil {
			return err
		}
	}
	le := binary.LittleEndian
	// Layout: header, folder table, file table, then each folder's blocks.
	off := int64(headerSize + folderSize*len(w.folders))
	coffFiles := off
	for _, f := range w.files {
		off += fileSize + int64(len(f.name)) + 1
	}
	starts := make([]int64, len(w.folders))
	for i, fo := range w.folders {
		starts[i] = off
		for _, b := range fo.blocks {
			off += dataSize + int64(len(b.data))
		}
	}
	if off > maxCabinetLen {
		return fmt.Errorf("cab: writer: cabinet of %d bytes exceeds 4 GiB", off)
	}
	var buf bytes.Buffer
	h := make([]byte, headerSize)
	copy(h, "MSCF")
	le.PutUint32(h[8:], uint32(off))
	le.PutUint32(h[16:], uint32(coffFiles))
	h[24], h[25] = 3, 1 // format version 1.3
	le.PutUint16(h[26:], uint16(len(w.folders)))
	le.PutUint16(h[28:], uint16(len(w.files)))
	le.PutUint16(h[32:], w.setID)
	buf.Write(h)
	for i, fo := range w.folders {
		var e [folderSize]byte
		le.PutUint32(e[0:], uint32(starts[i]))
		le.PutUint16(e[4:], uint16(len(fo.blocks)))
		le.PutUint16(e[6:], fo.typeCompress())
		buf.Write(e[:])
	}
	for _, f := range w.files {
		var e [fileSize]byte
		le.PutUint32(e[0:], uint32(f.size))
		le.PutUint32(e[4:], uint32(f.offset))
		le.PutUint16(e[8:], uint16(f.folder))
		le.PutUint16(e[10:], f.date)
		le.PutUint16(e[12:], f.time)
		le.PutUint16(e[14:], f.attrs)
		buf.Write(e[:])
		buf.Write(f.name)
		buf.WriteByte(0)
	}
	if _, err := w.w.Write(buf.Bytes()); err != nil {
		return err
	}
	for _, fo := range w.folders {
		for _, b := range fo.blocks {
			var e [dataSize]byte
			le.PutUint32(e[0:], b.checksum)
			le.PutUint16(e[4:], uint16(len(b.data)))
			le.PutUint16(e[6:], uint16(b.uncomp))
			if _, err := w.w.Write(e[:]); err != nil {
				return err
			}
			if _, err := w.w.Write(b.data); err != nil {
				return err
			}
		}
	}
	return nil
}
