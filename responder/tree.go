package responder

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
)

// Tree is a loaded site tree: the manifest, the test-device table and the
// network settings read at load time, lookup tables and answers read on
// first use and kept. A Tree never changes; a new tree is a new Tree.
type Tree struct {
	ID       string // directory name: the manifest's SHA-256
	Dir      string
	Manifest site.Manifest
	Devices  site.Devices
	Service  site.Service
	Built    time.Time

	files    map[string]site.File // lower-case path under files/ -> entry
	noUpdate []byte

	mu      sync.RWMutex
	byKey   map[lookupKey]*site.Lookup // as devices spell it; nil value: none
	lookups sync.Map                   // lookup path -> *site.Lookup, or errNoLookup
	answers sync.Map                   // answer path -> []byte
}

// lookupKey is an identity and update type as a device spells them, so
// that a repeated check finds its table without building its path.
type lookupKey struct{ dt, brand, model, rev, locale, typ string }

var errNoLookup = errors.New("no lookup table")

// LoadTree reads the tree at dir, which may be a site directory (its live
// tree is loaded) or a tree.
func LoadTree(dir string) (*Tree, error) {
	if _, err := os.Lstat(filepath.Join(dir, site.CurrentName)); err == nil {
		dir = filepath.Join(dir, site.CurrentName)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, err
	}
	t := &Tree{ID: filepath.Base(real), Dir: real, files: map[string]site.File{}, byKey: map[lookupKey]*site.Lookup{}}
	if err := readJSON(filepath.Join(real, site.ManifestName), &t.Manifest); err != nil {
		return nil, err
	}
	if t.Manifest.Format != site.Format {
		return nil, fmt.Errorf("%s: tree format %d, this responder reads %d", real, t.Manifest.Format, site.Format)
	}
	if err := readJSON(filepath.Join(real, site.DevicesName), &t.Devices); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(real, site.ServiceName), &t.Service); err != nil {
		return nil, err
	}
	if t.Built, err = time.Parse(time.RFC3339, t.Manifest.Built); err != nil {
		return nil, fmt.Errorf("%s: built %q: %w", real, t.Manifest.Built, err)
	}
	for _, f := range t.Manifest.Files {
		if rest, ok := strings.CutPrefix(f.Path, site.FilesDir+"/"); ok {
			t.files[strings.ToLower(rest)] = f
		}
	}
	if t.noUpdate, err = t.answer(t.Manifest.NoUpdate); err != nil {
		return nil, err
	}
	return t, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// lookup returns the lookup table for an identity and update type, or nil
// when the tree has none (the device has no rule).
func (t *Tree) lookup(id device.Identity, updateType string) (*site.Lookup, error) {
	k := lookupKey{id.DeviceType, id.Brand, id.Model, id.Revision, id.Locale, updateType}
	t.mu.RLock()
	l, ok := t.byKey[k]
	t.mu.RUnlock()
	if ok {
		return l, nil
	}
	l, err := t.lookupPath(id, updateType)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	if len(t.byKey) < maxSpellings {
		t.byKey[k] = l
	}
	t.mu.Unlock()
	return l, nil
}

// maxSpellings bounds the lookup cache by device spelling, which devices
// (or anyone posting checks) choose.
const maxSpellings = 100000

func (t *Tree) lookupPath(id device.Identity, updateType string) (*site.Lookup, error) {
	p := site.LookupPath(id, updateType)
	if v, ok := t.lookups.Load(p); ok {
		if l, ok := v.(*site.Lookup); ok {
			return l, nil
		}
		return nil, nil
	}
	var l site.Lookup
	err := readJSON(filepath.Join(t.Dir, filepath.FromSlash(p)), &l)
	if errors.Is(err, fs.ErrNotExist) {
		t.lookups.Store(p, errNoLookup)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	t.lookups.Store(p, &l)
	return &l, nil
}

// answer returns the bytes of an answer of the tree.
func (t *Tree) answer(p string) ([]byte, error) {
	if v, ok := t.answers.Load(p); ok {
		return v.([]byte), nil
	}
	if !strings.HasPrefix(p, site.AnswersDir+"/") || strings.Contains(p, "..") {
		return nil, fmt.Errorf("tree %s: answer path %q outside answers/", t.ID, p)
	}
	b, err := os.ReadFile(filepath.Join(t.Dir, filepath.FromSlash(p)))
	if err != nil {
		return nil, err
	}
	t.answers.Store(p, b)
	return b, nil
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
		l, err := t.lookup(id, m.UpdateType)
		if err != nil {
			return nil, nil, err
		}
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
		b, err := t.answer(ap)
		if err != nil {
			return nil, nil, err
		}
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

// file returns the manifest entry of an update file, matched ignoring
// case as on the original IIS server, and its path on disk.
func (t *Tree) file(rel string) (site.File, string, bool) {
	f, ok := t.files[strings.ToLower(rel)]
	if !ok {
		return site.File{}, "", false
	}
	return f, filepath.Join(t.Dir, filepath.FromSlash(f.Path)), true
}
