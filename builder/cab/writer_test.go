package cab

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/duws/duws/builder/cab/internal/cabtest"
	"github.com/google/go-cmp/cmp"
)

// testFile is a file for round trips: what goes in must come out.
type testFile struct {
	Name     string
	Data     []byte
	Modified time.Time
	Attrs    uint16
	Folder   int // index of the folder it goes in; a new folder when it grows
	Method   Method
}

// mixedData returns n deterministic bytes mixing text, runs and noise, so
// that MSZIP has work to do and history to refer to.
func mixedData(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := []string{"firmware ", "UCPhone ", "Polycom ", "CX600 ", "4.0.7577.4363 ", "\r\n", "update ", "approved "}
	var b bytes.Buffer
	for b.Len() < n {
		switch rng.IntN(4) {
		case 0:
			for range 1 + rng.IntN(40) {
				b.WriteString(words[rng.IntN(len(words))])
			}
		case 1:
			b.Write(bytes.Repeat([]byte{byte(rng.IntN(256))}, 1+rng.IntN(300)))
		default:
			noise := make([]byte, 1+rng.IntN(200))
			for i := range noise {
				noise[i] = byte(rng.Uint32())
			}
			b.Write(noise)
		}
	}
	return b.Bytes()[:n]
}

func writeCab(t testing.TB, files []testFile) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	folder := -1
	for _, f := range files {
		if f.Folder != folder {
			if err := w.NewFolder(f.Method); err != nil {
				t.Fatal(err)
			}
			folder = f.Folder
		}
		fw, err := w.CreateHeader(&FileHeader{Name: f.Name, Modified: f.Modified, Attributes: f.Attrs})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fw.Write(f.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sampleFiles() []testFile {
	when := time.Date(2013, 5, 14, 10, 30, 12, 0, time.UTC)
	return []testFile{
		{Name: "updateInfo.xml", Data: []byte("<UpdateInfo/>"), Modified: when, Attrs: AttrArchive, Folder: 0, Method: MSZIP},
		{Name: "UCPhone/Polycom/CX600/A/ENU/4.0.7577.4363/CPE/CPE.nbt", Data: mixedData(1, 300_000), Modified: when, Attrs: AttrArchive, Folder: 0, Method: MSZIP},
		{Name: "UCPhone/Polycom/CX600/A/ENU/4.0.7577.4363/CPE/CPE.cat", Data: mixedData(2, 4000), Modified: when, Attrs: AttrReadOnly, Folder: 0, Method: MSZIP},
		{Name: "empty.txt", Data: nil, Modified: when, Folder: 0, Method: MSZIP},
		{Name: "stored/noise.bin", Data: mixedData(3, 100_001), Modified: when.Add(2 * time.Second), Attrs: AttrHidden | AttrSystem, Folder: 1, Method: None},
		{Name: "stored/zéro.txt", Data: bytes.Repeat([]byte("0"), 65536), Modified: when, Folder: 1, Method: None},
		{Name: "third/exact.bin", Data: mixedData(4, 3*32768), Modified: when, Attrs: AttrExec, Folder: 2, Method: MSZIP},
		{Name: "lzx/one.bin", Data: mixedData(5, 100_000), Modified: when, Folder: 3, Method: LZX},
		{Name: "lzx/two.txt", Data: bytes.Repeat([]byte("UCPhone firmware\r\n"), 5000), Modified: when, Folder: 3, Method: LZX},
	}
}

func TestWriterRoundTrip(t *testing.T) {
	files := sampleFiles()
	data := writeCab(t, files)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.File) != len(files) {
		t.Fatalf("got %d files, want %d", len(r.File), len(files))
	}
	for i, f := range r.File {
		want := files[i]
		got := testFile{Name: f.Name, Modified: f.Modified, Attrs: f.Attributes &^ AttrNameUTF8, Folder: f.FolderIndex(), Method: f.Method}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got.Data, err = io.ReadAll(rc)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if want.Data == nil {
			want.Data = []byte{}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("file %d (-want +got):\n%s", i, diff)
		}
	}
	// Determinism: the same calls give the same bytes.
	if again := writeCab(t, files); !bytes.Equal(again, data) {
		t.Error("writing the same files twice gave different cabinets")
	}
}

func TestWriterMSZIPUsesHistory(t *testing.T) {
	// A block that repeats the previous block must compress to almost
	// nothing, and still decode: the writer uses the 32 KiB history the
	// reader carries over.
	chunk := mixedData(9, maxFrame)
	data := writeCab(t, []testFile{{Name: "twice", Data: append(bytes.Clone(chunk), chunk...), Method: MSZIP}})
	if len(data) > maxFrame+maxFrame/4 {
		t.Errorf("cabinet of %d bytes: second block did not use the history", len(data))
	}
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	got := readFile(t, r.File[0])
	if !bytes.Equal(got, append(bytes.Clone(chunk), chunk...)) {
		t.Error("contents differ")
	}
}

func readFile(t testing.TB, f *File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return b
}

func TestWriterErrors(t *testing.T) {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	if _, err := w.Create(""); err == nil {
		t.Error("empty name accepted")
	}
	if _, err := w.Create(strings.Repeat("a", 256)); err == nil {
		t.Error("256-byte name accepted")
	}
	if err := w.NewFolder(Quantum); err == nil {
		t.Error("Quantum folder accepted by the writer")
	}
	if err := NewWriter(&buf).Close(); err == nil {
		t.Error("cabinet without files accepted")
	}
	fw, _ := w.Create("a")
	w.Create("b")
	if _, err := fw.Write([]byte("x")); err == nil {
		t.Error("write to a finished file accepted")
	}
}

func TestFS(t *testing.T) {
	data := writeCab(t, sampleFiles())
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range sampleFiles() {
		names = append(names, f.Name)
	}
	if err := fstest.TestFS(r, names...); err != nil {
		t.Fatal(err)
	}
}

func TestConcurrentReads(t *testing.T) {
	files := sampleFiles()
	data := writeCab(t, files)
	r, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4*len(files))
	for range 4 {
		for i := range files {
			go func() {
				rc, err := r.File[i].Open()
				if err != nil {
					errs <- err
					return
				}
				defer rc.Close()
				got, err := io.ReadAll(rc)
				if err == nil && !bytes.Equal(got, files[i].Data) {
					err = fmt.Errorf("%s: contents differ", files[i].Name)
				}
				errs <- err
			}()
		}
	}
	for range 4 * len(files) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// Interoperability with the tools administrators have.

func needTool(t *testing.T, name string) string {
	t.Helper()
	return cabtest.NeedTool(t, name)
}

func TestInteropCabextractReadsOurs(t *testing.T) {
	cabextract := needTool(t, "cabextract")
	files := sampleFiles()
	dir := t.TempDir()
	path := filepath.Join(dir, "ours.cab")
	if err := os.WriteFile(path, writeCab(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-l", path}, {"-t", path}} {
		out, err := exec.Command(cabextract, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("cabextract %v: %v\n%s", args, err, out)
		}
		for _, f := range files {
			if !strings.Contains(string(out), f.Name) {
				t.Errorf("cabextract %v does not show %q:\n%s", args, f.Name, out)
			}
		}
	}
	outDir := filepath.Join(dir, "out")
	if out, err := exec.Command(cabextract, "-q", "-d", outDir, path).CombinedOutput(); err != nil {
		t.Fatalf("cabextract: %v\n%s", err, out)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(outDir, filepath.FromSlash(f.Name)))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(got, f.Data) && !(len(got) == 0 && len(f.Data) == 0) {
			t.Errorf("%s: cabextract extracted other bytes", f.Name)
		}
	}
}

func TestInteropGcabReadsOurs(t *testing.T) {
	gcab := needTool(t, "gcab")
	files := sampleFiles()
	dir := t.TempDir()
	path := filepath.Join(dir, "ours.cab")
	if err := os.WriteFile(path, writeCab(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gcab, "-l", path).CombinedOutput()
	if err != nil {
		t.Fatalf("gcab -l: %v\n%s", err, out)
	}
	for _, f := range files {
		if !strings.Contains(string(out), strings.ReplaceAll(f.Name, "/", `\`)) && !strings.Contains(string(out), f.Name) {
			t.Errorf("gcab -l does not show %q:\n%s", f.Name, out)
		}
	}
	outDir := filepath.Join(dir, "out")
	os.Mkdir(outDir, 0o755)
	cmd := exec.Command(gcab, "-x", "-C", outDir, path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcab -x: %v\n%s", err, out)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(outDir, filepath.FromSlash(f.Name)))
		if err != nil {
			t.Error(err)
			continue
		}
		if sha256.Sum256(got) != sha256.Sum256(f.Data) {
			t.Errorf("%s: gcab extracted other bytes", f.Name)
		}
	}
}

func TestInteropWeReadGcab(t *testing.T) {
	gcab := needTool(t, "gcab")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	want := map[string][]byte{
		"a.txt":          []byte("hello from gcab\n"),
		"sub/big.bin":    mixedData(5, 700_000),
		"sub/zeroes.bin": make([]byte, 200_000),
	}
	var names []string
	for name, data := range want {
		p := filepath.Join(src, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	for _, compress := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("gcab-%v.cab", compress))
		args := []string{"-c"}
		if compress {
			args = append(args, "-z")
		}
		args = append(args, path)
		args = append(args, names...)
		cmd := exec.Command(gcab, args...)
		cmd.Dir = src
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcab %v: %v\n%s", args, err, out)
		}
		r, err := OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]byte{}
		for _, f := range r.File {
			got[f.Name] = readFile(t, f)
		}
		r.Close()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("gcab compress=%v (-want +got):\n%s", compress, diff)
		}
	}
}
