// Package extract lists, tests and extracts the files of Microsoft Cabinet
// files, for duws cab (in the manner of cabextract): the files of one
// folder in order, different folders in parallel, every name checked
// before anything is created, and each file written through a temporary
// file, so a file that fails half-way leaves nothing behind.
package extract

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/duws/duws/builder/cab"
)

// Cabinet is a cabinet opened with the rest of its set.
type Cabinet struct {
	r *cab.ReadCloser
	// Continues names the further cabinets of the set, in order.
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

// Open opens the cabinet name with the rest of its set.
func Open(name string) (*Cabinet, error) {
	r, err := cab.OpenReader(name)
	if err != nil {
		return nil, err
	}
	c := &Cabinet{r: r}
	for _, next := range r.Cabinets[1:] {
		c.Continues = append(c.Continues, next.Name)
	}
	for _, f := range r.File {
		c.Files = append(c.Files, File{Name: f.Name, Size: f.Size, Modified: f.Modified})
	}
	return c, nil
}

// Close closes the cabinet's files.
func (c *Cabinet) Close() error { return c.r.Close() }

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
	Err  error
}

// Walk tests or extracts the files the filter selects, and returns what
// became of each, in cabinet order. Its error is one that stops the whole
// cabinet (the output directory cannot be made).
func (c *Cabinet) Walk(opts Options) ([]Result, error) {
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
	files := selectFiles(c.r.File, opts.Filter)
	results := walkFolders(files, func(f *cab.File) fileResult {
		if opts.Test {
			return testFile(f)
		}
		return extractFile(root, f)
	}, seenNames(files))
	out := make([]Result, len(files))
	for i, f := range files {
		out[i] = Result{Name: f.Name, Sum: results[i].sum, Err: results[i].err}
	}
	return out, nil
}

// fileResult is what became of one file.
type fileResult struct {
	sum string
	err error
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

// extractFile writes f below root, through a temporary file renamed into
// place, so a file that fails half-way leaves nothing behind.
func extractFile(root *os.Root, f *cab.File) fileResult {
	if err := cab.ValidName(f.Name); err != nil {
		return fileResult{err: err}
	}
	name := filepath.FromSlash(f.Name)
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fileResult{err: err}
		}
	}
	tmp := filepath.Join(filepath.Dir(name), ".duws-"+filepath.Base(name)+".tmp")
	out, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.Mode())
	if err != nil {
		return fileResult{err: err}
	}
	rc, err := f.Open()
	if err == nil {
		_, err = io.Copy(out, rc)
		rc.Close()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Chtimes(tmp, f.Modified, f.Modified)
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
		return fileResult{err: err}
	}
	return fileResult{}
}
