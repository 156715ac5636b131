// Package cabtest is the test kit of the cabinet packages: where the shared
// corpus of real cabinets is and what the reference extractor did with each
// ([Corpus], [Expectation]), a minimal, lenient walker of cabinet structure
// for the decoder packages, which may not use the cab package ([Parse]),
// and a writer of one-folder cabinets for cross-checks with cabextract
// ([OneFolder]). It imports nothing from the cab packages, so that the cab
// package's own tests can use it too.
package cabtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Compression types of a folder's typeCompress field (low four bits).
const (
	None    = 0
	MSZIP   = 1
	Quantum = 2
	LZX     = 3
)

// CorpusDir returns the shared cabinet corpus: shared/cabs beside the
// checkout holding the module (../shared/cabs from the module's root), as
// a relative path from the test's directory.
func CorpusDir() string {
	up := ""
	for range 10 {
		if _, err := os.Stat(filepath.Join(up, "go.mod")); err == nil {
			return filepath.Join(up, "..", "shared", "cabs")
		}
		up = filepath.Join(up, "..")
	}
	return filepath.Join("..", "shared", "cabs")
}

// NeedCorpus returns the corpus directory, failing the test in CI when the
// corpus is absent and skipping it otherwise.
func NeedCorpus(tb testing.TB) string {
	tb.Helper()
	dir := CorpusDir()
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("cabinet corpus missing in CI: %v", err)
		}
		tb.Skipf("cabinet corpus %s not present: %v", dir, err)
	}
	return dir
}

// NeedTool returns the path of a Debian tool a test compares against
// (cabextract, gcab), failing the test in CI when it is missing (.ci/run
// installs it) and skipping it otherwise.
func NeedTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("%s is needed in CI (.ci/run installs it): %v", name, err)
		}
		tb.Skipf("%s not installed", name)
	}
	return p
}

// Case is one cabinet of the corpus with its expectation.
type Case struct {
	Name string // relative to the corpus, as "libmspack-cabd/normal_2files_1folder.cab"
	Path string // the cabinet, relative to the test's directory
	Exp  *Expectation
}

// Cases lists every cabinet of the corpus that has an expectation file,
// as [NeedCorpus] fails or skips when the corpus is absent.
func Cases(tb testing.TB) []Case {
	tb.Helper()
	dir := NeedCorpus(tb)
	exps, err := filepath.Glob(filepath.Join(dir, "expected", "*", "*.cab.txt"))
	if err != nil || len(exps) == 0 {
		tb.Fatalf("no expected files in corpus %s: %v", dir, err)
	}
	var cases []Case
	for _, e := range exps {
		rel, _ := filepath.Rel(filepath.Join(dir, "expected"), e)
		name := strings.TrimSuffix(rel, ".txt")
		x, err := ReadExpectation(e)
		if err != nil {
			tb.Fatal(err)
		}
		cases = append(cases, Case{Name: name, Path: filepath.Join(dir, name), Exp: x})
	}
	return cases
}

// Expectation is what the reference extractor (cabextract 1.9) did with a
// cabinet of the corpus; the corpus README describes the file.
type Expectation struct {
	Status   string            // ok, partial or reject
	Check    string            // exact, loose or safety
	Tags     []string          // methods and features seen
	Good     map[string]string // name -> md5 of the files it extracted
	GoodSums []string          // those sums in file order, repeats kept
	Failed   []string          // names of the files it reported as failed
	// Tested holds the sums cabextract -t printed, one per file it
	// tested, in its order: with several cabinets in one file, the files
	// of every cabinet.
	Tested []string
}

// FailedSet returns the failed names as a set.
func (x *Expectation) FailedSet() map[string]bool {
	m := map[string]bool{}
	for _, n := range x.Failed {
		m[n] = true
	}
	return m
}

// ReadExpectation parses an expectation file.
func ReadExpectation(path string) (*Expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x := &Expectation{Good: map[string]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "== "):
			f := strings.Fields(line)
			section = f[1]
			if section == "cabextract" && len(f) > 2 {
				section += " " + f[2]
			}
		case section == "cabextract -t" && strings.Contains(line, "  OK  "):
			f := strings.Fields(line)
			x.Tested = append(x.Tested, f[len(f)-1])
		case section == "" && strings.HasPrefix(line, "status:"):
			x.Status = strings.TrimSpace(strings.TrimPrefix(line, "status:"))
		case section == "" && strings.HasPrefix(line, "check:"):
			x.Check = strings.TrimSpace(strings.TrimPrefix(line, "check:"))
		case section == "" && strings.HasPrefix(line, "tags:"):
			x.Tags = strings.Fields(strings.TrimPrefix(line, "tags:"))
		case section == "good" && line != "":
			sum, name, ok := strings.Cut(line, "  ")
			if ok {
				x.Good[name] = sum
				x.GoodSums = append(x.GoodSums, sum)
			}
		case section == "failed" && line != "":
			name, _, _ := strings.Cut(line, ": ")
			x.Failed = append(x.Failed, name)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return x, nil
}

// Cabinet is a cabinet's structure as [Parse] reads it.
type Cabinet struct {
	Folders []Folder
	Files   []File
}

// Folder is a folder and its data blocks.
type Folder struct {
	Type   uint16  // typeCompress: method in bits 0-3, window bits in 8-12
	Blocks []Block // the blocks that fit in the file
	Err    error   // why the block list stops short, if it does
}

// WindowBits returns the window size of a Quantum or LZX folder.
func (f Folder) WindowBits() int { return int(f.Type>>8) & 0x1f }

// Method returns the folder's compression method.
func (f Folder) Method() int { return int(f.Type & 0xf) }

// Block is one CFDATA block.
type Block struct {
	Data []byte // compressed payload
	Size int    // declared uncompressed size
}

// Sizes returns the folder's declared block sizes.
func (f Folder) Sizes() []int {
	s := make([]int, len(f.Blocks))
	for i, b := range f.Blocks {
		s[i] = b.Size
	}
	return s
}

// Payloads returns the folder's block payloads.
func (f Folder) Payloads() [][]byte {
	p := make([][]byte, len(f.Blocks))
	for i, b := range f.Blocks {
		p[i] = b.Data
	}
	return p
}

// File is a CFFILE entry.
type File struct {
	Name   string // with "/" separators
	Size   int
	Offset int // in the folder's uncompressed data
	Folder int
}

// ErrShort reports a structure that runs past the end of the data.
var ErrShort = errors.New("cabtest: cabinet truncated")

// Parse reads the cabinet at the start of b: folders, their data blocks
// and files. It is lenient where that helps tests: checksums are ignored,
// and a folder's block list stops, with Folder.Err set, where a block runs
// off the end of b. When the folder or file table cannot be read it
// returns what it read so far with an error wrapping [ErrShort]; the
// cabinet is nil only when b has no cabinet header.
func Parse(b []byte) (*Cabinet, error) {
	u16 := func(o int) (int, bool) {
		if o < 0 || o+2 > len(b) {
			return 0, false
		}
		return int(binary.LittleEndian.Uint16(b[o:])), true
	}
	u32 := func(o int) (int, bool) {
		if o < 0 || o+4 > len(b) {
			return 0, false
		}
		return int(binary.LittleEndian.Uint32(b[o:])), true
	}
	if len(b) < 36 || string(b[:4]) != "MSCF" {
		return nil, errors.New("cabtest: no MSCF header")
	}
	coffFiles, _ := u32(16)
	nFolders, _ := u16(26)
	nFiles, _ := u16(28)
	flags, _ := u16(30)
	c := &Cabinet{}
	o := 36
	var folderReserve, dataReserve int
	if flags&4 != 0 {
		hr, ok := u16(36)
		if !ok || o+4 > len(b) {
			return c, fmt.Errorf("reserve sizes: %w", ErrShort)
		}
		folderReserve, dataReserve = int(b[38]), int(b[39])
		o = 40 + hr
	}
	for _, f := range []int{1, 2} { // previous, next cabinet names and disks
		if flags&f == 0 {
			continue
		}
		for range 2 {
			i := bytes.IndexByte(b[min(o, len(b)):], 0)
			if i < 0 {
				return c, fmt.Errorf("set names: %w", ErrShort)
			}
			o += i + 1
		}
	}
	for i := range nFolders {
		start, ok1 := u32(o)
		nData, ok2 := u16(o + 4)
		typ, ok3 := u16(o + 6)
		if !ok1 || !ok2 || !ok3 {
			return c, fmt.Errorf("folder %d: %w", i, ErrShort)
		}
		o += 8 + folderReserve
		f := Folder{Type: uint16(typ)}
		p := start
		for j := range nData {
			cb, ok1 := u16(p + 4)
			cu, ok2 := u16(p + 6)
			p += 8 + dataReserve
			if !ok1 || !ok2 || p < 0 || p+cb > len(b) {
				f.Err = fmt.Errorf("folder %d block %d: %w", i, j, ErrShort)
				break
			}
			f.Blocks = append(f.Blocks, Block{Data: b[p : p+cb], Size: cu})
			p += cb
		}
		c.Folders = append(c.Folders, f)
	}
	o = coffFiles
	for i := range nFiles {
		size, ok1 := u32(o)
		off, ok2 := u32(o + 4)
		folder, ok3 := u16(o + 8)
		if !ok1 || !ok2 || !ok3 || o+16 > len(b) {
			return c, fmt.Errorf("file %d: %w", i, ErrShort)
		}
		o += 16
		n := bytes.IndexByte(b[o:], 0)
		if n < 0 {
			return c, fmt.Errorf("file %d name: %w", i, ErrShort)
		}
		c.Files = append(c.Files, File{Name: strings.ReplaceAll(string(b[o:o+n]), `\`, "/"), Size: size, Offset: off, Folder: folder})
		o += n + 1
	}
	return c, nil
}

// Complete reports whether Parse read the whole structure: no error and
// every folder's blocks in full.
func (c *Cabinet) Complete(err error) error {
	if err != nil {
		return err
	}
	for _, f := range c.Folders {
		if f.Err != nil {
			return f.Err
		}
	}
	return nil
}

// CorpusFolders returns the folders of the given method of every corpus
// cabinet that Parse can read at least in part, with the cabinet's name
// relative to the corpus; nil when the corpus is absent.
func CorpusFolders(method int) (names []string, folders []Folder, err error) {
	dir := CorpusDir()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	err = filepath.WalkDir(dir, func(path string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if de.IsDir() || !strings.HasSuffix(path, ".cab") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		c, _ := Parse(b)
		if c == nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		for _, f := range c.Folders {
			if f.Method() == method {
				names = append(names, rel)
				folders = append(folders, f)
			}
		}
		return nil
	})
	return names, folders, err
}

// OneFolder builds a cabinet of one folder of type comp holding one file
// of size bytes named name, from the folder's block payloads and their
// uncompressed sizes. Data checksums are left zero, which means none.
func OneFolder(name string, comp uint16, setID uint16, size int, blocks [][]byte, sizes []int) []byte {
	le := binary.LittleEndian
	const headerSize, folderSize = 36, 8
	dataStart := headerSize + folderSize + 16 + len(name) + 1
	var b []byte
	b = append(b, "MSCF"...)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0) // cbCabinet, set below
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, headerSize+folderSize) // coffFiles
	b = le.AppendUint32(b, 0)
	b = append(b, 3, 1)       // version 1.3
	b = le.AppendUint16(b, 1) // folders
	b = le.AppendUint16(b, 1) // files
	b = le.AppendUint16(b, 0) // flags
	b = le.AppendUint16(b, setID)
	b = le.AppendUint16(b, 0) // cabinet index
	b = le.AppendUint32(b, uint32(dataStart))
	b = le.AppendUint16(b, uint16(len(blocks)))
	b = le.AppendUint16(b, comp)
	b = le.AppendUint32(b, uint32(size))
	b = le.AppendUint32(b, 0)      // offset in folder
	b = le.AppendUint16(b, 0)      // folder
	b = le.AppendUint16(b, 0x5A21) // date
	b = le.AppendUint16(b, 0x6000) // time
	b = le.AppendUint16(b, 0x20)   // attributes
	b = append(b, name...)
	b = append(b, 0)
	for i, blk := range blocks {
		b = le.AppendUint32(b, 0)
		b = le.AppendUint16(b, uint16(len(blk)))
		b = le.AppendUint16(b, uint16(sizes[i]))
		b = append(b, blk...)
	}
	le.PutUint32(b[8:], uint32(len(b)))
	return b
}
