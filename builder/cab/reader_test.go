package cab

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

func openBytes(t testing.TB, data []byte) *Reader {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestEmbeddedCabinet(t *testing.T) {
	cabData := writeCab(t, sampleFiles())
	// A self-extracting program: code that mentions the signature, then
	// the cabinet, then trailing data such as a code signature.
	var exe bytes.Buffer
	exe.WriteString("MZ\x90\x00 stub program ")
	exe.WriteString("MSCF but not a cabinet ")
	exe.Write(mixedData(7, 5000))
	at := int64(exe.Len())
	exe.Write(cabData)
	exe.WriteString("trailing certificate data MSCF")
	data := exe.Bytes()
	r := openBytes(t, data)
	if got := r.Cabinets[0].Offset; got != at {
		t.Errorf("cabinet found at %d, want %d", got, at)
	}
	files := sampleFiles()
	for i, f := range r.File {
		if got := readFile(t, f); !bytes.Equal(got, files[i].Data) && len(files[i].Data) > 0 {
			t.Errorf("%s: contents differ", f.Name)
		}
	}
	offs, err := Search(bytes.NewReader(data), int64(len(data)), 0)
	if err != nil || len(offs) != 1 || offs[0] != at {
		t.Errorf("Search = %v, %v; want [%d]", offs, err, at)
	}
	if _, err := NewReader(bytes.NewReader(data[:at]), at); !errors.Is(err, ErrFormat) {
		t.Errorf("file without cabinet: err = %v, want ErrFormat", err)
	}
}

// firstBlock returns the offset of the first CFDATA block of folder 0.
func firstBlock(data []byte) int {
	return int(binary.LittleEndian.Uint32(data[headerSize:]))
}

func TestChecksumMismatch(t *testing.T) {
	data := writeCab(t, []testFile{{Name: "a", Data: mixedData(1, 1000), Method: None}})
	data[firstBlock(data)+dataSize+10] ^= 0x55
	r := openBytes(t, data)
	rc, err := r.File[0].Open()
	if err == nil {
		_, err = io.ReadAll(rc)
	}
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "folder 0 block 0") {
		t.Errorf("err = %v, want ErrChecksum naming folder 0 block 0", err)
	}
}

func TestZeroChecksumNotVerified(t *testing.T) {
	data := writeCab(t, []testFile{{Name: "a", Data: []byte("hello, world"), Method: None}})
	b := firstBlock(data)
	binary.LittleEndian.PutUint32(data[b:], 0)
	data[b+dataSize] = 'j'
	if got := readFile(t, openBytes(t, data).File[0]); string(got) != "jello, world" {
		t.Errorf("got %q", got)
	}
}

func TestTruncatedEverywhere(t *testing.T) {
	var files []testFile
	for _, f := range sampleFiles() {
		f.Data = f.Data[:min(len(f.Data), 700)]
		files = append(files, f)
	}
	data := writeCab(t, files)
	// Every prefix through the tables, then a sample of the data blocks.
	for n := 0; n < len(data); n += 1 + n/512 {
		r, err := NewReader(bytes.NewReader(data[:n]), int64(n))
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("prefix %d: error wraps no sentinel: %v", n, err)
			}
			continue
		}
		for _, f := range r.File {
			rc, err := f.Open()
			if err == nil {
				var m int64
				m, err = io.Copy(io.Discard, rc)
				if m > f.Size {
					t.Fatalf("prefix %d: %s yields %d bytes, declares %d", n, f.Name, m, f.Size)
				}
			}
			if err != nil && !isSentinel(err) {
				t.Fatalf("prefix %d: %s: error wraps no sentinel: %v", n, f.Name, err)
			}
		}
	}
}

// put16 and put32 patch a little-endian field.
func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }

func TestMalformedHeaders(t *testing.T) {
	good := writeCab(t, []testFile{{Name: "a", Data: []byte("abc"), Method: None}})
	tests := []struct {
		name  string
		patch func([]byte) []byte
		want  string
	}{
		{"no folders", func(b []byte) []byte { put16(b, 26, 0); return b }, "no folders"},
		{"no files", func(b []byte) []byte { put16(b, 28, 0); return b }, "no files"},
		{"absurd file count", func(b []byte) []byte { put16(b, 28, 0xFFFF); return b }, "65535 files do not fit"},
		{"absurd folder count", func(b []byte) []byte { put16(b, 26, 0xFFFF); return b }, "65535 folders do not fit"},
		{"folder index out of range", func(b []byte) []byte { put16(b, headerSize+folderSize+8, 3); return b }, "folder 3 out of range"},
		{"hidden file entries", func(b []byte) []byte { put32(b, 16, binary.LittleEndian.Uint32(b[16:])+17); return b }, "does not follow the folder table"},
		{"huge header reserve", func(b []byte) []byte {
			put16(b, 30, flagReservePresent)
			return append(b[:headerSize:headerSize], append([]byte{0xFF, 0xFF, 0, 0}, b[headerSize:]...)...)
		}, "header reserve of 65535 bytes"},
		{"name without end", func(b []byte) []byte {
			n := headerSize + folderSize + fileSize
			return append(b[:n:n], bytes.Repeat([]byte("x"), 300)...)
		}, "longer than 255"},
		{"cabinet size too small", func(b []byte) []byte { put32(b, 8, 10); return b }, "too small"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.patch(bytes.Clone(good))
			_, err := NewReader(bytes.NewReader(data), int64(len(data)))
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrFormat with %q", err, tt.want)
			}
		})
	}
}

func TestDeclaredSizesBound(t *testing.T) {
	// A file declared smaller than its data yields only what it declares.
	data := writeCab(t, []testFile{{Name: "a", Data: bytes.Repeat([]byte("A"), 100000), Method: MSZIP}})
	fileEntry := headerSize + folderSize
	put32(data, fileEntry, 10)
	if got := readFile(t, openBytes(t, data).File[0]); len(got) != 10 {
		t.Errorf("read %d bytes, file declares 10", len(got))
	}
	// A file declared larger than the folder ends with an error, not more
	// data and not a hang.
	put32(data, fileEntry, 0xFFFFFFF0)
	rc, err := openBytes(t, data).File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	if !errors.Is(err, ErrFormat) || n != 100000 {
		t.Errorf("read %d bytes, err %v; want 100000 and ErrFormat", n, err)
	}
}

func TestBlockLargerThanFrame(t *testing.T) {
	data := writeCab(t, []testFile{{Name: "a", Data: []byte("abc"), Method: None}})
	put16(data, firstBlock(data)+6, maxFrame+1)
	put32(data, firstBlock(data), 0)
	rc, err := openBytes(t, data).File[0].Open()
	if err == nil {
		_, err = io.ReadAll(rc)
	}
	if !errors.Is(err, ErrFormat) {
		t.Errorf("err = %v, want ErrFormat", err)
	}
}

func TestUnsupportedMethod(t *testing.T) {
	data := writeCab(t, []testFile{{Name: "a", Data: []byte("abc"), Method: None}})
	put16(data, headerSize+6, 0x000F)
	_, err := openBytes(t, data).File[0].Open()
	if !errors.Is(err, ErrAlgorithm) {
		t.Errorf("err = %v, want ErrAlgorithm", err)
	}
}

func TestValidName(t *testing.T) {
	for _, name := range []string{"a.txt", "UCPhone/Polycom/CX600/A/ENU/4.0.7577.4363/CPE/CPE.nbt", "tést.dat", "console/x", "...a"} {
		if err := ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "/etc/passwd", "../x", "a/../../x", "a/./b", "C:/Windows/x", "c:x", "//server/share/x",
		"a//b", "CON", "aux.txt", "dir/LPT1.log", "com1", "nul.", "a\x01b", "a\tb", "a\x7f", "a/..", ".", "a/ ", "trailing/"} {
		if err := ValidName(name); !errors.Is(err, ErrInsecurePath) {
			t.Errorf("ValidName(%q) = %v, want ErrInsecurePath", name, err)
		}
	}
}

func TestOpenSkipsInsecureAndDuplicateNames(t *testing.T) {
	data := writeCab(t, []testFile{
		{Name: "ok.txt", Data: []byte("first"), Method: None},
		{Name: "../evil.txt", Data: []byte("evil"), Method: None},
		{Name: "ok.txt", Data: []byte("second"), Method: None},
		{Name: "dir/f", Data: []byte("f"), Method: None},
	})
	r := openBytes(t, data)
	if len(r.File) != 4 {
		t.Fatalf("listing shows %d files, want every one of 4", len(r.File))
	}
	if err := fstest.TestFS(r, "ok.txt", "dir/f"); err != nil {
		t.Fatal(err)
	}
	if b, err := fs.ReadFile(r, "ok.txt"); err != nil || string(b) != "first" {
		t.Errorf("ok.txt = %q, %v; want the first file", b, err)
	}
	if _, err := r.Open("../evil.txt"); err == nil {
		t.Error("insecure name offered by Open")
	}
}

func TestSetFromList(t *testing.T) {
	dir := filepath.Join(corpusDir, "libmspack-cabd")
	if _, err := os.Stat(dir); err != nil {
		cabtest.NeedCorpus(t)
	}
	var paths []string
	for i := 1; i <= 5; i++ {
		paths = append(paths, filepath.Join(dir, "multi_basic_pt"+string(rune('0'+i))+".cab"))
	}
	r, err := OpenSet(paths...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(r.Cabinets) != 5 || len(r.File) != 3 {
		t.Fatalf("%d cabinets, %d files; want 5 and 3", len(r.Cabinets), len(r.File))
	}
	for _, f := range r.File {
		if got := readFile(t, f); int64(len(got)) != f.Size {
			t.Errorf("%s: %d bytes, want %d", f.Name, len(got), f.Size)
		}
	}
	// Without the later cabinets, files that continue are reported, not
	// silently cut.
	r1, err := OpenSet(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	defer r1.Close()
	rc, err := r1.File[0].Open()
	if err == nil {
		_, err = io.ReadAll(rc)
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "cabd_multi_basic_pt2.cab") {
		t.Errorf("err = %v, want the missing next cabinet named", err)
	}
}

// checkReader asserts what FuzzReader promises for any input: errors wrap
// a sentinel, no file yields more than it declares, and when every file
// reads, the tree passes fstest.TestFS.
func checkReader(t *testing.T, data []byte) {
	checkReaders(t, data)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if !isSentinel(err) {
			t.Fatalf("open: error wraps no sentinel: %v", err)
		}
		return
	}
	allRead := true
	for _, f := range r.File {
		rc, err := f.Open()
		if err == nil {
			var n int64
			n, err = io.Copy(io.Discard, io.LimitReader(rc, f.Size+1))
			if n > f.Size {
				t.Fatalf("%q yields more than its declared %d bytes", f.Name, f.Size)
			}
			if err == nil && n != f.Size {
				t.Fatalf("%q: %d bytes of %d without an error", f.Name, n, f.Size)
			}
			rc.Close()
		}
		if err != nil {
			allRead = false
			if !isSentinel(err) {
				t.Fatalf("%q: error wraps no sentinel: %v", f.Name, err)
			}
		}
	}
	if allRead && len(r.File) < 50 {
		var want []string
		for name := range r.index().files {
			want = append(want, name)
		}
		if err := fstest.TestFS(r, want...); err != nil {
			t.Fatalf("TestFS: %v", err)
		}
	}
}

// checkReaders asserts what NewReaders promises: the cabinets it finds
// start in increasing order at the offsets Search reports, and each one's
// raw bytes stay inside the file and its declared size.
func checkReaders(t *testing.T, data []byte) {
	rs, err := NewReaders(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		if !isSentinel(err) {
			t.Fatalf("NewReaders: error wraps no sentinel: %v", err)
		}
		return
	}
	offs, _ := Search(bytes.NewReader(data), int64(len(data)), 0)
	if len(offs) != len(rs) {
		t.Fatalf("NewReaders found %d cabinets, Search %d", len(rs), len(offs))
	}
	for i, r := range rs {
		c := r.Cabinets[0]
		if c.Offset != offs[i] || (i > 0 && c.Offset <= rs[i-1].Cabinets[0].Offset) {
			t.Fatalf("cabinet %d at %d; Search says %v", i, c.Offset, offs)
		}
		if raw := r.OpenRaw(); raw.Size() < 0 || c.Offset+raw.Size() > int64(len(data)) || raw.Size() > c.Size {
			t.Fatalf("cabinet %d: raw bytes %d at %d outside a file of %d (declares %d)", i, raw.Size(), c.Offset, len(data), c.Size)
		}
	}
}

func FuzzReader(f *testing.F) {
	seeds := 0
	if paths, _ := filepath.Glob(filepath.Join(corpusDir, "*", "*.cab")); len(paths) > 0 {
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) < 1<<20 {
				f.Add(b)
				seeds++
			}
		}
	}
	var small []testFile
	for _, tf := range sampleFiles() {
		tf.Data = tf.Data[:min(len(tf.Data), 70000)]
		small = append(small, tf)
	}
	f.Add(writeCab(f, small))
	tiny := writeCab(f, []testFile{{Name: "x", Data: []byte("tiny"), Method: None}})
	f.Add(tiny)
	f.Add(append(append(append([]byte{}, tiny...), "MSCF cut"...), tiny...)) // several in one file
	seeds += 3
	if seeds == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(checkReader)
}

func FuzzWriter(f *testing.F) {
	f.Add([]byte("hello"), uint8(2), uint16(5), false)
	f.Add(bytes.Repeat([]byte("ab"), 40000), uint8(7), uint16(32768), true)
	f.Fuzz(func(t *testing.T, data []byte, nfiles uint8, cut uint16, stored bool) {
		// Split data into up to nfiles files, alternating folders.
		var files []testFile
		n := int(nfiles%8) + 1
		step := max(len(data)/n, int(cut)%(len(data)+1))
		for i := 0; i < n; i++ {
			lo := min(i*step, len(data))
			hi := min(lo+step, len(data))
			if i == n-1 {
				hi = len(data)
			}
			m := MSZIP
			if stored != (i%2 == 1) {
				m = None
			}
			files = append(files, testFile{Name: "f" + string(rune('a'+i)), Data: data[lo:hi], Folder: i / 3, Method: m})
		}
		for i := range files {
			files[i].Method = files[files[i].Folder*3].Method
		}
		cab := writeCab(t, files)
		r := openBytes(t, cab)
		if len(r.File) != len(files) {
			t.Fatalf("%d files, want %d", len(r.File), len(files))
		}
		for i, f := range r.File {
			if got := readFile(t, f); !bytes.Equal(got, files[i].Data) {
				t.Fatalf("%s: contents differ", f.Name)
			}
		}
	})
}
