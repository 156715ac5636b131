package cab

import (
	"crypto/md5"
	"encoding/hex"
	"io"
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
