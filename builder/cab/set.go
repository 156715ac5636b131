package cab

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxSetSize bounds how many cabinets OpenReader follows, so that a set
// whose cabinets name each other in a loop cannot make it run forever.
const maxSetSize = 1024

// segment is the part of a folder stored in one cabinet.
type segment struct {
	cab     *Cabinet
	offset  int64
	nblocks int
}

// folder is a folder of the set: one folder, or a folder continued over
// several cabinets.
type folder struct {
	index    int
	comp     uint16
	segments []segment
	missing  error // set when the folder continues into a cabinet not given

	// The first failure decoding the folder, at the folder offset of the
	// block that failed: files from there on fail at once with it, rather
	// than each decoding the folder up to it again. Guarded by Reader.mu.
	failPos int64
	failErr error
}

// OpenReader opens the cabinet file name. When the cabinet belongs to a
// set, the other cabinets are looked for in the same directory under the
// names the cabinets record (ignoring case), back to the first and on to
// the last, and the whole set is read as one. Cabinets that cannot be
// found leave the files that need them unreadable, with an error saying
// which cabinet is missing.
func OpenReader(name string) (*ReadCloser, error) {
	rc := &ReadCloser{}
	open := func(path, label string) (*Cabinet, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		c, err := findCabinet(f, fi.Size(), label)
		if err != nil {
			f.Close()
			return nil, err
		}
		rc.files = append(rc.files, f)
		return c, nil
	}
	first, err := open(name, name)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(name)
	seen := map[string]bool{strings.ToLower(filepath.Clean(name)): true}
	cabs := []*Cabinet{first}
	// Walk back to the first cabinet, then on to the last.
	for c := first; c.Prev != "" && len(cabs) < maxSetSize; {
		prev, ok := sibling(dir, c.Prev, seen)
		if !ok {
			break
		}
		p, err := open(prev, c.Prev)
		if err != nil || p.SetID != first.SetID || p.Next == "" {
			break
		}
		cabs = append([]*Cabinet{p}, cabs...)
		c = p
	}
	for c := first; c.Next != "" && len(cabs) < maxSetSize; {
		next, ok := sibling(dir, c.Next, seen)
		if !ok {
			break
		}
		n, err := open(next, c.Next)
		if err != nil || n.SetID != first.SetID || n.Prev == "" {
			break
		}
		cabs = append(cabs, n)
		c = n
	}
	if err := rc.init(cabs); err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

// OpenSet opens the cabinets of a set given by their paths, in set order.
func OpenSet(paths ...string) (*ReadCloser, error) {
	rc := &ReadCloser{}
	var parts []Part
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			rc.Close()
			return nil, err
		}
		rc.files = append(rc.files, f)
		fi, err := f.Stat()
		if err != nil {
			rc.Close()
			return nil, err
		}
		parts = append(parts, Part{Name: p, R: f, Size: fi.Size()})
	}
	cabs, err := findCabinets(parts)
	if err == nil {
		err = rc.init(cabs)
	}
	if err != nil {
		rc.Close()
		return nil, err
	}
	return rc, nil
}

// sibling finds the file a cabinet names in dir, ignoring case, and only
// when the name is a plain file name (a cabinet cannot send the reader
// elsewhere in the file system).
func sibling(dir, name string, seen map[string]bool) (string, bool) {
	if name == "" || strings.ContainsAny(name, `/\:`) || name == "." || name == ".." {
		return "", false
	}
	path := filepath.Join(dir, name)
	if _, err := os.Stat(path); err != nil {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return "", false
		}
		path = ""
		for _, e := range ents {
			if strings.EqualFold(e.Name(), name) {
				path = filepath.Join(dir, e.Name())
				break
			}
		}
		if path == "" {
			return "", false
		}
	}
	key := strings.ToLower(filepath.Clean(path))
	if seen[key] {
		return "", false
	}
	seen[key] = true
	return path, true
}

// spans reports whether c has a file that continues into the next
// cabinet, or from the previous one.
func spans(c *Cabinet, toNext bool) bool {
	for _, f := range c.files {
		switch f.ifold {
		case ifoldContinuedPrevAndNext:
			return true
		case ifoldContinuedToNext:
			if toNext {
				return true
			}
		case ifoldContinuedFromPrev:
			if !toNext {
				return true
			}
		}
	}
	return false
}

// init joins the cabinets of a set: a folder that continues from one
// cabinet into the next becomes one folder, and a file listed in both
// cabinets is listed once.
func (r *Reader) init(cabs []*Cabinet) error {
	r.Cabinets = cabs
	for k, c := range cabs {
		merge := k > 0 && cabs[k-1].Next != "" && c.Prev != "" &&
			(spans(cabs[k-1], true) || spans(c, false))
		first := len(r.folders)
		for j, rf := range c.folders {
			seg := segment{cab: c, offset: rf.offset, nblocks: rf.nblocks}
			if j == 0 && merge {
				last := r.folders[len(r.folders)-1]
				if last.comp != rf.comp {
					return fmt.Errorf("cab: %s: folder 0 continues a folder of method %#x with method %#x: %w",
						c.Name, last.comp, rf.comp, ErrFormat)
				}
				last.segments = append(last.segments, seg)
				first--
				continue
			}
			r.folders = append(r.folders, &folder{index: len(r.folders), comp: rf.comp, segments: []segment{seg}})
		}
		// The last folder of the last cabinet given may continue into a
		// cabinet that is missing.
		if k == len(cabs)-1 && c.Next != "" && spans(c, true) {
			r.folders[len(r.folders)-1].missing = fmt.Errorf("cab: next cabinet %q not found: %w", c.Next, fs.ErrNotExist)
		}
		for i := range c.files {
			rf := &c.files[i]
			f := &File{FileHeader: rf.hdr, r: r}
			switch rf.ifold {
			case ifoldContinuedFromPrev, ifoldContinuedPrevAndNext:
				if merge {
					continue // listed by the previous cabinet
				}
				f.folder = first
				f.bad = fmt.Errorf("cab: file %q starts in previous cabinet %q, not found: %w", f.Name, c.Prev, fs.ErrNotExist)
			case ifoldContinuedToNext:
				f.folder = len(r.folders) - 1
			default:
				f.folder = first + int(rf.ifold)
			}
			f.Method = Method(r.folders[f.folder].comp & 0xf)
			r.File = append(r.File, f)
		}
	}
	return nil
}
