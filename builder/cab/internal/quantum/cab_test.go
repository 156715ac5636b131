package quantum

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// corpusCab is one Quantum folder of a corpus cabinet.
type corpusCab struct {
	path   string // relative to the corpus
	cab    *cabtest.Cabinet
	folder int
	exp    *cabtest.Expectation
}

// quantumCorpus lists every Quantum folder in the corpus, from the
// cabinets whose structure reads in full. It skips the test only when the
// corpus folder is absent, and never in CI.
func quantumCorpus(tb testing.TB) []corpusCab {
	tb.Helper()
	cases := cabtest.Cases(tb)
	var out []corpusCab
	for _, c := range cases {
		b, err := os.ReadFile(c.Path)
		if err != nil {
			tb.Fatal(err)
		}
		cab, err := cabtest.Parse(b)
		if err != nil {
			continue // not a readable cabinet: not this package's concern
		}
		for i, f := range cab.Folders {
			if f.Method() == cabtest.Quantum {
				out = append(out, corpusCab{c.Name, cab, i, c.Exp})
			}
		}
	}
	// Every cabinet with a Quantum folder has an expectation.
	names, _, err := cabtest.CorpusFolders(cabtest.Quantum)
	if err != nil {
		tb.Fatal(err)
	}
	have := map[string]bool{}
	for _, c := range cases {
		have[c.Name] = true
	}
	for _, n := range names {
		if !have[n] {
			tb.Errorf("%s: Quantum cabinet without an expectation file", n)
		}
	}
	return out
}

// decodeFolder decodes a Quantum folder's blocks in order. It returns the
// output decoded before the first error, and that error.
func decodeFolder(f cabtest.Folder) ([]byte, error) {
	d, err := NewDecoder(f.WindowBits())
	if err != nil {
		return nil, err
	}
	var out []byte
	for i, blk := range f.Blocks {
		dst := make([]byte, blk.Size)
		if err := d.DecodeFrame(dst, blk.Data); err != nil {
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
			f := cc.cab.Folders[cc.folder]
			start := time.Now()
			out, err := decodeFolder(f)
			if time.Since(start) > 10*time.Second {
				t.Errorf("decoding took %v", time.Since(start))
			}
			if err != nil && !errors.Is(err, ErrCorrupt) {
				t.Errorf("error %v does not wrap ErrCorrupt", err)
			}
			t.Logf("status %s: %d blocks, %d bytes decoded, err %v", cc.exp.Status, len(f.Blocks), len(out), err)
			failed := cc.exp.FailedSet()
			for _, file := range cc.cab.Files {
				if file.Folder != cc.folder {
					continue
				}
				end := int64(file.Offset) + int64(file.Size)
				complete := end <= int64(len(out))
				if sum, ok := cc.exp.Good[file.Name]; ok {
					if !complete {
						t.Errorf("%s: reference extracted it, we decoded only %d of %d bytes (%v)", file.Name, len(out), end, err)
						continue
					}
					got := md5.Sum(out[file.Offset:end])
					if hex.EncodeToString(got[:]) != sum {
						t.Errorf("%s: md5 %x, want %s", file.Name, got, sum)
					}
				}
				if failed[file.Name] {
					switch {
					case !complete && err != nil:
						t.Logf("%s: rejected as by the reference: %v", file.Name, err)
					case !complete:
						t.Logf("%s: extends past the folder's data (%d > %d): the cabinet reader rejects it", file.Name, end, len(out))
					default:
						t.Errorf("%s: reference failed it, but we decoded it without error", file.Name)
					}
				}
			}
		})
	}
}
