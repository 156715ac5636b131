package main

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

	"github.com/duws/duws/builder/cab"
	"github.com/urfave/cli/v2"
)

func cabCommand() *cli.Command {
	return &cli.Command{
		Name:  "cab",
		Usage: "list, test or extract Microsoft Cabinet files",
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

// openCabinet opens name with the rest of its set.
func openCabinet(stderr io.Writer, name string) (*cab.ReadCloser, error) {
	r, err := cab.OpenReader(name)
	if err != nil {
		return nil, err
	}
	for _, c := range r.Cabinets[1:] {
		fmt.Fprintf(stderr, "duws: %s: set continues in %s\n", name, c.Name)
	}
	return r, nil
}

func cabList(stdout, stderr io.Writer, names []string) error {
	failed := false
	for _, name := range names {
		r, err := openCabinet(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			failed = true
			continue
		}
		fmt.Fprintf(stdout, "Viewing cabinet: %s\n", name)
		fmt.Fprintf(stdout, " File size | Date       Time     | Name\n")
		fmt.Fprintf(stdout, "-----------+---------------------+-------------\n")
		for _, f := range r.File {
			fmt.Fprintf(stdout, "%10d | %s | %s\n", f.Size, f.Modified.Format("02.01.2006 15:04:05"), f.Name)
		}
		fmt.Fprintln(stdout)
		r.Close()
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
	sum string
	err error
}

func cabWalk(stdout, stderr io.Writer, names []string, opts extractOptions) error {
	nfailed := 0
	for _, name := range names {
		r, err := openCabinet(stderr, name)
		if err != nil {
			fmt.Fprintf(stderr, "duws: error: %v\n", err)
			nfailed++
			continue
		}
		var root *os.Root
		if !opts.test {
			if err := os.MkdirAll(opts.dir, 0o755); err != nil {
				r.Close()
				return err
			}
			if root, err = os.OpenRoot(opts.dir); err != nil {
				r.Close()
				return err
			}
		}
		verb := "Extracting"
		if opts.test {
			verb = "Testing"
		}
		fmt.Fprintf(stdout, "%s cabinet: %s\n", verb, name)
		files := selectFiles(r.File, opts.filter)
		results := walkFolders(files, func(f *cab.File) fileResult {
			if opts.test {
				return testFile(f)
			}
			return extractFile(root, f)
		}, seenNames(files))
		for i, f := range files {
			res := results[i]
			switch {
			case res.err != nil:
				nfailed++
				fmt.Fprintf(stdout, "  %s  failed\n", f.Name)
				fmt.Fprintf(stderr, "duws: error: %s: %s: %v\n", name, f.Name, res.err)
			case opts.test:
				fmt.Fprintf(stdout, "  %-*s  OK  %s\n", 38, f.Name, res.sum)
			default:
				fmt.Fprintf(stdout, "  extracting %s\n", filepath.Join(opts.dir, filepath.FromSlash(f.Name)))
			}
		}
		if root != nil {
			root.Close()
		}
		r.Close()
		fmt.Fprintln(stdout)
	}
	if nfailed > 0 {
		fmt.Fprintf(stdout, "All done, errors in processing %d file(s)\n", nfailed)
		return errFailed
	}
	fmt.Fprintln(stdout, "All done, no errors.")
	return nil
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
