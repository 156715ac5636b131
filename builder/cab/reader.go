package cab

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Reader serves the files of one cabinet or of a cabinet set. Its
// methods may be called from several goroutines at once, and several
// files may be read concurrently.
type Reader struct {
	// File lists the files of the cabinet or set in the order the
	// cabinets record them. A file that spans cabinets is listed once.
	File []*File
	// Cabinets describes each cabinet of the set, in set order.
	Cabinets []*Cabinet

	folders []*folder

	mu       sync.Mutex
	idleList []*folderReader // parked decoders, oldest first

	fsOnce  sync.Once
	fsIndex *fsIndex
}

// Cabinet describes one cabinet file of a set.
type Cabinet struct {
	// Name is the name the cabinet was opened by, or the name another
	// cabinet of the set refers to it by.
	Name string
	// Offset is where the cabinet's header starts in its file; non-zero
	// for a cabinet embedded in another file, such as a self-extracting
	// program.
	Offset int64
	// Size is the cabinet size its header declares.
	Size int64
	// Version is the format version (major, minor); 1.3 in practice.
	Version [2]uint8
	// SetID and Index place the cabinet in its set.
	SetID, Index uint16
	// Prev and Next name the neighbouring cabinets of a set, with the
	// names of the disks they were on; empty when there is none.
	Prev, PrevDisk, Next, NextDisk string
	// Reserve is the per-cabinet reserve area (code signing data, for
	// instance), nil when absent.
	Reserve []byte

	ra          io.ReaderAt
	end         int64 // end of the data this cabinet may use
	missing     int64 // bytes of the declared size past the end of the file
	dataReserve int
	folders     []rawFolder
	files       []rawFile
}

type rawFolder struct {
	offset  int64 // absolute offset of the first CFDATA
	nblocks int
	comp    uint16
	index   int // index within its cabinet, for messages
}

type rawFile struct {
	hdr   FileHeader
	ifold uint16
}

// File is a file in a cabinet.
type File struct {
	FileHeader
	r *Reader
}

// FolderIndex returns the index of the folder holding the file. Files of
// one folder are decoded most cheaply in order, one after another; files
// of different folders are independent.
func (f *File) FolderIndex() int { return f.folder }

// ReadCloser is a [Reader] that must be closed when no longer needed.
type ReadCloser struct {
	Reader
	files []*os.File
}

// Close closes the cabinet files. Files still open must not be read after
// it.
func (rc *ReadCloser) Close() error {
	rc.mu.Lock()
	for _, fr := range rc.idleList {
		recycle(fr)
	}
	rc.idleList = nil
	rc.mu.Unlock()
	var first error
	for _, f := range rc.files {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// NewReader reads the cabinet held in r, which is size bytes long. When r
// does not start with a cabinet header, it is searched for the first valid
// one, so that the cabinet inside a self-extracting program is found.
// A cabinet that belongs to a set is read alone: files that continue into
// cabinets not given report an error when opened. Use [NewSetReader] or
// [OpenReader] to read a whole set.
func NewReader(ra io.ReaderAt, size int64) (r *Reader, err error) {
	c, err := findCabinet(ra, size, "")
	if err != nil {
		return nil, err
	}
	r = &Reader{}
	if err := r.init([]*Cabinet{c}); err != nil {
		return nil, err
	}
	return r, nil
}

// NewReaderAt reads the cabinet whose header starts at offset off of r,
// which is size bytes long: one of the offsets [Search] returns, for
// instance. Like [NewReader], it reads the cabinet alone, without the rest
// of its set.
func NewReaderAt(ra io.ReaderAt, size, off int64) (*Reader, error) {
	if off < 0 || off >= size {
		return nil, fmt.Errorf("cab: offset %d outside a file of %d bytes: %w", off, size, ErrFormat)
	}
	c, err := parseCabinet(ra, size, off, "")
	if err != nil {
		return nil, err
	}
	r := &Reader{}
	if err := r.init([]*Cabinet{c}); err != nil {
		return nil, err
	}
	return r, nil
}

// NewReaders reads every cabinet held in r, which is size bytes long, in
// the order they appear: a file made by concatenating cabinets, or a
// program carrying several. Each cabinet is read alone, as [NewReader]
// reads one; its Reader's Cabinets[0].Offset says where in r it starts.
// Cabinets are found as [Search] finds them, so data between them (a
// truncated or damaged cabinet header, padding) is skipped. A file holding
// one cabinet gives one Reader; a file holding none, the error [NewReader]
// gives.
func NewReaders(ra io.ReaderAt, size int64) ([]*Reader, error) {
	offs, err := Search(ra, size, 0)
	if err != nil {
		return nil, err
	}
	if len(offs) == 0 {
		_, err := NewReader(ra, size)
		return nil, err
	}
	rs := make([]*Reader, 0, len(offs))
	for _, off := range offs {
		r, err := NewReaderAt(ra, size, off)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	return rs, nil
}

// OpenRaw returns the bytes of the cabinet c, from its header on, as its
// header declares them, but never past the end of its file: for a cabinet
// embedded in a larger file, such as a self-extracting program, exactly the
// cabinet, to be stored or hashed without re-reading the file around it.
// Like archive/zip's File.OpenRaw, it reads without decompressing or
// checking anything.
func (c *Cabinet) OpenRaw() *io.SectionReader {
	return io.NewSectionReader(c.ra, c.Offset, c.end-c.Offset)
}

// OpenRaw returns the bytes of the reader's cabinet, as [Cabinet.OpenRaw]
// does; for a set, those of its first cabinet (each cabinet of a set has
// its own in Cabinets).
func (r *Reader) OpenRaw() *io.SectionReader { return r.Cabinets[0].OpenRaw() }

// Part is one cabinet of a set given to [NewSetReader].
type Part struct {
	Name string
	R    io.ReaderAt
	Size int64
}

// NewSetReader reads a cabinet set from its cabinets, given in set order.
func NewSetReader(parts []Part) (*Reader, error) {
	cabs, err := findCabinets(parts)
	if err != nil {
		return nil, err
	}
	r := &Reader{}
	if err := r.init(cabs); err != nil {
		return nil, err
	}
	return r, nil
}

func findCabinets(parts []Part) ([]*Cabinet, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("cab: empty cabinet set: %w", ErrFormat)
	}
	cabs := make([]*Cabinet, 0, len(parts))
	for _, p := range parts {
		c, err := findCabinet(p.R, p.Size, p.Name)
		if err != nil {
			return nil, err
		}
		cabs = append(cabs, c)
	}
	return cabs, nil
}

// findCabinet parses the cabinet at the start of r or, when r does not
// start with one, the first valid cabinet found by searching.
func findCabinet(r io.ReaderAt, size int64, name string) (*Cabinet, error) {
	var sig [4]byte
	if _, err := r.ReadAt(sig[:], 0); err != nil && size >= 4 {
		return nil, fmt.Errorf("cab: %s: %w", where(name, 0), err)
	}
	c, err := parseCabinet(r, size, 0, name)
	if err == nil {
		return c, nil
	}
	offs, serr := Search(r, size, 1)
	if serr != nil {
		return nil, serr
	}
	if len(offs) == 0 {
		if string(sig[:]) == "MSCF" {
			return nil, err // the cabinet's own problem says most
		}
		return nil, fmt.Errorf("cab: %sno cabinet found: %w", prefix(name), ErrFormat)
	}
	return parseCabinet(r, size, offs[0], name)
}

// searchChunk is how much of a file Search reads at a time.
const searchChunk = 1 << 20

// Search returns the offsets of up to limit cabinets embedded in r (all
// of them when limit <= 0), found by looking for a header signature that
// starts a cabinet which parses. It finds, for instance, the cabinet
// inside a self-extracting program. The body of each cabinet found is
// skipped, so a cabinet stored inside another is not reported.
func Search(r io.ReaderAt, size int64, limit int) ([]int64, error) {
	var offs []int64
	buf := make([]byte, min(searchChunk, max(size, headerSize)))
	for pos := int64(0); pos+headerSize <= size; {
		n, err := r.ReadAt(buf, pos)
		if n < len(buf) && err != nil && err != io.EOF {
			return offs, fmt.Errorf("cab: search at offset %d: %w", pos, err)
		}
		j := bytes.Index(buf[:n], []byte("MSCF"))
		if j < 0 {
			if n < 4 {
				break
			}
			pos += int64(n - 3) // a signature may straddle chunks
			continue
		}
		off := pos + int64(j)
		c, err := parseCabinet(r, size, off, "")
		if err != nil {
			pos = off + 1
			continue
		}
		offs = append(offs, off)
		if limit > 0 && len(offs) >= limit {
			break
		}
		pos = off + max(c.Size, 1)
	}
	return offs, nil
}

// truncatedBy says by how much a cabinet's file is shorter than its header
// declares, as cabextract does, when it is.
func truncatedBy(missing int64) string {
	if missing <= 0 {
		return ""
	}
	return fmt.Sprintf(" (cabinet possibly truncated by %d bytes)", missing)
}

func prefix(name string) string {
	if name == "" {
		return ""
	}
	return name + ": "
}

func where(name string, off int64) string {
	if name == "" {
		return fmt.Sprintf("offset %d", off)
	}
	return fmt.Sprintf("%s: offset %d", name, off)
}

// parseCabinet reads the header, folder and file tables of the cabinet
// whose header starts at base.
func parseCabinet(r io.ReaderAt, size, base int64, name string) (*Cabinet, error) {
	p := &parser{r: r, size: size, name: name}
	var h [headerSize]byte
	if err := p.read(h[:], base, "header"); err != nil {
		return nil, err
	}
	if string(h[:4]) != "MSCF" {
		return nil, p.errf(base, "bad signature %q", h[:4])
	}
	le := binary.LittleEndian
	c := &Cabinet{
		Name:    name,
		Offset:  base,
		Size:    int64(le.Uint32(h[8:])),
		Version: [2]uint8{h[25], h[24]},
		SetID:   le.Uint16(h[32:]),
		Index:   le.Uint16(h[34:]),
		ra:      r,
	}
	coffFiles := int64(le.Uint32(h[16:]))
	nfolders := int(le.Uint16(h[26:]))
	nfiles := int(le.Uint16(h[28:]))
	flags := le.Uint16(h[30:])
	if nfolders == 0 {
		return nil, p.errf(base+26, "no folders")
	}
	if nfiles == 0 {
		return nil, p.errf(base+28, "no files")
	}
	if c.Size < headerSize {
		return nil, p.errf(base+8, "cabinet size %d too small", c.Size)
	}
	// A cabinet may be followed by other data (a signature, another
	// cabinet); it may not extend past the end of its file.
	c.end = min(base+c.Size, size)
	c.missing = max(base+c.Size-size, 0)
	p.missing = c.missing

	off := base + headerSize
	folderReserve := 0
	if flags&flagReservePresent != 0 {
		var rs [4]byte
		if err := p.read(rs[:], off, "reserve sizes"); err != nil {
			return nil, err
		}
		hr := int(le.Uint16(rs[:]))
		folderReserve = int(rs[2])
		c.dataReserve = int(rs[3])
		off += 4
		if hr > maxHeaderReserve {
			return nil, p.errf(off-4, "header reserve of %d bytes exceeds %d", hr, maxHeaderReserve)
		}
		if hr > 0 {
			c.Reserve = make([]byte, hr)
			if err := p.read(c.Reserve, off, "header reserve"); err != nil {
				return nil, err
			}
			off += int64(hr)
		}
	}
	var err error
	if flags&flagPrevCabinet != 0 {
		if c.Prev, off, err = p.str(off, "previous cabinet name"); err != nil {
			return nil, err
		}
		if c.PrevDisk, off, err = p.str(off, "previous disk name"); err != nil {
			return nil, err
		}
	}
	if flags&flagNextCabinet != 0 {
		if c.Next, off, err = p.str(off, "next cabinet name"); err != nil {
			return nil, err
		}
		if c.NextDisk, off, err = p.str(off, "next disk name"); err != nil {
			return nil, err
		}
	}

	// The folder table: its count is trusted only once the file is known
	// to hold that many entries.
	entry := folderSize + folderReserve
	if off+int64(nfolders*entry) > size {
		return nil, p.errf(base+26, "%d folders do not fit in the file%s: %w", nfolders, truncatedBy(p.missing), io.ErrUnexpectedEOF)
	}
	ft := make([]byte, nfolders*entry)
	if err := p.read(ft, off, "folder table"); err != nil {
		return nil, err
	}
	c.folders = make([]rawFolder, nfolders)
	for i := range c.folders {
		e := ft[i*entry:]
		c.folders[i] = rawFolder{
			offset:  base + int64(le.Uint32(e)),
			nblocks: int(le.Uint16(e[4:])),
			comp:    le.Uint16(e[6:]),
			index:   i,
		}
	}
	off += int64(len(ft))
	// Entries hidden between the folder table and the file table would be
	// skipped by some readers and not by others: refuse the ambiguity.
	if base+coffFiles != off {
		return nil, p.errf(base+16, "file table at %d does not follow the folder table ending at %d", coffFiles, off-base)
	}

	// The file table: each entry is at least 17 bytes (16 and a name).
	if off+int64(nfiles*(fileSize+1)) > size {
		return nil, p.errf(base+28, "%d files do not fit in the file%s: %w", nfiles, truncatedBy(p.missing), io.ErrUnexpectedEOF)
	}
	c.files = make([]rawFile, nfiles)
	for i := range c.files {
		var e [fileSize]byte
		if err := p.read(e[:], off, fmt.Sprintf("file entry %d", i)); err != nil {
			return nil, err
		}
		rawName, next, err := p.cstr(off+fileSize, fmt.Sprintf("file entry %d name", i))
		if err != nil {
			return nil, err
		}
		attrs := le.Uint16(e[14:])
		ifold := le.Uint16(e[8:])
		if ifold < ifoldContinuedFromPrev && int(ifold) >= nfolders {
			return nil, p.errf(off+8, "file entry %d: folder %d out of range (%d folders)", i, ifold, nfolders)
		}
		c.files[i] = rawFile{
			ifold: ifold,
			hdr: FileHeader{
				Name:       decodeName(rawName, attrs&AttrNameUTF8 != 0),
				Size:       int64(le.Uint32(e[0:])),
				Modified:   dosTime(le.Uint16(e[10:]), le.Uint16(e[12:])),
				Attributes: attrs,
				offset:     int64(le.Uint32(e[4:])),
			},
		}
		if end := c.files[i].hdr.offset + c.files[i].hdr.Size; end > 1<<32 {
			return nil, p.errf(off, "file entry %d: ends at %d, past the largest folder", i, end)
		}
		off = next
	}
	return c, nil
}

type parser struct {
	r       io.ReaderAt
	size    int64
	name    string
	missing int64 // how far the declared size runs past the file, once known
}

func (p *parser) errf(off int64, format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return fmt.Errorf("cab: %s: %w: %w", where(p.name, off), err, ErrFormat)
}

func (p *parser) read(b []byte, off int64, what string) error {
	if off < 0 || off+int64(len(b)) > p.size {
		return p.errf(off, "%s truncated%s: %w", what, truncatedBy(p.missing), io.ErrUnexpectedEOF)
	}
	n, err := p.r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return p.errf(off, "%s: %w", what, err)
}

// cstr reads a NUL-terminated name of at most maxName bytes at off and
// returns it with the offset after the NUL.
func (p *parser) cstr(off int64, what string) ([]byte, int64, error) {
	buf := make([]byte, min(int64(maxName+1), p.size-off))
	if len(buf) == 0 {
		return nil, 0, p.errf(off, "%s truncated: %w", what, io.ErrUnexpectedEOF)
	}
	if err := p.read(buf, off, what); err != nil {
		return nil, 0, err
	}
	i := bytes.IndexByte(buf, 0)
	if i < 0 {
		if len(buf) <= maxName {
			return nil, 0, p.errf(off, "%s truncated: %w", what, io.ErrUnexpectedEOF)
		}
		return nil, 0, p.errf(off, "%s longer than %d bytes", what, maxName)
	}
	if i == 0 {
		return nil, 0, p.errf(off, "%s is empty", what)
	}
	return buf[:i], off + int64(i) + 1, nil
}

// str reads a NUL-terminated string of the header, which may be empty.
func (p *parser) str(off int64, what string) (string, int64, error) {
	buf := make([]byte, min(int64(maxName+1), p.size-off))
	if len(buf) == 0 {
		return "", 0, p.errf(off, "%s truncated: %w", what, io.ErrUnexpectedEOF)
	}
	if err := p.read(buf, off, what); err != nil {
		return "", 0, err
	}
	i := bytes.IndexByte(buf, 0)
	if i < 0 {
		return "", 0, p.errf(off, "%s not terminated: %w", what, io.ErrUnexpectedEOF)
	}
	return decodeName(buf[:i], false), off + int64(i) + 1, nil
}

// decodeName turns a stored name into a Go string with "/" separators:
// UTF-8 when the cabinet says so (invalid sequences replaced), Latin-1
// otherwise.
func decodeName(b []byte, isUTF8 bool) string {
	var s string
	if isUTF8 {
		s = strings.ToValidUTF8(string(b), "\uFFFD")
	} else {
		ascii := true
		for _, c := range b {
			if c >= utf8.RuneSelf {
				ascii = false
				break
			}
		}
		if ascii {
			s = string(b)
		} else {
			rs := make([]rune, len(b))
			for i, c := range b {
				rs[i] = rune(c)
			}
			s = string(rs)
		}
	}
	return strings.ReplaceAll(s, `\`, "/")
}
