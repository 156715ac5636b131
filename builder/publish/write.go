// Package publish puts planned trees (see package plan) on disk in a site
// directory and makes one live: write, publish, revert and prune, plus
// verify of a tree against its manifest and the Ed25519 keys that sign
// manifests.
//
// # Atomicity
//
// A tree is written under a temporary name and renamed into place once
// complete and synced; the live tree changes by one rename of the current
// link. An interrupted command leaves the old state intact.
package publish

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duws/duws/builder/durable"
	"github.com/duws/duws/builder/internal/parallel"
	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/site"
)

// Writer writes planned trees into a site directory and publishes them.
//
// A site directory holds trees/<id>/ (each a complete tree, id being the
// SHA-256 of its manifest), the symbolic link current pointing at the live
// one, history.json, the trees in the order they were published, and
// retired.json, when each tree that was live stopped being live.
type Writer struct {
	Dir string
	// Keep is how many published trees to keep besides the live one, so
	// that a revert is instant. Older trees are deleted after a publish.
	Keep int
	// Open opens a file of a stored package. It is called from several
	// goroutines at once.
	Open func(plan.Source) (io.ReadCloser, error)
	// Sign, when set, signs the manifest; the signature is written to
	// manifest.sig.
	Sign func(manifest []byte) []byte
	// Now is the clock that dates when a tree stops being live (for
	// RetireGrace); time.Now when nil. Trees themselves never record it.
	Now func() time.Time
}

// RetireGrace is how long a tree that stopped being live is kept whatever
// Keep says: a responder may still serve it until its next reload (every
// second by default) and finish the downloads it started from it.
const RetireGrace = 10 * time.Minute

// retiredName records, per tree that was live and no longer is, when it
// stopped being live: the clock of the publish or revert that replaced it.
const retiredName = "retired.json"

// ManifestBytes is how a plan's manifest is written.
func ManifestBytes(m *site.Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Stats says what a write did.
type Stats struct {
	ID      string
	Reused  bool // the tree existed already
	Signed  bool // an existing tree was signed (Reused and Writer.Sign set)
	Written int  // files written
	Linked  int  // files hard-linked from an earlier tree
	Skipped int  // shared files already there
}

// shared reports whether a tree path lives in the site's shared
// directories: answers are named by their hash, and package files by
// identity, version and name, so one copy serves every tree.
func shared(name string) bool {
	return strings.HasPrefix(name, site.AnswersDir+"/") || strings.HasPrefix(name, site.FilesDir+"/")
}

// Write writes the plan's tree, unless a tree with its id exists, without
// publishing it.
//
// Answers and package files go to the site's shared answers/ and files/
// directories, which each tree reaches through a symbolic link: a file is
// written there once, when first needed, and never changed while a kept
// tree lists it. The rest of the tree (lookup tables, devices.json,
// index.html, the manifest) is written under a temporary name, with
// files unchanged since an earlier tree hard-linked from it, and renamed
// into place once complete and synced. So an interrupted write never
// leaves a partial tree under a tree's name, and a rebuild after a small
// policy change writes little.
func (w *Writer) Write(p *plan.Plan) (Stats, error) {
	manifest, err := ManifestBytes(&p.Manifest)
	if err != nil {
		return Stats{}, err
	}
	sum := sha256.Sum256(manifest)
	id := hex.EncodeToString(sum[:])
	st := Stats{ID: id}
	trees := filepath.Join(w.Dir, site.TreesDir)
	final := filepath.Join(trees, id)
	if b, err := os.ReadFile(filepath.Join(final, site.ManifestName)); err == nil && string(b) == string(manifest) {
		st.Reused = true
		// Signing a tree built before signs it: the signature is not part
		// of the manifest, so the tree keeps its id.
		if w.Sign != nil {
			if err := durable.WriteFile(filepath.Join(final, site.SignatureName), w.Sign(manifest), 0o644); err != nil {
				return st, err
			}
			st.Signed = true
		}
		return st, nil
	}
	if err := os.MkdirAll(trees, 0o755); err != nil {
		return st, err
	}
	tmp, err := os.MkdirTemp(trees, ".tmp-"+id[:12]+"-")
	if err != nil {
		return st, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	// Static hosts (nginx workers, say) run as other users.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return st, err
	}
	known := w.existingFiles()
	built, err := time.Parse(time.RFC3339, p.Manifest.Built)
	if err != nil {
		return st, fmt.Errorf("build: manifest time %q: %w", p.Manifest.Built, err)
	}
	names := make([]string, 0, len(p.Files))
	for name := range p.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	// Files are created by several goroutines: creating inodes is most of
	// a full build's time, kernel work that spreads over cores and waits
	// on the file system's journal, so more goroutines than cores help.
	var made sync.Map
	mkdir := func(dir string) error {
		if _, ok := made.Load(dir); ok {
			return nil
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		made.Store(dir, true)
		return nil
	}
	var written, linked, skipped atomic.Int64
	errs := make([]error, len(names))
	parallel.RunN(writers, len(names), func(i int) {
		name := names[i]
		o := p.Files[name]
		k := reuseKey{name, o.SHA256}
		if shared(name) {
			dst := filepath.Join(w.Dir, filepath.FromSlash(name))
			if known.shared[k] {
				// Listed by a kept tree with this hash: there, and never
				// changed while listed.
				skipped.Add(1)
				return
			}
			if known.listed[name] {
				errs[i] = fmt.Errorf("build: %s: a kept tree lists this file with other contents; it cannot be replaced while that tree is kept", name)
				return
			}
			if err := mkdir(filepath.Dir(dst)); err != nil {
				errs[i] = err
				return
			}
			if err := w.writeShared(o, dst, built); err != nil {
				errs[i] = fmt.Errorf("build: %s: %w", name, err)
				return
			}
			written.Add(1)
			return
		}
		dst := filepath.Join(tmp, filepath.FromSlash(name))
		if err := mkdir(filepath.Dir(dst)); err != nil {
			errs[i] = err
			return
		}
		if from := known.inTree[k]; from != "" && os.Link(from, dst) == nil {
			// Trees are never changed once written, so sharing a file
			// between them is safe.
			linked.Add(1)
			return
		}
		if err := durable.WriteNew(dst, o.Data, 0o644, built); err != nil {
			errs[i] = err
			return
		}
		written.Add(1)
	})
	st.Written, st.Linked, st.Skipped = int(written.Load()), int(linked.Load()), int(skipped.Load())
	for _, err := range errs {
		if err != nil {
			return st, err // the first in name order
		}
	}
	for _, dir := range []string{site.AnswersDir, site.FilesDir} {
		if err := os.MkdirAll(filepath.Join(w.Dir, dir), 0o755); err != nil {
			return st, err
		}
		if err := os.Symlink(filepath.Join("..", "..", dir), filepath.Join(tmp, dir)); err != nil {
			return st, err
		}
	}
	if w.Sign != nil {
		if err := durable.WriteNew(filepath.Join(tmp, site.SignatureName), w.Sign(manifest), 0o644, time.Time{}); err != nil {
			return st, err
		}
	}
	if err := durable.WriteNew(filepath.Join(tmp, site.ManifestName), manifest, 0o644, time.Time{}); err != nil {
		return st, err
	}
	// Every file was flushed as it was written; their directories are
	// flushed before the tree gets its name.
	if err := syncDirs(w.Dir, tmp, &made); err != nil {
		return st, err
	}
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, site.ManifestName)); serr == nil {
			st.Reused = true // written meanwhile by another build
			return st, nil
		}
		return st, err
	}
	ok = true
	return st, durable.SyncDir(trees)
}

// writeShared writes a shared file through a temporary file renamed into
// place, so a reader never sees it half-written.
func (w *Writer) writeShared(o *plan.Output, dst string, built time.Time) error {
	tmp := dst + ".tmp"
	os.Remove(tmp)
	var err error
	if o.Source != nil {
		err = w.extract(o, tmp, built)
	} else {
		err = durable.WriteNew(tmp, o.Data, 0o644, built)
	}
	if err == nil {
		err = os.Rename(tmp, dst)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// writers is how many goroutines create a tree's files.
const writers = 16

type reuseKey struct{ path, sum string }

// known is what the trees on disk hold.
type known struct {
	inTree map[reuseKey]string // per-tree files by path and hash: where to link from
	shared map[reuseKey]bool   // shared files listed by some tree
	listed map[string]bool     // shared paths listed by some tree
}

// existingFiles reads the manifests of the trees on disk.
func (w *Writer) existingFiles() known {
	k := known{inTree: map[reuseKey]string{}, shared: map[reuseKey]bool{}, listed: map[string]bool{}}
	ids, _ := w.Trees()
	for _, id := range ids {
		m, err := site.ReadTreeManifest(os.DirFS(w.Dir), id)
		if err != nil {
			continue
		}
		for _, f := range m.Files {
			rk := reuseKey{f.Path, f.SHA256}
			if shared(f.Path) {
				k.shared[rk] = true
				k.listed[f.Path] = true
			} else if _, ok := k.inTree[rk]; !ok {
				k.inTree[rk] = filepath.Join(w.Dir, site.TreesDir, id, filepath.FromSlash(f.Path))
			}
		}
	}
	return k
}

// extract copies a package file, checking it hashes as planned.
func (w *Writer) extract(o *plan.Output, dst string, built time.Time) error {
	rc, err := w.Open(*o.Source)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), rc)
	if err == nil {
		err = os.Chtimes(dst, built, built)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != o.Size || sum != o.SHA256 {
		return fmt.Errorf("package file %s is %d bytes %s, planned %d bytes %s", o.Source.Path, n, sum, o.Size, o.SHA256)
	}
	return nil
}

// Trees lists the ids of the complete trees in the site directory.
func (w *Writer) Trees() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(w.Dir, site.TreesDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && len(e.Name()) == 64 && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// Resolve returns the id of the one tree of the site whose id is id or
// starts with it, as other ids may be abbreviated.
func (w *Writer) Resolve(id string) (string, error) {
	trees, err := w.Trees()
	if err != nil {
		return "", fmt.Errorf("publish: %w", err)
	}
	var found []string
	for _, t := range trees {
		if t == id {
			return t, nil
		}
		if id != "" && strings.HasPrefix(t, strings.ToLower(id)) {
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("publish: no tree %q in %s (duws build --no-publish writes one)", id, filepath.Join(w.Dir, site.TreesDir))
	case 1:
		return found[0], nil
	}
	slices.Sort(found)
	return "", fmt.Errorf("publish: %q is the start of %d trees' ids (%s): give more of it", id, len(found), strings.Join(found, ", "))
}

// Current returns the id of the live tree, "" when none is.
func (w *Writer) Current() (string, error) {
	return site.LiveTree(os.DirFS(w.Dir))
}

// History returns the published trees, oldest first.
func (w *Writer) History() ([]string, error) {
	b, err := os.ReadFile(filepath.Join(w.Dir, site.HistoryName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var h []string
	if err := json.Unmarshal(b, &h); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(w.Dir, site.HistoryName), err)
	}
	return h, nil
}

// Publish makes tree id live with one rename of the current link, records
// it in the history and deletes trees beyond the Keep most recent. A tree
// that was live within RetireGrace is never deleted, nor is a tree that
// was written and never published (duws build --no-publish).
func (w *Writer) Publish(id string) error {
	if _, err := os.Stat(filepath.Join(w.Dir, site.TreesDir, id, site.ManifestName)); err != nil {
		return fmt.Errorf("publish: tree %s: %w", id, err)
	}
	if err := w.flip(id); err != nil {
		return err
	}
	h, err := w.History()
	if err != nil {
		return err
	}
	if len(h) == 0 || h[len(h)-1] != id {
		h = append(h, id)
	}
	if err := w.writeHistory(h); err != nil {
		return err
	}
	return w.prune(h)
}

// Revert makes the tree published before the live one live again, and
// forgets the live one in the history. It returns the id now live.
func (w *Writer) Revert() (string, error) {
	h, err := w.History()
	if err != nil {
		return "", err
	}
	cur, err := w.Current()
	if err != nil {
		return "", err
	}
	if len(h) > 0 && h[len(h)-1] == cur {
		h = h[:len(h)-1]
	}
	for len(h) > 0 {
		prev := h[len(h)-1]
		if _, err := os.Stat(filepath.Join(w.Dir, site.TreesDir, prev, site.ManifestName)); err == nil {
			if err := w.flip(prev); err != nil {
				return "", err
			}
			return prev, w.writeHistory(h)
		}
		h = h[:len(h)-1]
	}
	return "", errors.New("publish: no earlier tree to revert to")
}

// flip points the current link at tree id: a new link, then one rename,
// so a reader sees the old tree or the new one, never neither. The tree
// that was live is recorded as retired now.
func (w *Writer) flip(id string) error {
	cur, err := w.Current()
	if err != nil {
		return err
	}
	if cur != id {
		ret, err := w.retired()
		if err != nil {
			return err
		}
		delete(ret, id)
		if cur != "" {
			ret[cur] = w.now().UTC().Format(time.RFC3339)
		}
		if err := w.writeRetired(ret); err != nil {
			return err
		}
	}
	tmp := filepath.Join(w.Dir, ".current-"+id[:12])
	os.Remove(tmp)
	if err := os.Symlink(filepath.Join(site.TreesDir, id), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(w.Dir, site.CurrentName)); err != nil {
		os.Remove(tmp)
		return err
	}
	return durable.SyncDir(w.Dir)
}

func (w *Writer) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// retired reads the retirement times; a missing file is an empty record.
func (w *Writer) retired() (map[string]string, error) {
	ret := map[string]string{}
	b, err := os.ReadFile(filepath.Join(w.Dir, retiredName))
	if errors.Is(err, fs.ErrNotExist) {
		return ret, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &ret); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(w.Dir, retiredName), err)
	}
	return ret, nil
}

func (w *Writer) writeRetired(ret map[string]string) error {
	b, err := json.MarshalIndent(ret, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(w.Dir, retiredName), append(b, '\n'), 0o644)
}

func (w *Writer) writeHistory(h []string) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return durable.WriteFile(filepath.Join(w.Dir, site.HistoryName), append(b, '\n'), 0o644)
}

// prune deletes the trees that were published once and are now neither
// live, nor among the Keep most recently published, nor retired within
// RetireGrace; temporary trees left by interrupted builds; and the shared
// files that only the deleted trees listed. Trees never published are
// kept: they are staged for a later duws publish.
func (w *Writer) prune(h []string) error {
	keep := map[string]bool{}
	if cur, _ := w.Current(); cur != "" {
		keep[cur] = true
	}
	for i := len(h) - 1; i >= 0 && i >= len(h)-1-w.Keep; i-- {
		keep[h[i]] = true
	}
	published := map[string]bool{}
	for _, id := range h {
		published[id] = true
	}
	ret, err := w.retired()
	if err != nil {
		return err
	}
	now := w.now()
	for id, at := range ret {
		published[id] = true
		if t, err := time.Parse(time.RFC3339, at); err != nil || now.Sub(t) < RetireGrace {
			keep[id] = true // unreadable times keep the tree: deleting is what must not go wrong
		}
	}
	ents, err := os.ReadDir(filepath.Join(w.Dir, site.TreesDir))
	if err != nil {
		return err
	}
	var gone []string
	for _, e := range ents {
		name := e.Name()
		switch {
		case keep[name]:
		case strings.HasPrefix(name, "."), published[name]:
			gone = append(gone, name)
		}
	}
	// Forget the retirement of trees that are gone or gone already.
	changed := false
	for id := range ret {
		if slices.Contains(gone, id) || !slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return e.Name() == id }) {
			delete(ret, id)
			changed = true
		}
	}
	if changed {
		if err := w.writeRetired(ret); err != nil {
			return err
		}
	}
	if len(gone) == 0 {
		return nil
	}
	// What the deleted trees listed and no kept tree does.
	listedBy := func(id string) []string {
		m, err := site.ReadTreeManifest(os.DirFS(w.Dir), id)
		if err != nil {
			return nil
		}
		var out []string
		for _, f := range m.Files {
			if shared(f.Path) {
				out = append(out, f.Path)
			}
		}
		return out
	}
	drop := map[string]bool{}
	for _, id := range gone {
		for _, p := range listedBy(id) {
			drop[p] = true
		}
	}
	for _, e := range ents {
		if !slices.Contains(gone, e.Name()) { // kept, or staged
			for _, p := range listedBy(e.Name()) {
				delete(drop, p)
			}
		}
	}
	for _, id := range gone {
		if err := os.RemoveAll(filepath.Join(w.Dir, site.TreesDir, id)); err != nil {
			return err
		}
	}
	dirs := map[string]bool{}
	for p := range drop {
		full := filepath.Join(w.Dir, filepath.FromSlash(p))
		if err := os.Remove(full); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		dirs[filepath.Dir(full)] = true
	}
	// Remove directories left empty, deepest first; Remove fails, as it
	// should, on those that are not.
	for len(dirs) > 0 {
		next := map[string]bool{}
		for d := range dirs {
			if os.Remove(d) == nil {
				if parent := filepath.Dir(d); parent != filepath.Join(w.Dir, site.AnswersDir) && parent != filepath.Join(w.Dir, site.FilesDir) {
					next[parent] = true
				}
			}
		}
		dirs = next
	}
	return nil
}

// syncDirs flushes the directories a write created or added files to
// (made holds them), their parents up to the site directory, and the new
// tree's top directory.
func syncDirs(site, tree string, made *sync.Map) error {
	dirs := map[string]bool{tree: true}
	made.Range(func(k, _ any) bool {
		for d := k.(string); !dirs[d] && d != site && strings.HasPrefix(d, site); d = filepath.Dir(d) {
			dirs[d] = true
		}
		return true
	})
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	errs := make([]error, len(list))
	parallel.RunN(writers, len(list), func(i int) { errs[i] = durable.SyncDir(list[i]) })
	return errors.Join(errs...)
}
