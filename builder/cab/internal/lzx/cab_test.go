package lzx

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"os"
	"slices"
	"testing"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// TestCorpus decodes the LZX folders of the corpus cabinets and checks
// the files in them against what cabextract extracted, or that the
// decoder refuses the cabinets cabextract failed to decompress.
func TestCorpus(t *testing.T) {
	tested := 0
	for _, c := range cabtest.Cases(t) {
		if !slices.Contains(c.Exp.Tags, "lzx") {
			continue
		}
		tested++
		t.Run(c.Name, func(t *testing.T) {
			data, err := os.ReadFile(c.Path)
			if err != nil {
				t.Fatal(err)
			}
			checkCorpusCab(t, data, c.Exp)
		})
	}
	if tested == 0 {
		t.Fatal("no LZX cabinet in the corpus")
	}
}

func checkCorpusCab(t *testing.T, data []byte, exp *cabtest.Expectation) {
	cab, err := cabtest.Parse(data)
	perr := err
	if cab != nil {
		perr = cab.Complete(err)
	}
	if perr != nil {
		if exp.Status == "ok" {
			t.Fatalf("cabinet structure: %v", perr)
		}
		t.Logf("cabinet structure: %v (reference: %s)", perr, exp.Status)
		// Decode what there is of the folders anyway, for safety; the
		// files of a damaged cabinet are not checked.
		if cab == nil {
			cab = &cabtest.Cabinet{}
		}
		cab.Files = nil
	}
	decodeFailed := false
	for fi, f := range cab.Folders {
		if f.Method() != cabtest.LZX {
			continue
		}
		wb := f.WindowBits()
		d, err := NewDecoder(wb)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("folder %d: NewDecoder error %v does not match ErrCorrupt", fi, err)
			}
			decodeFailed = true
			continue
		}
		out, err := decodeWith(d, f.Payloads(), f.Sizes())
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("folder %d: error %v does not match ErrCorrupt", fi, err)
			}
			t.Logf("folder %d (window 2^%d, %d blocks): %v", fi, wb, len(f.Blocks), err)
			decodeFailed = true
			if exp.Status == "ok" {
				t.Errorf("folder %d: %v", fi, err)
			}
			continue
		}
		for _, file := range cab.Files {
			if file.Folder != fi {
				continue
			}
			if file.Offset+file.Size > len(out) || file.Offset < 0 {
				t.Logf("file %s beyond folder output", file.Name)
				continue
			}
			sum := md5.Sum(out[file.Offset : file.Offset+file.Size])
			got := hex.EncodeToString(sum[:])
			want, ok := exp.Good[file.Name]
			if !ok {
				// Names in legacy code pages: match by content.
				for _, w := range exp.Good {
					if w == got {
						want, ok = w, true
					}
				}
			}
			switch {
			case !ok && exp.Status == "ok":
				t.Errorf("file %s (md5 %s) not among the expected files", file.Name, got)
			case ok && want != got:
				t.Errorf("file %s: md5 %s, want %s", file.Name, got, want)
			case ok:
				t.Logf("file %s: md5 %s ok", file.Name, got)
			}
		}
	}
	if exp.Status == "reject" && perr == nil && len(exp.Failed) > 0 && !decodeFailed {
		t.Errorf("reference failed %v, decoder did not", exp.Failed)
	}
}

// corpusFolders returns the LZX folders of every corpus cabinet with at
// least one block, for fuzz seeds; nil when the corpus is absent.
func corpusFolders() (folders []cabtest.Folder) {
	_, all, _ := cabtest.CorpusFolders(cabtest.LZX)
	for _, f := range all {
		if len(f.Blocks) > 0 {
			folders = append(folders, f)
		}
	}
	return folders
}

// writeCab builds a cabinet of one LZX folder holding one file.
func writeCab(name string, windowBits int, content int, blocks [][]byte, sizes []int) []byte {
	return cabtest.OneFolder(name, uint16(cabtest.LZX|windowBits<<8), 0, content, blocks, sizes)
}
