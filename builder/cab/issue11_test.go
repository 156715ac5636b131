package cab

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Regression tests for the cabinets cabextract extracts and the reader did
// not (issue 11), named after each case.

// TestQuantumLastMatchOvershootsDeclaredEnd reads a cabinet made by the
// Quantum package's test encoder (go test -update there rewrites it): two
// blocks, the last declaring 32,639 bytes while its last match, 134 bytes
// at frame offset 32,634, runs to the end of the 32 KiB frame. The sum is
// what cabextract writes for it.
func TestQuantumLastMatchOvershootsDeclaredEnd(t *testing.T) {
	r, err := OpenReader("testdata/quantum-last-match-overshoots.cab")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if len(r.File) != 1 || r.File[0].Method != Quantum || r.File[0].Size != 32768+32639 {
		t.Fatalf("files %v", r.File)
	}
	rc, err := r.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := md5.New()
	if n, err := io.Copy(h, rc); err != nil || n != r.File[0].Size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), "c57c491ee7a65e2912e3238643f37df8"; got != want {
		t.Errorf("md5 %s, want %s (cabextract's)", got, want)
	}
}

// TestTruncatedInsideFileBlamesThatFile cuts a cabinet inside the data of
// CPE.nbt: its error says by how many bytes the cabinet is short, and
// CPE.cat, which follows it in the folder, fails naming CPE.nbt as the
// file whose data could not be decoded rather than as a fault of its own.
func TestTruncatedInsideFileBlamesThatFile(t *testing.T) {
	data := writeCab(t, sampleFiles())
	cut := firstBlock(data) + 60_000
	r := openBytes(t, data[:cut])
	wantShort := fmt.Sprintf("possibly truncated by %d bytes", len(data)-cut)
	errs := map[string]error{}
	for _, f := range r.File {
		rc, err := f.Open()
		if err == nil {
			_, err = io.Copy(io.Discard, rc)
			rc.Close()
		}
		errs[path.Base(f.Name)] = err
	}
	if err := errs["updateInfo.xml"]; err != nil {
		t.Errorf("updateInfo.xml, before the cut: %v", err)
	}
	nbt := errs["CPE.nbt"]
	if !errors.Is(nbt, io.ErrUnexpectedEOF) || !errors.Is(nbt, ErrFormat) || !strings.Contains(nbt.Error(), wantShort) {
		t.Errorf("CPE.nbt: %v, want a truncation saying %q", nbt, wantShort)
	}
	cat := errs["CPE.cat"]
	if !errors.Is(cat, io.ErrUnexpectedEOF) || !strings.Contains(cat.Error(), `decoding the data of "UCPhone/Polycom/CX600/A/ENU/4.0.7577.4363/CPE/CPE.nbt" before it`) {
		t.Errorf("CPE.cat: %v, want an error naming CPE.nbt", cat)
	}
	// Folders after the cut fail, each on its own data.
	if err := errs["exact.bin"]; err == nil || strings.Contains(err.Error(), "CPE.nbt") {
		t.Errorf("third/exact.bin: %v", err)
	}
}

// TestTruncatedTablesSayBy cuts a cabinet inside its file table: the
// header's declared size says how much is missing.
func TestTruncatedTablesSayBy(t *testing.T) {
	data := writeCab(t, sampleFiles())
	cut := headerSize + 4*folderSize + 30
	_, err := NewReader(bytes.NewReader(data[:cut]), int64(cut))
	if want := fmt.Sprintf("possibly truncated by %d bytes", len(data)-cut); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want ErrFormat saying %q", err, want)
	}
}

// gcabCabinet makes a cabinet of files with Debian's gcab (MSZIP).
func gcabCabinet(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	gcab := needTool(t, "gcab")
	dir := t.TempDir()
	var names []string
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	slices.Sort(names)
	cmd := exec.Command(gcab, append([]string{"-z", "-c", "out.cab"}, names...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcab: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "out.cab"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// severalCabinets is, as cat would make it, four cabinets (ours, gcab's,
// ours with LZX, ours stored) with garbage, a cut-short cabinet header and
// a stray signature between them. It returns the file, the offset of each
// cabinet and the files each holds.
func severalCabinets(t *testing.T) ([]byte, []int64, [][]testFile) {
	t.Helper()
	when := time.Date(2014, 2, 3, 4, 5, 6, 0, time.UTC)
	sets := [][]testFile{
		{{Name: "one/a.txt", Data: []byte("first cabinet"), Modified: when, Method: MSZIP}},
		{{Name: "gcab.bin", Data: mixedData(11, 70_000)}, {Name: "gcab.txt", Data: []byte("made by gcab\n")}},
		{{Name: "three/lzx.bin", Data: mixedData(12, 50_000), Modified: when, Method: LZX}},
		{{Name: "four/stored.txt", Data: []byte("last, stored"), Modified: when, Method: None}},
	}
	var gfiles = map[string][]byte{}
	for _, f := range sets[1] {
		gfiles[f.Name] = f.Data
	}
	cabs := [][]byte{writeCab(t, sets[0]), gcabCabinet(t, gfiles), writeCab(t, sets[2]), writeCab(t, sets[3])}
	var file bytes.Buffer
	var offs []int64
	for i, c := range cabs {
		switch i {
		case 1:
			file.WriteString("garbage between cabinets MSCF\x00\x00")
		case 2:
			file.Write(cabs[0][:headerSize+5]) // a header cut short
		case 3:
			file.Write(mixedData(13, 777))
		}
		offs = append(offs, int64(file.Len()))
		file.Write(c)
	}
	return file.Bytes(), offs, sets
}

func TestSeveralCabinetsInOneFile(t *testing.T) {
	data, offs, sets := severalCabinets(t)
	rs, err := NewReaders(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var gotOffs []int64
	for _, r := range rs {
		gotOffs = append(gotOffs, r.Cabinets[0].Offset)
	}
	if diff := cmp.Diff(offs, gotOffs); diff != "" {
		t.Fatalf("cabinet offsets (-want +got):\n%s", diff)
	}
	for i, r := range rs {
		if len(r.File) != len(sets[i]) {
			t.Errorf("cabinet %d: %d files, want %d", i, len(r.File), len(sets[i]))
			continue
		}
		for j, f := range r.File {
			if f.Name != sets[i][j].Name || !bytes.Equal(readFile(t, f), sets[i][j].Data) {
				t.Errorf("cabinet %d file %d: %q differs from %q", i, j, f.Name, sets[i][j].Name)
			}
		}
	}
	// NewReader keeps reading the first cabinet only.
	if r := openBytes(t, data); len(r.File) != 1 || r.File[0].Name != "one/a.txt" {
		t.Errorf("NewReader read %v", r.File)
	}
	// A file without a cabinet is refused as NewReader refuses it.
	if _, err := NewReaders(bytes.NewReader(data[:offs[0]+20]), offs[0]+20); !errors.Is(err, ErrFormat) {
		t.Errorf("no cabinet: %v, want ErrFormat", err)
	}
}

func TestOpenRawEmbeddedCabinet(t *testing.T) {
	cabData := writeCab(t, sampleFiles()[:3])
	exe := append([]byte("MZ stub program MSCF not a cabinet "), cabData...)
	at := len(exe) - len(cabData)
	exe = append(exe, "trailing signature"...)
	r := openBytes(t, exe)
	raw, err := io.ReadAll(r.OpenRaw())
	if err != nil || !bytes.Equal(raw, cabData) {
		t.Fatalf("OpenRaw: %d bytes (%v), want the %d bytes of the cabinet", len(raw), err, len(cabData))
	}
	if sr := r.OpenRaw(); sr.Size() != int64(len(cabData)) {
		t.Errorf("size %d, want %d", sr.Size(), len(cabData))
	}
	// The bytes are a cabinet of their own.
	if again := openBytes(t, raw); len(again.File) != 3 {
		t.Errorf("raw bytes hold %d files", len(again.File))
	}
	// A cut-short embedded cabinet: clamped to the file.
	cut := exe[:at+len(cabData)-100]
	if got := openBytes(t, cut).Cabinets[0].OpenRaw().Size(); got != int64(len(cabData)-100) {
		t.Errorf("truncated: raw size %d, want %d", got, len(cabData)-100)
	}
}

// TestFolderFailureRemembered: once decoding a folder failed, the files
// after the failure fail at once with that error, naming the file whose
// data failed, without decoding the folder again.
func TestFolderFailureRemembered(t *testing.T) {
	files := []testFile{{Name: "big.bin", Data: mixedData(21, 200_000), Method: MSZIP}}
	for i := range 50 {
		files = append(files, testFile{Name: fmt.Sprintf("small%02d.txt", i), Data: []byte("small"), Method: MSZIP})
	}
	data := writeCab(t, files)
	r := openBytes(t, data[:firstBlock(data)+30_000])
	if _, err := r.File[1].Open(); err == nil {
		t.Fatal("small00.txt opened past the cut")
	}
	fo := r.folders[0]
	if fo.failErr == nil || fo.failPos <= 0 {
		t.Fatalf("failure not remembered: %v at %d", fo.failErr, fo.failPos)
	}
	for _, f := range r.File[2:] {
		_, err := f.Open()
		if !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), `decoding the data of "big.bin" before it`) {
			t.Fatalf("%s: %v", f.Name, err)
		}
	}
}
