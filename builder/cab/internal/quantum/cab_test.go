package quantum

// A minimal, test-only cabinet walker: enough of the format to pull the
// Quantum folders out of the corpus cabinets without the cab package.

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// corpusDir is the shared cabinet corpus: shared/cabs beside the module's
// root (../../../../../shared/cabs from this package).
var corpusDir = filepath.Join("..", "..", "..", "..", "..", "shared", "cabs")

const (
	compNone    = 0
	compMSZIP   = 1
	compQuantum = 2
	compLZX     = 3
)

type cabBlock struct {
	data   []byte
	uncomp int
}

type cabFolder struct {
	compType uint16
	blocks   []cabBlock
	err      error // the block list could not be read in full
}

type cabFile struct {
	name   string
	size   uint32
	offset uint32 // in the folder's uncompressed data
	folder uint16
}

type cabinet struct {
	folders []cabFolder
	files   []cabFile
}

var errShortCab = errors.New("cab: truncated")

// parseCab reads a cabinet's folders, their data blocks and files. It is
// lenient where that helps the tests (checksums are ignored) and stops
// reading a folder's blocks where they run off the end of the file.
func parseCab(b []byte) (*cabinet, error) {
	u16 := func(off int) (uint16, bool) {
		if off < 0 || off+2 > len(b) {
			return 0, false
		}
		return binary.LittleEndian.Uint16(b[off:]), true
	}
	u32 := func(off int) (uint32, bool) {
		if off < 0 || off+4 > len(b) {
			return 0, false
		}
		return binary.LittleEndian.Uint32(b[off:]), true
	}
	if len(b) < 36 || string(b[:4]) != "MSCF" {
		return nil, errors.New("cab: no MSCF header")
	}
	coffFiles, _ := u32(16)
	nFolders, _ := u16(26)
	nFiles, _ := u16(28)
	flags, _ := u16(30)
	off := 36
	var folderReserve, dataReserve int
	if flags&4 != 0 {
		hr, ok := u16(off)
		if !ok || off+4 > len(b) {
			return nil, errShortCab
		}
		folderReserve, dataReserve = int(b[off+2]), int(b[off+3])
		off += 4 + int(hr)
	}
	// Previous and next cabinet names and disks (flags 1 and 2).
	for _, f := range []uint16{1, 2} {
		if flags&f == 0 {
			continue
		}
		for range 2 {
			i := bytes.IndexByte(b[min(off, len(b)):], 0)
			if i < 0 {
				return nil, errShortCab
			}
			off += i + 1
		}
	}
	c := &cabinet{}
	for range nFolders {
		start, ok1 := u32(off)
		nData, ok2 := u16(off + 4)
		typ, ok3 := u16(off + 6)
		if !ok1 || !ok2 || !ok3 {
			return nil, errShortCab
		}
		off += 8 + folderReserve
		f := cabFolder{compType: typ}
		p := int(start)
		for range nData {
			cb, ok1 := u16(p + 4)
			cu, ok2 := u16(p + 6)
			p += 8 + dataReserve
			if !ok1 || !ok2 || p < 0 || p+int(cb) > len(b) {
				f.err = errShortCab
				break
			}
			f.blocks = append(f.blocks, cabBlock{data: b[p : p+int(cb)], uncomp: int(cu)})
			p += int(cb)
		}
		c.folders = append(c.folders, f)
	}
	off = int(coffFiles)
	for range nFiles {
		size, ok1 := u32(off)
		fo, ok2 := u32(off + 4)
		fi, ok3 := u16(off + 8)
		if !ok1 || !ok2 || !ok3 || off+16 > len(b) {
			return nil, errShortCab
		}
		off += 16
		i := bytes.IndexByte(b[off:], 0)
		if i < 0 {
			return nil, errShortCab
		}
		c.files = append(c.files, cabFile{name: string(b[off : off+i]), size: size, offset: fo, folder: fi})
		off += i + 1
	}
	return c, nil
}

// expectation is what the reference extractor did with a cabinet.
type expectation struct {
	status string            // ok, partial or reject
	good   map[string]string // name -> md5 of the files it extracted
	failed map[string]bool
}

func readExpectation(path string) (*expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	e := &expectation{good: map[string]string{}, failed: map[string]bool{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "== "):
			section = strings.Fields(line)[1]
		case section == "" && strings.HasPrefix(line, "status: "):
			e.status = strings.TrimPrefix(line, "status: ")
		case section == "good" && line != "":
			sum, name, ok := strings.Cut(line, "  ")
			if ok {
				e.good[name] = sum
			}
		case section == "failed" && line != "":
			name, _, _ := strings.Cut(line, ": ")
			e.failed[name] = true
		}
	}
	return e, sc.Err()
}

// corpusCab is one Quantum folder of a corpus cabinet.
type corpusCab struct {
	path   string // relative to corpusDir
	cab    *cabinet
	folder int
	exp    *expectation
}

// quantumCorpus lists every Quantum folder in the corpus. It skips the test
// only when the corpus folder is absent.
func quantumCorpus(tb testing.TB) []corpusCab {
	tb.Helper()
	if !corpusPresent() {
		if os.Getenv("CI") != "" {
			tb.Fatalf("cabinet corpus %s missing in CI", corpusDir)
		}
		tb.Skipf("cabinet corpus %s not present", corpusDir)
	}
	cabs, err := readCorpus()
	if err != nil {
		tb.Fatal(err)
	}
	return cabs
}

func corpusPresent() bool {
	_, err := os.Stat(corpusDir)
	return !errors.Is(err, fs.ErrNotExist)
}

// readCorpus lists every Quantum folder in the corpus.
func readCorpus() ([]corpusCab, error) {
	var out []corpusCab
	err := filepath.WalkDir(corpusDir, func(path string, de fs.DirEntry, err error) error {
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
		c, err := parseCab(b)
		if err != nil {
			return nil // not a readable cabinet: not this package's concern
		}
		rel, _ := filepath.Rel(corpusDir, path)
		for i, f := range c.folders {
			if f.compType&0xF != compQuantum {
				continue
			}
			exp, err := readExpectation(filepath.Join(corpusDir, "expected", rel+".txt"))
			if err != nil {
				return fmt.Errorf("%s: %v", rel, err)
			}
			out = append(out, corpusCab{rel, c, i, exp})
		}
		return nil
	})
	return out, err
}

// decodeFolder decodes a Quantum folder's blocks in order. It returns the
// output decoded before the first error, and that error.
func decodeFolder(f cabFolder) ([]byte, error) {
	d, err := NewDecoder(int(f.compType>>8) & 0x1F)
	if err != nil {
		return nil, err
	}
	var out []byte
	for i, blk := range f.blocks {
		dst := make([]byte, blk.uncomp)
		if err := d.DecodeFrame(dst, blk.data); err != nil {
			return out, fmt.Errorf("block %d: %w", i, err)
		}
		out = append(out, dst...)
	}
	return out, nil
}

func TestCorpus(t *testing.T) {
	cabs := quantumCorpus(t)
	if len(cabs) == 0 {
		t.Fatal("no Quantum folders found in the corpus")
	}
	for _, cc := range cabs {
		t.Run(cc.path, func(t *testing.T) {
			f := cc.cab.folders[cc.folder]
			start := time.Now()
			out, err := decodeFolder(f)
			if time.Since(start) > 10*time.Second {
				t.Errorf("decoding took %v", time.Since(start))
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			t.Logf("status %s: %d blocks, %d bytes decoded, err %v", cc.exp.status, len(f.blocks), len(out), err)
			for _, file := range cc.cab.files {
				if int(file.folder) != cc.folder {
					continue
				}
				end := int64(file.offset) + int64(file.size)
				complete := end <= int64(len(out))
				if sum, ok := cc.exp.good[file.name]; ok {
					if !complete {
						t.Errorf("%s: reference extracted it, we decoded only %d of %d bytes (%v)", file.name, len(out), end, err)
						continue
					}
					got := md5.Sum(out[file.offset:end])
					if hex.EncodeToString(got[:]) != sum {
						t.Errorf("%s: md5 %x, want %s", file.name, got, sum)
					}
				}
				if cc.exp.failed[file.name] {
					switch {
					case !complete && err != nil:
						t.Logf("%s: rejected as by the reference: %v", file.name, err)
					case !complete:
						t.Logf("%s: extends past the folder's data (%d > %d): the cabinet reader rejects it", file.name, end, len(out))
					default:
						t.Errorf("%s: reference failed it, but we decoded it without error", file.name)
					}
				}
			}
		})
	}
}
