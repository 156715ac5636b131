package cab

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"runtime"
)

// segmentBuffer is how much of a cabinet a folder reader reads ahead.
// Large enough that a 32 KiB block rarely needs its own system call.
const segmentBuffer = 256 << 10

// frameDecoder decodes the CFDATA blocks of one folder, one block at a
// time; its state carries over from block to block within the folder.
type frameDecoder interface {
	// DecodeFrame decodes src, one block's payload, into dst, whose
	// length is the block's declared uncompressed size.
	DecodeFrame(dst, src []byte) error
	// Reset prepares the decoder for the start of a folder.
	Reset()
}

// folderReader decodes a folder's blocks in order and serves the
// uncompressed data as a stream.
type folderReader struct {
	f   *folder
	pos int64 // folder offset of out[rd]

	seg, blk int // next block: segment and block within it
	block    int // blocks read so far in the folder, for messages
	br       *bufio.Reader
	sec      io.SectionReader

	in     []byte // compressed input of the current block
	outBuf []byte
	out    []byte // decoded data of the current block
	rd     int

	comp uint16
	dec  frameDecoder
	err  error // sticky
}

func newFolderReader(f *folder) (*folderReader, error) {
	// A small cabinet needs no large read-ahead buffer.
	size := segmentBuffer
	if s := f.segments[0]; len(f.segments) == 1 {
		size = int(min(int64(segmentBuffer), max(s.cab.end-s.offset, 4096)))
	}
	fr := &folderReader{
		br:     bufio.NewReaderSize(nil, size),
		in:     make([]byte, 2*maxInput),
		outBuf: make([]byte, maxFrame),
	}
	if err := fr.reset(f); err != nil {
		return nil, err
	}
	return fr, nil
}

// reset points the reader at the start of folder f, keeping its buffers
// and, for the same method, its decoder.
func (fr *folderReader) reset(f *folder) error {
	if fr.dec == nil || fr.comp != f.comp {
		dec, err := newDecoder(f.comp)
		if err != nil {
			return fmt.Errorf("cab: folder %d: %w", f.index, err)
		}
		fr.dec, fr.comp = dec, f.comp
	} else {
		fr.dec.Reset()
	}
	fr.f = f
	fr.pos, fr.seg, fr.blk, fr.block = 0, 0, 0, 0
	fr.out, fr.rd, fr.err = nil, 0, nil
	fr.startSegment()
	return nil
}

func (fr *folderReader) startSegment() {
	if fr.seg >= len(fr.f.segments) {
		return
	}
	s := fr.f.segments[fr.seg]
	fr.sec = *io.NewSectionReader(s.cab.ra, s.offset, max(s.cab.end-s.offset, 0))
	fr.br.Reset(&fr.sec)
}

// Read implements io.Reader over the folder's uncompressed data.
func (fr *folderReader) Read(p []byte) (int, error) {
	for fr.rd == len(fr.out) {
		if fr.err != nil {
			return 0, fr.err
		}
		if fr.err = fr.next(); fr.err != nil {
			return 0, fr.err
		}
	}
	n := copy(p, fr.out[fr.rd:])
	fr.rd += n
	fr.pos += int64(n)
	return n, nil
}

// skip advances the stream by n bytes, decoding what it passes over.
func (fr *folderReader) skip(n int64) error {
	for n > 0 {
		if fr.rd == len(fr.out) {
			if fr.err != nil {
				return fr.err
			}
			if fr.err = fr.next(); fr.err != nil {
				return fr.err
			}
			continue
		}
		k := min(n, int64(len(fr.out)-fr.rd))
		fr.rd += int(k)
		fr.pos += k
		n -= k
	}
	return nil
}

// next reads and decodes the next block into out. It returns io.EOF at
// the end of the folder.
func (fr *folderReader) next() error {
	have := 0 // bytes of a block split over two cabinets read so far
	for {
		if fr.seg >= len(fr.f.segments) {
			if have > 0 {
				return fr.errf(ErrFormat, "block split at the end of the set")
			}
			if fr.f.missing != nil {
				return fmt.Errorf("cab: folder %d: %w", fr.f.index, fr.f.missing)
			}
			return io.EOF
		}
		s := &fr.f.segments[fr.seg]
		if fr.blk >= s.nblocks {
			fr.seg++
			fr.blk = 0
			fr.startSegment()
			continue
		}
		reserve := s.cab.dataReserve
		var hdr [dataSize + 255]byte
		if _, err := io.ReadFull(fr.br, hdr[:dataSize+reserve]); err != nil {
			return fr.errf(ErrFormat, "header %s: %w", fr.truncated(s.cab), io.ErrUnexpectedEOF)
		}
		csum := binary.LittleEndian.Uint32(hdr[0:])
		cbData := int(binary.LittleEndian.Uint16(hdr[4:]))
		cbUncomp := int(binary.LittleEndian.Uint16(hdr[6:]))
		if cbData > maxInput {
			return fr.errf(ErrFormat, "%d bytes of data exceed %d", cbData, maxInput)
		}
		data := fr.in[have : have+cbData]
		if _, err := io.ReadFull(fr.br, data); err != nil {
			return fr.errf(ErrFormat, "data %s: %w", fr.truncated(s.cab), io.ErrUnexpectedEOF)
		}
		if csum != 0 && blockChecksum(hdr[4:8], data) != csum {
			return fr.errf(ErrChecksum, "stored %#08x", csum)
		}
		fr.blk++
		fr.block++
		have += cbData
		if cbUncomp == 0 {
			// Only the last block of a cabinet's part of a folder may be
			// split, its data continuing in the next cabinet.
			if fr.blk == s.nblocks && fr.seg+1 < len(fr.f.segments) && have <= maxInput {
				continue
			}
			if fr.blk == s.nblocks && fr.seg+1 == len(fr.f.segments) && fr.f.missing != nil {
				return fmt.Errorf("cab: folder %d: %w", fr.f.index, fr.f.missing)
			}
			return fr.errf(ErrFormat, "block declares no data")
		}
		if cbUncomp > maxFrame {
			return fr.errf(ErrFormat, "block of %d bytes exceeds %d", cbUncomp, maxFrame)
		}
		src := fr.in[:have]
		if fr.comp&0xf == uint16(None) {
			if len(src) != cbUncomp {
				return fr.errf(ErrFormat, "stored block of %d bytes declares %d", len(src), cbUncomp)
			}
			fr.out = src
		} else {
			fr.out = fr.outBuf[:cbUncomp]
			if err := fr.dec.DecodeFrame(fr.out, src); err != nil {
				fr.out = nil
				return fr.errf(ErrFormat, "%w", err)
			}
		}
		fr.rd = 0
		return nil
	}
}

// truncated describes a block that ends past the data cabinet c may use:
// the file is shorter than the cabinet declares, or the block runs past
// the cabinet's declared end.
func (fr *folderReader) truncated(c *Cabinet) string {
	if c.missing > 0 {
		return "truncated" + truncatedBy(c.missing)
	}
	return "truncated: runs past the cabinet's declared end"
}

func (fr *folderReader) errf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("cab: folder %d block %d: %w: %w", fr.f.index, fr.block, fmt.Errorf(format, args...), sentinel)
}

// maxIdle bounds the decoders a Reader keeps parked between files.
func maxIdle() int { return 2 * runtime.GOMAXPROCS(0) }

// acquire returns a folder reader positioned at offset in folder f,
// reusing a parked one that has not passed that offset when it can. When
// decoding the data before offset fails, it also returns the folder
// offset of the block that failed; else -1.
func (r *Reader) acquire(f *folder, offset int64) (*folderReader, int64, error) {
	r.mu.Lock()
	if f.failErr != nil && offset >= f.failPos {
		pos, err := f.failPos, f.failErr
		r.mu.Unlock()
		return nil, pos, err
	}
	var fr *folderReader
	best := -1
	for i, c := range r.idleList {
		if c.f == f && c.pos <= offset && (best < 0 || c.pos > r.idleList[best].pos) {
			best = i
		}
	}
	if best < 0 && len(r.idleList) >= maxIdle() {
		best = 0 // recycle the oldest parked reader's buffers
	}
	if best >= 0 {
		fr = r.idleList[best]
		r.idleList = append(r.idleList[:best], r.idleList[best+1:]...)
	}
	r.mu.Unlock()
	var err error
	switch {
	case fr == nil:
		fr, err = newFolderReader(f)
	case fr.f != f || fr.pos > offset:
		err = fr.reset(f)
	}
	if err != nil {
		return nil, -1, err
	}
	if err := fr.skip(offset - fr.pos); err != nil {
		r.failed(fr)
		return nil, fr.pos, err
	}
	return fr, -1, nil
}

// failed records the failure of a folder reader, when it is the first or
// the earliest in its folder.
func (r *Reader) failed(fr *folderReader) {
	if fr.err == nil || fr.err == io.EOF {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if f := fr.f; f.failErr == nil || fr.pos < f.failPos {
		f.failPos, f.failErr = fr.pos, fr.err
	}
}

// skipError reports the failure to decode, at folder offset pos, the data
// before file f against the file whose bytes were being decoded, so that
// a truncation inside one file is not taken for a fault of the next.
func (r *Reader) skipError(f *File, pos int64, err error) error {
	for _, o := range r.File {
		if o.folder == f.folder && o != f && o.Size > 0 && o.offset <= pos && pos < o.offset+o.Size {
			return fmt.Errorf("cab: file %q: decoding the data of %q before it: %w", f.Name, o.Name, err)
		}
	}
	return fmt.Errorf("cab: file %q: decoding folder %d up to offset %d: %w", f.Name, f.folder, f.offset, err)
}

// release parks a healthy folder reader for a later file of its folder.
func (r *Reader) release(fr *folderReader) {
	if fr.err != nil && fr.err != io.EOF {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.idleList) >= maxIdle() {
		r.idleList = r.idleList[1:]
	}
	r.idleList = append(r.idleList, fr)
}

// Open returns a reader of the file's contents. Files may be read
// concurrently; the files of one folder are read fastest in order.
func (f *File) Open() (io.ReadCloser, error) {
	if f.bad != nil {
		return nil, f.bad
	}
	fo := f.r.folders[f.folder]
	fr, pos, err := f.r.acquire(fo, f.offset)
	if err != nil {
		if err == io.EOF {
			err = fmt.Errorf("cab: file %q: starts at %d, past the end of folder %d: %w", f.Name, f.offset, fo.index, ErrFormat)
		} else if pos >= 0 && pos < f.offset {
			err = f.r.skipError(f, pos, err)
		}
		return nil, err
	}
	return &fileReader{r: f.r, fr: fr, f: f, remaining: f.Size}, nil
}

type fileReader struct {
	r         *Reader
	fr        *folderReader
	f         *File
	remaining int64
	err       error
}

func (fr *fileReader) Read(p []byte) (int, error) {
	if fr.err != nil {
		return 0, fr.err
	}
	if fr.remaining == 0 {
		fr.done(io.EOF)
		return 0, io.EOF
	}
	if int64(len(p)) > fr.remaining {
		p = p[:fr.remaining]
	}
	n, err := fr.fr.Read(p)
	fr.remaining -= int64(n)
	if err == io.EOF {
		err = fr.short()
	}
	if err != nil {
		fr.done(err)
		return n, err
	}
	if fr.remaining == 0 {
		fr.done(io.EOF)
	}
	return n, nil
}

// short reports a folder that ended before the file did.
func (fr *fileReader) short() error {
	return fmt.Errorf("cab: file %q: folder %d ends %d bytes short: %w: %w",
		fr.f.Name, fr.f.folder, fr.remaining, io.ErrUnexpectedEOF, ErrFormat)
}

// WriteTo writes the file's contents to w without an intermediate buffer.
func (fr *fileReader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for fr.err == nil && fr.remaining > 0 {
		f := fr.fr
		if f.rd == len(f.out) {
			if f.err == nil {
				f.err = f.next()
			}
			if f.err != nil {
				err := f.err
				if err == io.EOF {
					err = fr.short()
				}
				fr.done(err)
				return total, err
			}
			continue
		}
		chunk := f.out[f.rd:min(len(f.out), f.rd+int(min(fr.remaining, maxFrame)))]
		n, err := w.Write(chunk)
		f.rd += n
		f.pos += int64(n)
		fr.remaining -= int64(n)
		total += int64(n)
		if err != nil {
			fr.err = err // the folder reader is fine: it can be parked
			fr.r.release(f)
			fr.fr = nil
			return total, err
		}
	}
	if fr.remaining == 0 && fr.err == nil {
		fr.done(io.EOF)
	}
	return total, nil
}

// done ends the read with err and parks the folder reader when it is
// still usable.
func (fr *fileReader) done(err error) {
	fr.err = err
	if fr.fr != nil {
		fr.r.failed(fr.fr)
		fr.r.release(fr.fr)
		fr.fr = nil
	}
}

func (fr *fileReader) Close() error {
	if fr.fr != nil {
		fr.done(errClosed)
	} else if fr.err == nil {
		fr.err = errClosed
	}
	return nil
}

var errClosed = fmt.Errorf("cab: read of closed file")
