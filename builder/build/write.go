package build

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
	"syscall"
	"time"

	"github.com/duws/duws/builder/site"
)

// Writer writes planned trees into a site directory and publishes them.
//
// A site directory holds trees/<id>/ (each a complete tree, id being the
// SHA-256 of its manifest), the symbolic link current pointing at the live
// one, and history.json, the trees in the order they were published.
type Writer struct {
	Dir string
	// Keep is how many published trees to keep besides the live one, so
	// that a revert is instant. Older trees are deleted after a publish.
	Keep int
	// Open opens a file of a stored package.
	Open func(Source) (io.ReadCloser, error)
	// Sign, when set, signs the manifest; the signature is written to
	// manifest.sig.
	Sign func(manifest []byte) []byte
}

// ManifestBytes is how a plan's manifest is written.
func ManifestBytes(m *site.Manifest) ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// TreeID returns the id of the tree a plan gives.
func TreeID(p *Plan) (string, error) {
	b, err := ManifestBytes(&p.Manifest)
	if err != nil {
		return "", err
	}
	return hashHex(b), nil
}

// Stats says what a write did.
type Stats struct {
	ID                       string
	Reused                   bool // the tree existed already
	Written, Linked, Skipped int  // files written, hard-linked from older trees
}

// Write writes the plan's tree, unless a tree with its id exists, without
// publishing it. The tree is written under a temporary name and renamed
// into place once complete and synced: an interrupted write never leaves
// a partial tree under a tree's name. Package files already present in
// another tree with the same hash are hard-linked, not extracted again.
func (w *Writer) Write(p *Plan) (Stats, error) {
	manifest, err := ManifestBytes(&p.Manifest)
	if err != nil {
		return Stats{}, err
	}
	id := hashHex(manifest)
	st := Stats{ID: id}
	trees := filepath.Join(w.Dir, site.TreesDir)
	final := filepath.Join(trees, id)
	if b, err := os.ReadFile(filepath.Join(final, site.ManifestName)); err == nil && string(b) == string(manifest) {
		st.Reused = true
		return st, nil
	}
	if err := os.MkdirAll(trees, 0o755); err != nil {
		return st, err
	}
	tmp, err := os.MkdirTemp(trees, ".tmp-"+id[:12]+"-")
	if err != nil {
		return st, err
	}
	// Static hosts (nginx workers, say) run as other users.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return st, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	reuse := w.existingFiles()
	built, err := time.Parse(time.RFC3339, p.Manifest.Built)
	if err != nil {
		return st, fmt.Errorf("build: manifest time %q: %w", p.Manifest.Built, err)
	}
	names := make([]string, 0, len(p.Files))
	for name := range p.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	made := map[string]bool{}
	for _, name := range names {
		o := p.Files[name]
		dst := filepath.Join(tmp, filepath.FromSlash(name))
		if dir := filepath.Dir(dst); !made[dir] {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return st, err
			}
			made[dir] = true
		}
		switch {
		case o.Source == nil:
			if err := os.WriteFile(dst, o.Data, 0o644); err != nil {
				return st, err
			}
			st.Written++
		case reuse[reuseKey{name, o.SHA256}] != "" && os.Link(reuse[reuseKey{name, o.SHA256}], dst) == nil:
			st.Linked++
			continue
		default:
			if err := w.extract(o, dst); err != nil {
				return st, fmt.Errorf("build: %s: %w", name, err)
			}
			st.Written++
		}
		if err := os.Chtimes(dst, built, built); err != nil {
			return st, err
		}
	}
	if w.Sign != nil {
		if err := os.WriteFile(filepath.Join(tmp, site.SignatureName), w.Sign(manifest), 0o644); err != nil {
			return st, err
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, site.ManifestName), manifest, 0o644); err != nil {
		return st, err
	}
	// One sync of everything written, rather than one per file, before
	// the tree gets its name.
	syscall.Sync()
	if err := os.Rename(tmp, final); err != nil {
		if _, serr := os.Stat(filepath.Join(final, site.ManifestName)); serr == nil {
			st.Reused = true // written meanwhile by another build
			return st, nil
		}
		return st, err
	}
	ok = true
	return st, syncDir(trees)
}

type reuseKey struct{ path, sum string }

// existingFiles maps the package files of the trees on disk to a path to
// link from.
func (w *Writer) existingFiles() map[reuseKey]string {
	out := map[reuseKey]string{}
	ids, _ := w.Trees()
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(w.Dir, site.TreesDir, id, site.ManifestName))
		if err != nil {
			continue
		}
		var m site.Manifest
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		for _, f := range m.Files {
			if strings.HasPrefix(f.Path, site.FilesDir+"/") {
				k := reuseKey{f.Path, f.SHA256}
				if _, ok := out[k]; !ok {
					out[k] = filepath.Join(w.Dir, site.TreesDir, id, filepath.FromSlash(f.Path))
				}
			}
		}
	}
	return out
}

// extract copies a package file, checking it hashes as planned.
func (w *Writer) extract(o *Output, dst string) error {
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

// Current returns the id of the live tree, "" when none is.
func (w *Writer) Current() (string, error) {
	target, err := os.Readlink(filepath.Join(w.Dir, site.CurrentName))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return filepath.Base(target), nil
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
// it in the history and deletes trees beyond the Keep most recent.
func (w *Writer) Publish(id string) error {
	if _, err := os.Stat(filepath.Join(w.Dir, site.TreesDir, id, site.ManifestName)); err != nil {
		return fmt.Errorf("build: tree %s: %w", id, err)
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
	return "", errors.New("build: no earlier tree to revert to")
}

// flip points the current link at tree id: a new link, then one rename,
// so a reader sees the old tree or the new one, never neither.
func (w *Writer) flip(id string) error {
	tmp := filepath.Join(w.Dir, ".current-"+id[:12])
	os.Remove(tmp)
	if err := os.Symlink(filepath.Join(site.TreesDir, id), tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(w.Dir, site.CurrentName)); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(w.Dir)
}

func (w *Writer) writeHistory(h []string) error {
	b, err := json.MarshalIndent(h, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(w.Dir, site.HistoryName), append(b, '\n'))
}

// prune deletes trees that are neither live nor among the Keep most
// recently published, and temporary trees left by interrupted builds.
func (w *Writer) prune(h []string) error {
	keep := map[string]bool{}
	if cur, _ := w.Current(); cur != "" {
		keep[cur] = true
	}
	for i := len(h) - 1; i >= 0 && i >= len(h)-1-w.Keep; i-- {
		keep[h[i]] = true
	}
	ents, err := os.ReadDir(filepath.Join(w.Dir, site.TreesDir))
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(w.Dir, site.TreesDir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
