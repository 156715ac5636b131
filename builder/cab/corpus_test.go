package cab

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/builder/cab/internal/cabtest"
	"github.com/google/go-cmp/cmp"
)

// corpusDir holds cabinets written by other tools with the verdict of the
// reference extractor (cabextract 1.9) for each; see its README.
var corpusDir = cabtest.CorpusDir()

func isSentinel(err error) bool {
	return errors.Is(err, ErrFormat) || errors.Is(err, ErrChecksum) || errors.Is(err, ErrAlgorithm) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, os.ErrNotExist)
}

type result struct {
	openErr error
	sums    map[string]string // name -> md5 of the first good file of that name
	allSums []string
	errs    map[string]error
}

func readAll(path string) result {
	res := result{sums: map[string]string{}, errs: map[string]error{}}
	r, err := OpenReader(path)
	if err != nil {
		res.openErr = err
		return res
	}
	defer r.Close()
	for _, f := range r.File {
		h := md5.New()
		rc, err := f.Open()
		if err == nil {
			var n int64
			n, err = io.Copy(h, rc)
			rc.Close()
			if err == nil && n != f.Size {
				err = errors.New("short read without error")
			}
		}
		if err != nil {
			res.errs[f.Name] = err
			continue
		}
		sum := hex.EncodeToString(h.Sum(nil))
		if _, ok := res.sums[f.Name]; !ok {
			res.sums[f.Name] = sum
		}
		res.allSums = append(res.allSums, sum)
	}
	return res
}

func TestCorpus(t *testing.T) {
	for _, c := range cabtest.Cases(t) {
		cabPath, v := c.Path, c.Exp
		t.Run(c.Name+".txt", func(t *testing.T) {
			if slices.Contains(v.Tags, "multipart") {
				cabPath = withLinks(t, cabPath)
			}
			done := make(chan result, 1)
			go func() { done <- readAll(cabPath) }()
			var res result
			select {
			case res = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("reading the cabinet hangs")
			}
			for name, err := range res.errs {
				if !isSentinel(err) {
					t.Errorf("file %q: error wraps no sentinel: %v", name, err)
				}
			}
			if res.openErr != nil && !isSentinel(res.openErr) {
				t.Errorf("open: error wraps no sentinel: %v", res.openErr)
			}
			if v.Check == "safety" {
				// Hostile input: refusing is fine, and so is reading
				// (what is written to disk is tested elsewhere).
				return
			}
			switch v.Status {
			case "ok":
				if res.openErr != nil {
					t.Fatalf("open: %v", res.openErr)
				}
				for name, err := range res.errs {
					t.Errorf("file %q: %v", name, err)
				}
				if v.Check == "loose" {
					got, want := slices.Sorted(slices.Values(res.allSums)), slices.Sorted(slices.Values(v.GoodSums))
					want = slices.Compact(want)
					got = slices.Compact(got)
					if !slices.Equal(got, want) {
						t.Errorf("contents: got %v, want %v", got, want)
					}
					return
				}
				for name, sum := range v.Good {
					if got, ok := res.sums[name]; !ok {
						t.Errorf("file %q missing; have %v", name, keys(res.sums))
					} else if got != sum {
						t.Errorf("file %q: md5 %s, want %s", name, got, sum)
					}
				}
			case "reject":
				if res.openErr == nil && len(res.sums) > 0 {
					t.Errorf("cabinet refused by the reference was read: %v (errors %v)", keys(res.sums), res.errs)
				}
			case "partial":
				if res.openErr != nil {
					t.Fatalf("open: %v", res.openErr)
				}
				for name, sum := range v.Good {
					if res.sums[name] != sum {
						t.Errorf("file %q: md5 %q, want %s (err %v)", name, res.sums[name], sum, res.errs[name])
					}
				}
				for _, name := range v.Failed {
					if res.errs[name] == nil {
						t.Errorf("file %q was read; the reference failed it", name)
					}
				}
			default:
				t.Fatalf("unknown status %q", v.Status)
			}
		})
	}
}

func keys(m map[string]string) []string {
	return slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	})
}

// withLinks mirrors the directory of path in a temporary directory, turning
// the corpus's link stubs (small files holding the name of a sibling, as
// symbolic links are stored in the corpus) back into symbolic links, so
// that the cabinets of a set find each other by the names they record.
func withLinks(t *testing.T, path string) string {
	t.Helper()
	src, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		target := e.Name()
		if info, err := e.Info(); err == nil && info.Size() < 256 {
			b, _ := os.ReadFile(filepath.Join(src, e.Name()))
			if name := strings.TrimSpace(string(b)); name != "" && !strings.ContainsAny(name, "/\\\x00") {
				if _, err := os.Stat(filepath.Join(src, name)); err == nil {
					target = name
				}
			}
		}
		if err := os.Symlink(filepath.Join(src, target), filepath.Join(dst, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dst, filepath.Base(path))
}

// TestCorpusEveryCabinet reads every cabinet of the corpus files that hold
// several, as cabextract's search does, and checks that the files of all
// of them are those cabextract -t tested, in the same order.
func TestCorpusEveryCabinet(t *testing.T) {
	tested := 0
	for _, c := range cabtest.Cases(t) {
		if !slices.Contains(c.Exp.Tags, "search") || c.Exp.Status != "ok" {
			continue
		}
		tested++
		t.Run(c.Name, func(t *testing.T) {
			data, err := os.ReadFile(c.Path)
			if err != nil {
				t.Fatal(err)
			}
			rs, err := NewReaders(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			var sums []string
			for _, r := range rs {
				for _, f := range r.File {
					sums = append(sums, fmt.Sprintf("%x", md5.Sum(readFile(t, f))))
				}
			}
			if diff := cmp.Diff(c.Exp.Tested, sums); diff != "" {
				t.Errorf("%d cabinets; files against cabextract -t (-want +got):\n%s", len(rs), diff)
			}
		})
	}
	if tested == 0 {
		t.Fatal("no corpus file tagged search")
	}
}
