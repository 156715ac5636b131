// Package extract lists, tests and extracts the files of Microsoft Cabinet
// files, for duws cab (in the manner of cabextract): the files of one
// folder in order, different folders in parallel, every name checked
// before anything is created, and each file written through a temporary
// file, so a file that fails half-way leaves nothing behind.
package extract

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/duws/duws/builder/cab"
)

// Opened is what Open found in a file: one cabinet, with the rest of its
// set, or several cabinets one after another, each read alone, as
// cabextract's search finds them.
type Opened struct {
	Cabinets []*Cabinet
	close    func() error
}

// Close closes the files Open opened.
func (o *Opened) Close() error { return o.close() }

// Cabinet is one cabinet of an opened file.
type Cabinet struct {
	r *cab.Reader
	// Offset is where the cabinet starts in the file.
	Offset int64
	// Continues names the further cabinets of its set, in order.
	Continues []string
	// Files are the files of the set, in cabinet order.
	Files []File
}

// File describes one file of a cabinet.
type File struct {
	Name     string
	Size     int64
	Modified time.Time
}

// Open opens the cabinets of the file name: the cabinet with the rest of
// its set when the file holds one, or every cabinet of a file holding
// several.
func Open(name string) (*Opened, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if offs, err := cab.Search(f, fi.Size(), 2); err != nil || len(offs) < 2 {
		f.Close()
		r, err := cab.OpenReader(name)
		if err != nil {
			return nil, err
		}
		c := newCabinet(&r.Reader)
		for _, next := range r.Cabinets[1:] {
			c.Continues = append(c.Continues, next.Name)
		}
		return &Opened{Cabinets: []*Cabinet{c}, close: r.Close}, nil
	}
	rs, err := cab.NewReaders(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	o := &Opened{close: f.Close}
	for _, r := range rs {
		o.Cabinets = append(o.Cabinets, newCabinet(r))
	}
	return o, nil
}

func newCabinet(r *cab.Reader) *Cabinet {
	c := &Cabinet{r: r, Offset: r.Cabinets[0].Offset}
	for _, f := range r.File {
		c.Files = append(c.Files, File{Name: f.Name, Size: f.Size, Modified: f.Modified})
	}
	return c
}

// Options say what Walk does.
type Options struct {
	Test   bool   // decompress and verify, writing nothing
	Dir    string // extract below this directory
	Filter string // only files whose name matches (path.Match, case-insensitive)
}

// CheckFilter reports a malformed filter pattern.
func CheckFilter(filter string) error {
	_, err := path.Match(filter, "")
	return err
}

// Result is what became of one file.
type Result struct {
	Name string
	Sum  string // with Test: the file's MD5, as cabextract -t prints it
	// Note, when set, says why an extracted file was not written: an
	// earlier cabinet of the same file gave a file of that name with the
	// same bytes.
	Note string
	Err  error
}

// Walk tests or extracts the files the filter selects, of every cabinet,
// and returns what became of each, per cabinet in cabinet order. Several
// cabinets of one file go to the same directory: a file whose name an
// earlier cabinet gave already is compared, never written over. Walk's
// error is one that stops everything (the output directory cannot be
// made).
func (o *Opened) Walk(opts Options) ([][]Result, error) {
	var root *os.Root
	if !opts.Test {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, err
		}
		var err error
		if root, err = os.OpenRoot(opts.Dir); err != nil {
			return nil, err
		}
		defer root.Close()
	}
	var done map[string]extracted
	if len(o.Cabinets) > 1 && !opts.Test {
		done = map[string]extracted{}
	}
	out := make([][]Result, len(o.Cabinets))
	for i, c := range o.Cabinets {
		out[i] = c.walk(root, opts, done)
	}
	return out, nil
}

// extracted remembers a file written from an earlier cabinet of the same
// file.
type extracted struct {
	offset int64
	sum    string
}

func (c *Cabinet) walk(root *os.Root, opts Options, done map[string]extracted) []Result {
	files := selectFiles(c.r.File, opts.Filter)
	results := walkFolders(files, func(f *cab.File) fileResult {
		switch {
		case opts.Test:
			return testFile(f)
		case done != nil:
			if prev, ok := done[strings.ToLower(f.Name)]; ok {
				return compareFile(f, prev)
			}
			return extractFile(root, f, true)
		}
		return extractFile(root, f, false)
	}, seenNames(files))
	out := make([]Result, len(files))
	for i, f := range files {
		res := results[i]
		out[i] = Result{Name: f.Name, Sum: res.sum, Note: res.note, Err: res.err}
		if done != nil && res.err == nil && res.note == "" {
			done[strings.ToLower(f.Name)] = extracted{c.Offset, res.sum}
		}
	}
	return out
}

// compareFile decodes a file of a later cabinet whose name an earlier
// cabinet of the same file gave already: the same bytes are fine
// (cabextract would write them again), other bytes are refused, not
// written over.
func compareFile(f *cab.File, prev extracted) fileResult {
	res := testFile(f)
	switch {
	case res.err != nil:
		return res
	case res.sum != prev.sum:
		return fileResult{err: fmt.Errorf("same name as a file of the cabinet at offset %d with other contents, not overwritten", prev.offset)}
	}
	return fileResult{sum: res.sum, note: fmt.Sprintf("identical to the file of the cabinet at offset %d", prev.offset)}
}

// fileResult is what became of one file.
type fileResult struct {
	sum  string
	note string // said after the file's line, when not an error
	err  error
}

func selectFiles(all []*cab.File, filter string) []*cab.File {
	if filter == "" {
		return all
	}
	var out []*cab.File
	for _, f := range all {
		if ok, _ := path.Match(strings.ToLower(filter), strings.ToLower(f.Name)); ok {
			out = append(out, f)
		}
	}
	return out
}

// seenNames returns, for each file, an error when an earlier file of the
// list has the same name (ignoring case, as file systems may): extracting
// it would silently overwrite the first.
func seenNames(files []*cab.File) []error {
	errs := make([]error, len(files))
	first := map[string]int{}
	for i, f := range files {
		key := strings.ToLower(f.Name)
		if j, ok := first[key]; ok {
			errs[i] = fmt.Errorf("same name as file %d, not overwritten", j+1)
			continue
		}
		first[key] = i
	}
	return errs
}

// walkFolders runs do over the files, the files of each folder in order,
// different folders in parallel, and returns the results in file order.
func walkFolders(files []*cab.File, do func(*cab.File) fileResult, dup []error) []fileResult {
	results := make([]fileResult, len(files))
	byFolder := map[int][]int{}
	var order []int
	for i, f := range files {
		k := f.FolderIndex()
		if _, ok := byFolder[k]; !ok {
			order = append(order, k)
		}
		byFolder[k] = append(byFolder[k], i)
	}
	work := make(chan []int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range work {
				for _, i := range idx {
					if dup[i] != nil && files[i] != nil {
						results[i] = fileResult{err: dup[i]}
						continue
					}
					results[i] = do(files[i])
				}
			}
		}()
	}
	for _, k := range order {
		work <- byFolder[k]
	}
	close(work)
	wg.Wait()
	return results
}

// testFile decodes a file, verifying the block checksums on the way, and
// returns its MD5 as cabextract -t prints it.
func testFile(f *cab.File) fileResult {
	rc, err := f.Open()
	if err != nil {
		return fileResult{err: err}
	}
	defer rc.Close()
	h := md5.New()
	if f.Size < pipeThreshold {
		_, err = io.Copy(h, rc) // not worth a second goroutine
	} else {
		err = copyHash(h, rc)
	}
	if err != nil {
		return fileResult{err: err}
	}
	return fileResult{sum: hex.EncodeToString(h.Sum(nil))}
}

// pipeThreshold is the file size from which decoding and hashing run on
// two cores; below it, the hand-over would cost more than it saves.
const pipeThreshold = 4 << 20

// pipeChunk is the unit copyHash hands from the decoding goroutine to the
// hashing one: large enough that the hand-over costs nothing measurable.
const pipeChunk = 256 << 10

// copyHash hashes what rc yields, decoding and hashing on two cores: the
// decoder fills buffers in its own goroutine while this one hashes.
func copyHash(h hash.Hash, rc io.Reader) error {
	const nbuf = 4
	free := make(chan []byte, nbuf)
	for range nbuf {
		free <- make([]byte, pipeChunk)
	}
	full := make(chan []byte, nbuf)
	errc := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				errc <- nil
				return
			}
			n, err := io.ReadFull(rc, buf)
			if n > 0 {
				full <- buf[:n]
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				errc <- nil
				return
			}
			if err != nil {
				errc <- err
				return
			}
		}
	}()
	for buf := range full {
		h.Write(buf)
		free <- buf[:cap(buf)]
	}
	close(stop)
	return <-errc
}

// tempAttempts bounds the tries at a fresh temporary name.
const tempAttempts = 10

// createTemp creates a file with a short random name in dir below root:
// the name is independent of the file's own, so that a name as long as the
// file system allows still has room for its temporary.
func createTemp(root *os.Root, dir string, mode os.FileMode) (*os.File, string, error) {
	for range tempAttempts {
		name := filepath.Join(dir, fmt.Sprintf(".duws-%016x.tmp", rand.Uint64()))
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", fmt.Errorf("no free temporary name in %q after %d attempts", dir, tempAttempts)
}

// extractFile writes f below root, through a temporary file renamed into
// place, so a file that fails half-way leaves nothing behind. With sum it
// also returns the file's MD5.
func extractFile(root *os.Root, f *cab.File, sum bool) fileResult {
	if err := cab.ValidName(f.Name); err != nil {
		return fileResult{err: err}
	}
	name := filepath.FromSlash(f.Name)
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fileResult{err: nameError(err)}
		}
	}
	out, tmp, err := createTemp(root, filepath.Dir(name), f.Mode())
	if err != nil {
		return fileResult{err: err}
	}
	var h hash.Hash
	var w io.Writer = out
	if sum {
		h = md5.New()
		w = io.MultiWriter(out, h)
	}
	rc, err := f.Open()
	if err == nil {
		_, err = io.Copy(w, rc)
		rc.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chtimes(tmp, f.Modified, f.Modified)
	}
	if err == nil {
		err = nameError(root.Rename(tmp, name))
	}
	if err != nil {
		root.Remove(tmp)
		return fileResult{err: err}
	}
	if h != nil {
		return fileResult{sum: hex.EncodeToString(h.Sum(nil))}
	}
	return fileResult{}
}

// nameError says plainly when a name is too long for the file system, as
// a name decoded from Latin-1 may be: a 255-byte name can become 510
// bytes of UTF-8.
func nameError(err error) error {
	if errors.Is(err, syscall.ENAMETOOLONG) {
		return fmt.Errorf("name too long for the file system: %w", err)
	}
	return err
}
