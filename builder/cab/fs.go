package cab

import (
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// fsIndex is the tree Reader.Open serves: every file whose name is safe,
// the first of duplicates, and the directories their names imply.
type fsIndex struct {
	files map[string]*File
	dirs  map[string][]fs.DirEntry // sorted entries of each directory
}

func (r *Reader) index() *fsIndex {
	r.fsOnce.Do(func() {
		ix := &fsIndex{files: map[string]*File{}, dirs: map[string][]fs.DirEntry{".": nil}}
		children := map[string]map[string]fs.DirEntry{".": {}}
		var addDir func(dir string)
		addDir = func(dir string) {
			if _, ok := children[dir]; ok {
				return
			}
			children[dir] = map[string]fs.DirEntry{}
			parent := path.Dir(dir)
			addDir(parent)
			children[parent][path.Base(dir)] = dirEntry{name: path.Base(dir)}
		}
		for _, f := range r.File {
			if ValidName(f.Name) != nil {
				continue
			}
			if _, dup := ix.files[f.Name]; dup {
				continue
			}
			if _, isDir := children[f.Name]; isDir {
				continue
			}
			dir := path.Dir(f.Name)
			addDir(dir)
			if _, taken := children[dir][path.Base(f.Name)]; taken {
				continue // a directory of that name came first
			}
			ix.files[f.Name] = f
			children[dir][path.Base(f.Name)] = fs.FileInfoToDirEntry(f.FileInfo())
		}
		for dir, ents := range children {
			list := make([]fs.DirEntry, 0, len(ents))
			for _, e := range ents {
				list = append(list, e)
			}
			slices.SortFunc(list, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
			ix.dirs[dir] = list
		}
		r.fsIndex = ix
	})
	return r.fsIndex
}

// Open opens the named file of the cabinet, as [fs.FS] does, with "/" as
// separator. Files whose names fail [ValidName] are left out, and of
// several files with one name only the first is offered; directories are
// implied by the names.
func (r *Reader) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	ix := r.index()
	if f, ok := ix.files[name]; ok {
		rc, err := f.Open()
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &openFile{f: f, rc: rc}, nil
	}
	if ents, ok := ix.dirs[name]; ok {
		return &openDir{name: name, ents: ents}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

type openFile struct {
	f  *File
	rc io.ReadCloser
}

func (o *openFile) Stat() (fs.FileInfo, error) { return o.f.FileInfo(), nil }
func (o *openFile) Read(p []byte) (int, error) { return o.rc.Read(p) }
func (o *openFile) Close() error               { return o.rc.Close() }

type dirEntry struct{ name string }

func (d dirEntry) Name() string               { return d.name }
func (d dirEntry) IsDir() bool                { return true }
func (d dirEntry) Type() fs.FileMode          { return fs.ModeDir }
func (d dirEntry) Info() (fs.FileInfo, error) { return d, nil }
func (d dirEntry) Size() int64                { return 0 }
func (d dirEntry) Mode() fs.FileMode          { return fs.ModeDir | 0o755 }
func (d dirEntry) ModTime() time.Time         { return time.Time{} }
func (d dirEntry) Sys() any                   { return nil }

type openDir struct {
	name string
	ents []fs.DirEntry
	off  int
}

func (d *openDir) Stat() (fs.FileInfo, error) { return dirEntry{name: path.Base(d.name)}, nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}
func (d *openDir) Close() error { return nil }

func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.ents[d.off:]
	if n <= 0 {
		d.off = len(d.ents)
		return slices.Clone(rest), nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	rest = rest[:min(n, len(rest))]
	d.off += len(rest)
	return slices.Clone(rest), nil
}
