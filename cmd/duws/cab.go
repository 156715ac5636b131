package main

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

	"github.com/duws/duws/builder/cab"
	"github.com/urfave/cli/v2"
)

func cabCommand() *cli.Command {
	return &cli.Command{
		Name:  "cab",
		Usage: "list, test or extract Microsoft Cabinet files (every cabinet of a file holding several)",
		Subcommands: []*cli.Command{
			{
				Name:      "list",
				Usage:     "list the files of cabinets",
				ArgsUsage: "FILE...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageErrorf("cab list: no cabinet given")
					}
					return cabList(c.App.Writer, c.App.ErrWriter, c.Args().Slice())
				},
			},
			{
				Name:      "test",
				Usage:     "decompress and verify every file, writing nothing",
				ArgsUsage: "FILE...",
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageErrorf("cab test: no cabinet given")
					}
					return cabWalk(c.App.Writer, c.App.ErrWriter, c.Args().Slice(), extractOptions{test: true})
				},
			},
			{
				Name:      "extract",
				Usage:     "extract the files of cabinets",
				ArgsUsage: "FILE...",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "d", Aliases: []string{"directory"}, Value: ".", Usage: "extract into `DIR`"},
					&cli.StringFlag{Name: "filter", Usage: "extract only files whose name matches `GLOB` (path.Match, case-insensitive)"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() == 0 {
						return usageErrorf("cab extract: no cabinet given")
					}
					opts := extractOptions{dir: c.String("d"), filter: c.String("filter")}
					if _, err := path.Match(opts.filter, ""); err != nil {
						return usageErrorf("cab extract: --filter %q: %v", opts.filter, err)
					}
					return cabWalk(c.App.Writer, c.App.ErrWriter, c.Args().Slice(), opts)
				},
			},
		},
	}
}

// cabinet is one cabinet found in a file named on the command line.
type cabinet struct {
	label string // the file's name, with the offset when it holds several
	r     *cab.Reader
}

// openCabinets opens the cabinets of the file name: the cabinet with the
// rest of its set when the file holds one, or, as cabextract's search
// does, every cabinet of a file holding several one after another, each
// read alone and labelled with its offset.
func openCabinets(stderr io.Writer, name string) ([]cabinet, func(), error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	offs, err := cab.Search(f, fi.Size(), 2)
	if err != nil || len(offs) < 2 {
		f.Close()
		r, err := cab.OpenReader(name)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range r.Cabinets[1:] {
			fmt.Fprintf(stderr, "duws: %s: set continues in %s\n", name, c.Name)
		}
		return []cabinet{{name, &r.Reader}}, func() { r.Close() }, nil
	}
	rs, err := cab.NewReaders(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	cabs := make([]cabinet, len(rs))
	var at []string
	for i, r := range rs {
		off := r.Cabinets[0].Offset
		cabs[i] = cabinet{fmt.Sprintf("%s (offset %d)", name, off), r}
		at = append(at, fmt.Sprint(off))
	}
	fmt.Fprintf(stderr, "duws: %s: holds %d cabinets, at offsets %s\n", name, len(rs), strings.Join(at, ", "))
	return cabs, func() { f.Close() }, nil
}

func cabList(stdout, stderr io.Writer, names []string) error {
	failed := false
	for _, name := range names {
		cabs, closeFn, err := openCabinets(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			failed = true
			continue
		}
		for _, c := range cabs {
			fmt.Fprintf(stdout, "Viewing cabinet: %s\n", c.label)
			fmt.Fprintf(stdout, " File size | Date       Time     | Name\n")
			fmt.Fprintf(stdout, "-----------+---------------------+-------------\n")
			for _, f := range c.r.File {
				fmt.Fprintf(stdout, "%10d | %s | %s\n", f.Size, f.Modified.Format("02.01.2006 15:04:05"), f.Name)
			}
			fmt.Fprintln(stdout)
		}
		closeFn()
	}
	if failed {
		return errFailed
	}
	return nil
}

type extractOptions struct {
	test   bool
	dir    string
	filter string
}

// fileResult is what became of one file.
type fileResult struct {
	sum  string
	note string // said after the file's line, when not an error
	err  error
}

// extracted remembers a file written from an earlier cabinet of the same
// file, so that a later cabinet's file of the same name is not written
// over it.
type extracted struct {
	label, sum string
}

func cabWalk(stdout, stderr io.Writer, names []string, opts extractOptions) error {
	nfailed := 0
	for _, name := range names {
		cabs, closeFn, err := openCabinets(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			nfailed++
			continue
		}
		var root *os.Root
		if !opts.test {
			if err := os.MkdirAll(opts.dir, 0o755); err != nil {
				closeFn()
				return err
			}
			if root, err = os.OpenRoot(opts.dir); err != nil {
				closeFn()
				return err
			}
		}
		// Several cabinets of one file go to the same place: files already
		// written from an earlier one are compared, never overwritten.
		var done map[string]extracted
		if len(cabs) > 1 && !opts.test {
			done = map[string]extracted{}
		}
		for _, c := range cabs {
			nfailed += walkCabinet(stdout, stderr, c, root, opts, done)
		}
		if root != nil {
			root.Close()
		}
		closeFn()
	}
	if nfailed > 0 {
		fmt.Fprintf(stdout, "All done, errors in processing %d file(s)\n", nfailed)
		return errFailed
	}
	fmt.Fprintln(stdout, "All done, no errors.")
	return nil
}

// walkCabinet tests or extracts the files of one cabinet and returns how
// many failed.
func walkCabinet(stdout, stderr io.Writer, c cabinet, root *os.Root, opts extractOptions, done map[string]extracted) int {
	verb := "Extracting"
	if opts.test {
		verb = "Testing"
	}
	fmt.Fprintf(stdout, "%s cabinet: %s\n", verb, c.label)
	files := selectFiles(c.r.File, opts.filter)
	results := walkFolders(files, func(f *cab.File) fileResult {
		switch {
		case opts.test:
			return testFile(f)
		case done != nil:
			if prev, ok := done[strings.ToLower(f.Name)]; ok {
				return compareFile(f, prev)
			}
			return extractFile(root, f, true)
		}
		return extractFile(root, f, false)
	}, seenNames(files))
	nfailed := 0
	for i, f := range files {
		res := results[i]
		switch {
		case res.err != nil:
			nfailed++
			fmt.Fprintf(stdout, "  %s  failed\n", f.Name)
			fmt.Fprintf(stderr, "duws: error: %s: %s: %v\n", c.label, f.Name, res.err)
		case opts.test:
			fmt.Fprintf(stdout, "  %-*s  OK  %s\n", 38, f.Name, res.sum)
		case res.note != "":
			fmt.Fprintf(stdout, "  skipping %s: %s\n", filepath.Join(opts.dir, filepath.FromSlash(f.Name)), res.note)
		default:
			fmt.Fprintf(stdout, "  extracting %s\n", filepath.Join(opts.dir, filepath.FromSlash(f.Name)))
		}
		if done != nil && res.err == nil && res.note == "" {
			done[strings.ToLower(f.Name)] = extracted{c.label, res.sum}
		}
	}
	fmt.Fprintln(stdout)
	return nfailed
}

// compareFile decodes a file of a later cabinet whose name an earlier
// cabinet of the same file already gave: the same bytes are fine (cabextract
// would write them again), other bytes are refused, not written over.
func compareFile(f *cab.File, prev extracted) fileResult {
	res := testFile(f)
	switch {
	case res.err != nil:
		return res
	case res.sum != prev.sum:
		return fileResult{err: fmt.Errorf("same name as a file of %s with other contents, not overwritten", prev.label)}
	}
	return fileResult{sum: res.sum, note: "identical to the file of " + prev.label}
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
