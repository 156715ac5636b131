package cab

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"testing"
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
