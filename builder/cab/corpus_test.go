package cab

import (
	"bufio"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// corpusDir holds cabinets written by other tools with the verdict of the
// reference extractor (cabextract 1.9) for each; see its README.
const corpusDir = "../../../shared/cabs"

type verdict struct {
	status, check string
	tags          []string
	good          map[string]string // name -> md5
	goodSums      []string
	failed        []string
}

func readVerdict(t *testing.T, path string) verdict { return readVerdictB(t, path) }

func readVerdictB(t testing.TB, path string) verdict {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v := verdict{good: map[string]string{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "== "):
			section = strings.Fields(line)[1]
		case section == "" && strings.HasPrefix(line, "status:"):
			v.status = strings.TrimSpace(strings.TrimPrefix(line, "status:"))
		case section == "" && strings.HasPrefix(line, "check:"):
			v.check = strings.TrimSpace(strings.TrimPrefix(line, "check:"))
		case section == "" && strings.HasPrefix(line, "tags:"):
			v.tags = strings.Fields(strings.TrimPrefix(line, "tags:"))
		case section == "good" && line != "":
			sum, name, _ := strings.Cut(line, "  ")
			v.good[name] = sum
			v.goodSums = append(v.goodSums, sum)
		case section == "failed" && line != "":
			name, _, _ := strings.Cut(line, ": ")
			v.failed = append(v.failed, name)
		}
	}
	return v
}

func corpus(t testing.TB) []string {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("cabinet corpus missing in CI: %v", err)
		}
		t.Skipf("cabinet corpus %s not present: %v", corpusDir, err)
	}
	exp, err := filepath.Glob(filepath.Join(corpusDir, "expected", "*", "*.cab.txt"))
	if err != nil || len(exp) == 0 {
		t.Fatalf("no expected files in corpus: %v", err)
	}
	return exp
}

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
	for _, exp := range corpus(t) {
		rel, _ := filepath.Rel(filepath.Join(corpusDir, "expected"), exp)
		cabPath := filepath.Join(corpusDir, strings.TrimSuffix(rel, ".txt"))
		t.Run(rel, func(t *testing.T) {
			v := readVerdict(t, exp)
			if slices.Contains(v.tags, "multipart") {
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
			if v.check == "safety" {
				// Hostile input: refusing is fine, and so is reading
				// (what is written to disk is tested elsewhere).
				return
			}
			switch v.status {
			case "ok":
				if res.openErr != nil {
					t.Fatalf("open: %v", res.openErr)
				}
				for name, err := range res.errs {
					t.Errorf("file %q: %v", name, err)
				}
				if v.check == "loose" {
					got, want := slices.Sorted(slices.Values(res.allSums)), slices.Sorted(slices.Values(v.goodSums))
					want = slices.Compact(want)
					got = slices.Compact(got)
					if !slices.Equal(got, want) {
						t.Errorf("contents: got %v, want %v", got, want)
					}
					return
				}
				for name, sum := range v.good {
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
				for name, sum := range v.good {
					if res.sums[name] != sum {
						t.Errorf("file %q: md5 %q, want %s (err %v)", name, res.sums[name], sum, res.errs[name])
					}
				}
				for _, name := range v.failed {
					if res.errs[name] == nil {
						t.Errorf("file %q was read; the reference failed it", name)
					}
				}
			default:
				t.Fatalf("unknown status %q", v.status)
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
