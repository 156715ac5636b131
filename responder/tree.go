package responder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
)

// Tree is a loaded site tree. Everything a check needs — the manifest,
// the test-device table, the network settings, every lookup table and
// every answer — is read when the tree is loaded, so that checks never
// touch the file system and a tree deleted under the responder goes on
// answering until the next swap. Update files are served through an
// [os.Root] of the tree, and up to [maxHeldFiles] of them are held open
// from load time for the same reason. A Tree never changes; a new tree is
// a new Tree.
//
// # Limits
//
// Memory grows with the tree's lookup tables and answers (a few KiB per
// identity and update type), not with what devices send. A tree with more
// than maxHeldFiles update files serves the rest only while they exist.
type Tree struct {
	ID       string // directory name: the manifest's SHA-256
	Dir      string
	Manifest site.Manifest
	Devices  site.Devices
	Service  site.Service
	Built    time.Time

	files    map[string]*treeFile    // lower-case path under files/
	lookups  map[string]*site.Lookup // lookup path -> table
	answers  map[string][]byte       // answer path -> bytes
	noUpdate []byte
	// root is the tree; answers and files are its answers/ and files/,
	// which a site's trees share through symbolic links to the site's
	// own. Nothing is opened but through these, so no link inside them
	// leads out.
	root, answersRoot, filesRoot *os.Root

	// refs counts the Responder's reference (while the tree is served)
	// and each download in flight; the last release closes the files.
	refs atomic.Int64
}

// treeFile is an update file: its manifest entry and, when held, an open
// descriptor of it.
type treeFile struct {
	site.File
	held *os.File
}

// maxHeldFiles bounds the update files a tree holds open, well under a
// default descriptor limit even with a few trees alive at once.
const maxHeldFiles = 512

// maxTreeJSON bounds a manifest, lookup table or settings file read into
// memory: a tree is built by duws, and a file bigger than this is not one
// of its files.
const maxTreeJSON = 64 << 20 // 64 MiB

// LoadTree reads the tree at dir, which may be a site directory (its live
// tree is loaded) or a tree.
func LoadTree(dir string) (*Tree, error) {
	// A site directory serves its live tree; a tree directory, itself.
	rel, err := site.ResolveTree(os.DirFS(dir))
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(filepath.Join(dir, rel))
	if err != nil {
		return nil, err
	}
	t := &Tree{ID: filepath.Base(real), Dir: real, files: map[string]*treeFile{},
		lookups: map[string]*site.Lookup{}, answers: map[string][]byte{}}
	t.refs.Store(1)
	if err := t.openRoots(); err != nil {
		t.close()
		return nil, fmt.Errorf("tree %s: %w", real, err)
	}
	if err := t.load(); err != nil {
		t.close()
		return nil, fmt.Errorf("tree %s: %w", real, err)
	}
	return t, nil
}

// openRoots opens the tree and its shared directories, which must be in
// the tree or be the site's own (the directory holding trees/).
func (t *Tree) openRoots() error {
	var err error
	if t.root, err = os.OpenRoot(t.Dir); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		root **os.Root
	}{{site.AnswersDir, &t.answersRoot}, {site.FilesDir, &t.filesRoot}} {
		target, err := filepath.EvalSymlinks(filepath.Join(t.Dir, d.name))
		if errors.Is(err, fs.ErrNotExist) {
			target = filepath.Join(t.Dir, d.name) // none: opened below, so that the error names it
		} else if err != nil {
			return err
		}
		parent := filepath.Dir(t.Dir)
		shared := filepath.Base(parent) == site.TreesDir && target == filepath.Join(filepath.Dir(parent), d.name)
		if target != filepath.Join(t.Dir, d.name) && !shared {
			return fmt.Errorf("%s leads to %s, outside the tree and its site", d.name, target)
		}
		if *d.root, err = os.OpenRoot(target); err != nil {
			return err
		}
	}
	return nil
}

// rootFor returns the root a tree path is opened in, and the path in it.
func (t *Tree) rootFor(name string) (*os.Root, string) {
	if rest, ok := strings.CutPrefix(name, site.AnswersDir+"/"); ok {
		return t.answersRoot, rest
	}
	if rest, ok := strings.CutPrefix(name, site.FilesDir+"/"); ok {
		return t.filesRoot, rest
	}
	return t.root, name
}

func (t *Tree) load() error {
	m, _, err := site.ReadManifest(t.root.FS(), ".", t.Dir)
	if err != nil {
		return err
	}
	t.Manifest = *m
	if t.Manifest.Format != site.Format {
		return fmt.Errorf("tree format %d, this responder reads %d", t.Manifest.Format, site.Format)
	}
	if t.Built, err = time.Parse(time.RFC3339, t.Manifest.Built); err != nil {
		return fmt.Errorf("built %q: %w", t.Manifest.Built, err)
	}
	size := map[string]int64{}
	for _, f := range t.Manifest.Files {
		size[f.Path] = f.Size
	}
	if err := t.readJSON(site.DevicesName, size[site.DevicesName], &t.Devices); err != nil {
		return err
	}
	if err := t.readJSON(site.ServiceName, size[site.ServiceName], &t.Service); err != nil {
		return err
	}
	held := 0
	for _, f := range t.Manifest.Files {
		switch {
		case strings.HasPrefix(f.Path, site.FilesDir+"/"):
			tf := &treeFile{File: f}
			if held < maxHeldFiles {
				if tf.held, err = t.open(f); err != nil {
					return err
				}
				held++
			}
			t.files[strings.ToLower(f.Path[len(site.FilesDir)+1:])] = tf
		case strings.HasPrefix(f.Path, site.AnswersDir+"/"):
			b, err := t.read(f.Path, f.Size)
			if err != nil {
				return err
			}
			t.answers[f.Path] = b
		}
	}
	for _, p := range t.Manifest.LookupPaths() {
		l := new(site.Lookup)
		if err := t.readJSON(p, size[p], l); err != nil {
			return err
		}
		for _, aud := range []site.Audience{site.Production, site.Test} {
			for _, a := range l.For(aud).Answers {
				if _, ok := t.answers[a]; !ok {
					return fmt.Errorf("%s: answer %q not in the manifest", p, a)
				}
			}
		}
		t.lookups[p] = l
	}
	var ok bool
	if t.noUpdate, ok = t.answers[t.Manifest.NoUpdate]; !ok {
		return fmt.Errorf("no_update answer %q not in the manifest", t.Manifest.NoUpdate)
	}
	return nil
}

// read reads a file of the tree that the manifest says has size bytes
// (-1: unknown, for the manifest itself), refusing any other size.
func (t *Tree) read(name string, size int64) ([]byte, error) {
	root, rel := t.rootFor(name)
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxTreeJSON+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxTreeJSON {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, maxTreeJSON>>20)
	}
	if size >= 0 && int64(len(b)) != size {
		return nil, fmt.Errorf("%s: %d bytes, the manifest says %d", name, len(b), size)
	}
	return b, nil
}

func (t *Tree) readJSON(name string, size int64, v any) error {
	b, err := t.read(name, size)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// open opens an update file through the tree's root, so that no symbolic
// link leads out of the tree, and checks it is a regular file of the size
// the manifest says.
func (t *Tree) open(f site.File) (*os.File, error) {
	root, rel := t.rootFor(f.Path)
	fh, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	fi, err := fh.Stat()
	if err == nil && (!fi.Mode().IsRegular() || fi.Size() != f.Size) {
		err = fmt.Errorf("%s: %s of %d bytes, the manifest says a file of %d", f.Path, fi.Mode().Type(), fi.Size(), f.Size)
	}
	if err != nil {
		fh.Close()
		return nil, err
	}
	return fh, nil
}

// acquire takes a reference for a request, failing when the tree has
// been retired and closed.
func (t *Tree) acquire() bool {
	for {
		n := t.refs.Load()
		if n <= 0 {
			return false
		}
		if t.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release drops a reference; the last one closes the tree's files.
func (t *Tree) release() {
	if t.refs.Add(-1) == 0 {
		t.close()
	}
}

func (t *Tree) close() {
	for _, f := range t.files {
		if f.held != nil {
			f.held.Close()
		}
	}
	for _, r := range []*os.Root{t.root, t.answersRoot, t.filesRoot} {
		if r != nil {
			r.Close()
		}
	}
}

// errNotServed is what serving a file of a tree that changed under the
// responder gives: the file is not what the manifest says.
var errNotServed = errors.New("file not as the manifest says")

// content returns what to serve of an update file: a fresh descriptor
// through the root, which the kernel can send from directly, or, when the
// tree has been deleted meanwhile, a reader of the descriptor held since
// load time. Either is checked against the manifest. The caller closes
// the returned closer.
func (t *Tree) content(f *treeFile) (io.ReadSeeker, io.Closer, error) {
	fh, err := t.open(f.File)
	if err == nil {
		return fh, fh, nil
	}
	if f.held != nil && errors.Is(err, fs.ErrNotExist) {
		return io.NewSectionReader(f.held, 0, f.Size), io.NopCloser(nil), nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	return nil, nil, fmt.Errorf("tree %s: %w: %w", t.ID, errNotServed, err)
}

// lookupKeyLimit bounds the stack buffer a lookup path is built in: six
// fields of at most maxField bytes, each byte percent-encoded at worst.
const lookupKeyLimit = len(site.LookupDir) + 1 + 6*3*maxField + 5 + len(".json")

// lookup returns the lookup table for an identity and update type, or nil
// when the tree has none (the device has no rule). It costs no allocation
// and keeps nothing, whatever the request names.
func (t *Tree) lookup(id device.Identity, updateType string) *site.Lookup {
	var buf [lookupKeyLimit]byte
	return t.lookups[string(site.AppendLookupPath(buf[:0], id, updateType))]
}

// decide returns the answer for a check and the update each module is
// offered ("" for none), following the tree's tables.
func (t *Tree) decide(r *Request, test bool) ([]byte, []string, error) {
	id := device.Identity{DeviceType: r.DeviceType, Brand: r.Vendor, Model: r.Model, Revision: r.Revision, Locale: r.Locale}
	aud := site.Production
	if test {
		aud = site.Test
	}
	var parts [][]byte
	offered := make([]string, len(r.Modules))
	for i, m := range r.Modules {
		v, err := device.ParseVersion(m.Version)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: module %q: %v", errRequest, m.Name, err)
		}
		l := t.lookup(id, m.UpdateType)
		if l == nil {
			continue
		}
		tab := l.For(aud)
		ap := tab.AnswerFor(m.Version, v) // a valid version is canonical text
		if ap == "" {
			return nil, nil, fmt.Errorf("tree %s: lookup for %s %s has no answer", t.ID, id, m.UpdateType)
		}
		if ap == t.Manifest.NoUpdate {
			continue
		}
		b := t.answers[ap] // every answer a table names was loaded
		if tab.Target != "" {
			offered[i] = m.UpdateType + ":" + tab.Target
		}
		parts = append(parts, b)
	}
	switch len(parts) {
	case 0:
		return t.noUpdate, offered, nil
	case 1:
		return parts[0], offered, nil
	}
	b, err := site.MergeAnswers(parts)
	return b, offered, err
}

// inside reports whether addr is in the tree's inside networks.
func (t *Tree) inside(addr netip.Addr) bool {
	for _, p := range t.Service.Inside {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// trustedProxy reports whether addr may tell the client address.
func (t *Tree) trustedProxy(addr netip.Addr) bool {
	for _, p := range t.Service.TrustedProxies {
		if p.Contains(addr.Unmap()) {
			return true
		}
	}
	return false
}

// file returns the update file at a path under files/, matched ignoring
// case as on the original IIS server.
func (t *Tree) file(rel string) (*treeFile, bool) {
	f, ok := t.files[strings.ToLower(rel)]
	return f, ok
}
