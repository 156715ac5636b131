package lzx

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A test-only reader of cabinet structure, just enough to pull the LZX
// folders out of the corpus cabinets without the cab package, and a
// writer of one-folder cabinets for the cross-check with cabextract.

// corpusDir is the shared cabinet corpus, shared/cabs beside the
// module's root (/work/shared/cabs for /work/main).
const corpusDir = "../../../../../shared/cabs"

type testCab struct {
	folders []testFolder
	files   []testFile
}

type testFolder struct {
	typ    uint16
	blocks [][]byte // CFDATA payloads
	sizes  []int    // their uncompressed sizes
}

type testFile struct {
	name   string
	size   int
	offset int
	folder int
}

var errShort = errors.New("cabinet truncated")

// parseCab reads a cabinet's folders, files and data blocks. It stops
// with an error at the first structure that does not fit in the file.
func parseCab(b []byte) (*testCab, error) {
	u16 := func(o int) (int, error) {
		if o < 0 || o+2 > len(b) {
			return 0, errShort
		}
		return int(binary.LittleEndian.Uint16(b[o:])), nil
	}
	u32 := func(o int) (int, error) {
		if o < 0 || o+4 > len(b) {
			return 0, errShort
		}
		return int(binary.LittleEndian.Uint32(b[o:])), nil
	}
	cstr := func(o int) (string, int, error) {
		if o < 0 || o > len(b) {
			return "", 0, errShort
		}
		i := bytes.IndexByte(b[o:], 0)
		if i < 0 {
			return "", 0, errShort
		}
		return string(b[o : o+i]), o + i + 1, nil
	}
	if len(b) < 36 || string(b[:4]) != "MSCF" {
		return nil, errors.New("not a cabinet")
	}
	coffFiles, _ := u32(16)
	nFolders, _ := u16(26)
	nFiles, _ := u16(28)
	flags, _ := u16(30)
	o := 36
	var resHeader, resFolder, resData int
	if flags&4 != 0 {
		var err error
		if resHeader, err = u16(36); err != nil {
			return nil, err
		}
		if o+4 > len(b) {
			return nil, errShort
		}
		resFolder, resData = int(b[38]), int(b[39])
		o = 40 + resHeader
	}
	for _, f := range []int{1, 2} { // previous, next cabinet names
		if flags&f != 0 {
			var err error
			for range 2 {
				if _, o, err = cstr(o); err != nil {
					return nil, err
				}
			}
		}
	}
	cab := &testCab{}
	for i := 0; i < nFolders; i++ {
		start, err := u32(o)
		if err != nil {
			return nil, err
		}
		nData, _ := u16(o + 4)
		typ, err := u16(o + 6)
		if err != nil {
			return nil, err
		}
		o += 8 + resFolder
		f := testFolder{typ: uint16(typ)}
		p := start
		for j := 0; j < nData; j++ {
			cb, err := u16(p + 4)
			if err != nil {
				return nil, err
			}
			un, _ := u16(p + 6)
			p += 8 + resData
			if p+cb > len(b) {
				return nil, errShort
			}
			f.blocks = append(f.blocks, b[p:p+cb])
			f.sizes = append(f.sizes, un)
			p += cb
		}
		cab.folders = append(cab.folders, f)
	}
	o = coffFiles
	for i := 0; i < nFiles; i++ {
		size, err := u32(o)
		if err != nil {
			return nil, err
		}
		off, _ := u32(o + 4)
		folder, err := u16(o + 8)
		if err != nil {
			return nil, err
		}
		name, next, err := cstr(o + 16)
		if err != nil {
			return nil, err
		}
		o = next
		cab.files = append(cab.files, testFile{name: strings.ReplaceAll(name, `\`, "/"), size: size, offset: off, folder: folder})
	}
	return cab, nil
}

type expectation struct {
	status string
	tags   []string
	good   map[string]string // name -> md5
	failed []string
}

func readExpectation(path string) (*expectation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	x := &expectation{good: map[string]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "== "):
			section = strings.Fields(line)[1]
		case section == "" && strings.HasPrefix(line, "status: "):
			x.status = strings.TrimPrefix(line, "status: ")
		case section == "" && strings.HasPrefix(line, "tags: "):
			x.tags = strings.Fields(strings.TrimPrefix(line, "tags: "))
		case section == "good" && line != "":
			sum, name, _ := strings.Cut(line, "  ")
			x.good[name] = sum
		case section == "failed" && line != "":
			x.failed = append(x.failed, line)
		}
	}
	return x, sc.Err()
}

// TestCorpus decodes the LZX folders of the corpus cabinets and checks
// the files in them against what cabextract extracted, or that the
// decoder refuses the cabinets cabextract failed to decompress.
func TestCorpus(t *testing.T) {
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("corpus %s absent: %v", corpusDir, err)
	}
	expFiles, err := filepath.Glob(filepath.Join(corpusDir, "expected", "*", "*.cab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tested := 0
	for _, ef := range expFiles {
		exp, err := readExpectation(ef)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(exp.tags, "lzx") {
			continue
		}
		rel, _ := filepath.Rel(filepath.Join(corpusDir, "expected"), ef)
		name := strings.TrimSuffix(rel, ".txt")
		tested++
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, name))
			if err != nil {
				t.Fatal(err)
			}
			checkCorpusCab(t, data, exp)
		})
	}
	if tested == 0 {
		t.Fatal("no LZX cabinet in the corpus")
	}
}

func checkCorpusCab(t *testing.T, data []byte, exp *expectation) {
	cab, perr := parseCab(data)
	if perr != nil {
		if exp.status == "ok" {
			t.Fatalf("cabinet structure: %v", perr)
		}
		t.Logf("cabinet structure: %v (reference: %s)", perr, exp.status)
		// Decode what there is of the folders anyway, for safety.
		cab = salvageFolders(data)
	}
	decodeFailed := false
	for fi, f := range cab.folders {
		if f.typ&0xf != 3 {
			continue
		}
		wb := int(f.typ>>8) & 0x1f
		d, err := NewDecoder(wb)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("folder %d: NewDecoder error %v does not match ErrCorrupt", fi, err)
			}
			decodeFailed = true
			continue
		}
		out, err := decodeWith(d, f.blocks, f.sizes)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("folder %d: error %v does not match ErrCorrupt", fi, err)
			}
			t.Logf("folder %d (window 2^%d, %d blocks): %v", fi, wb, len(f.blocks), err)
			decodeFailed = true
			if exp.status == "ok" {
				t.Errorf("folder %d: %v", fi, err)
			}
			continue
		}
		for _, file := range cab.files {
			if file.folder != fi {
				continue
			}
			if file.offset+file.size > len(out) || file.offset < 0 {
				t.Logf("file %s beyond folder output", file.name)
				continue
			}
			sum := md5.Sum(out[file.offset : file.offset+file.size])
			got := hex.EncodeToString(sum[:])
			want, ok := exp.good[file.name]
			if !ok {
				// Names in legacy code pages: match by content.
				for _, w := range exp.good {
					if w == got {
						want, ok = w, true
					}
				}
			}
			switch {
			case !ok && exp.status == "ok":
				t.Errorf("file %s (md5 %s) not among the expected files", file.name, got)
			case ok && want != got:
				t.Errorf("file %s: md5 %s, want %s", file.name, got, want)
			case ok:
				t.Logf("file %s: md5 %s ok", file.name, got)
			}
		}
	}
	if exp.status == "reject" && perr == nil && len(exp.failed) > 0 && !decodeFailed {
		t.Errorf("reference failed %v, decoder did not", exp.failed)
	}
}

// salvageFolders reads the folder table of a damaged cabinet as far as it
// goes and takes whatever data blocks fit in the file.
func salvageFolders(b []byte) *testCab {
	cab := &testCab{}
	if len(b) < 36 {
		return cab
	}
	nFolders := int(binary.LittleEndian.Uint16(b[26:]))
	o := 36
	if binary.LittleEndian.Uint16(b[30:])&4 != 0 && len(b) >= 40 {
		o = 40 + int(binary.LittleEndian.Uint16(b[36:]))
	}
	for i := 0; i < nFolders && o+8 <= len(b); i++ {
		start := int(binary.LittleEndian.Uint32(b[o:]))
		nData := int(binary.LittleEndian.Uint16(b[o+4:]))
		f := testFolder{typ: binary.LittleEndian.Uint16(b[o+6:])}
		o += 8
		p := start
		for j := 0; j < nData && p >= 0 && p+8 <= len(b); j++ {
			cb := int(binary.LittleEndian.Uint16(b[p+4:]))
			un := int(binary.LittleEndian.Uint16(b[p+6:]))
			p += 8
			if p+cb > len(b) {
				break
			}
			f.blocks = append(f.blocks, b[p:p+cb])
			f.sizes = append(f.sizes, un)
			p += cb
		}
		cab.folders = append(cab.folders, f)
	}
	return cab
}

// corpusFolders returns the LZX folders of every corpus cabinet, for fuzz
// seeds; nil when the corpus is absent.
func corpusFolders() (folders []testFolder) {
	cabs, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*.cab"))
	for _, c := range cabs {
		data, err := os.ReadFile(c)
		if err != nil {
			continue
		}
		cab, err := parseCab(data)
		if err != nil {
			cab = salvageFolders(data)
		}
		for _, f := range cab.folders {
			if f.typ&0xf == 3 && len(f.blocks) > 0 {
				folders = append(folders, f)
			}
		}
	}
	return folders
}

// writeCab builds a cabinet of one LZX folder holding one file.
func writeCab(name string, windowBits int, content int, blocks [][]byte, sizes []int) []byte {
	var b []byte
	le16 := func(v int) { b = binary.LittleEndian.AppendUint16(b, uint16(v)) }
	le32 := func(v int) { b = binary.LittleEndian.AppendUint32(b, uint32(v)) }
	dataStart := 36 + 8 + 16 + len(name) + 1
	total := dataStart
	for _, blk := range blocks {
		total += 8 + len(blk)
	}
	b = append(b, "MSCF"...)
	le32(0)
	le32(total)
	le32(0)
	le32(36 + 8) // coffFiles
	le32(0)
	b = append(b, 3, 1) // version 1.3
	le16(1)             // folders
	le16(1)             // files
	le16(0)             // flags
	le16(0)             // set ID
	le16(0)             // cabinet index
	le32(dataStart)
	le16(len(blocks))
	le16(3 | windowBits<<8)
	le32(content)
	le32(0)
	le16(0)      // folder
	le16(0x5a21) // date
	le16(0x6000) // time
	le16(0x20)   // attributes
	b = append(b, name...)
	b = append(b, 0)
	for i, blk := range blocks {
		le32(0) // no checksum
		le16(len(blk))
		le16(sizes[i])
		b = append(b, blk...)
	}
	if len(b) != total {
		panic(fmt.Sprintf("cabinet size %d, want %d", len(b), total))
	}
	return b
}
