// Package store keeps imported update packages: cabinets in one
// directory, each named after the SHA-256 of its bytes.
//
// A name is its content's address, so storing the same cabinet twice
// stores it once, and a stored cabinet is never changed: [Store.Put]
// writes a temporary file, syncs it and renames it into place, so an
// interrupted write leaves at most a temporary file that [Store.List]
// does not report and [Store.Leftovers] does (duws clean removes them).
//
// # Sidecars
//
// Beside a package the store may keep a sidecar, NAME.hashes.json: what
// import learnt reading the package in full (the hashes of its files), so
// that a build need not decompress them again. The sidecar is written,
// atomically, before its package: a package with no sidecar is one stored
// before sidecars existed, and a sidecar with no package is a leftover.
package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/duws/duws/builder/durable"
)

// Ext is the extension of stored cabinets.
const Ext = ".cab"

// tmpPrefix starts the names of files being written.
const tmpPrefix = ".tmp-"

// ErrCorrupt reports a stored cabinet whose bytes no longer match its name.
var ErrCorrupt = errors.New("stored package does not match its name")

// Store is a directory of packages.
type Store struct {
	Dir string
}

// Path returns the path of the stored package name.
func (s *Store) Path(name string) string { return filepath.Join(s.Dir, name) }

// IsName reports whether name is the name of a stored package: 64
// lower-case hex digits and Ext.
func IsName(name string) bool {
	h, ok := strings.CutSuffix(name, Ext)
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// SidecarExt ends the name of a package's sidecar, which replaces Ext.
const SidecarExt = ".hashes.json"

// Put stores the bytes r yields and returns the package's name, and
// whether it was new.
func (s *Store) Put(r io.Reader) (name string, created bool, err error) {
	return s.PutWith(r, nil)
}

// SidecarPath is where the sidecar of the package name is kept.
func (s *Store) SidecarPath(name string) string {
	return s.Path(strings.TrimSuffix(name, Ext) + SidecarExt)
}

// Sidecar returns the sidecar of a stored package; an error wrapping
// fs.ErrNotExist when it has none.
func (s *Store) Sidecar(name string) ([]byte, error) {
	if !IsName(name) {
		return nil, fmt.Errorf("store: %q is not a package name", name)
	}
	return os.ReadFile(s.SidecarPath(name))
}

// PutWith is Put that also keeps sidecar (unless nil) beside the
// package, written before it. A package stored already gets the sidecar
// when it has none.
func (s *Store) PutWith(r io.Reader, sidecar []byte) (name string, created bool, err error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return "", false, err
	}
	tmp, err := durable.CreateTemp(s.Dir, tmpPrefix+"*")
	if err != nil {
		return "", false, err
	}
	defer func() {
		if err != nil {
			tmp.Abort()
		}
	}()
	h := sha256.New()
	if _, err = io.Copy(io.MultiWriter(tmp, h), r); err != nil {
		return "", false, err
	}
	if err = tmp.Finish(0o644, time.Time{}); err != nil {
		return "", false, err
	}
	name = hex.EncodeToString(h.Sum(nil)) + Ext
	final := s.Path(name)
	if _, serr := os.Stat(final); serr == nil {
		tmp.Abort()
		if sidecar != nil {
			if _, serr := os.Stat(s.SidecarPath(name)); errors.Is(serr, fs.ErrNotExist) {
				if err = durable.WriteFile(s.SidecarPath(name), sidecar, 0o644); err != nil {
					return "", false, err
				}
			}
		}
		return name, false, nil
	}
	if sidecar != nil {
		if err = durable.WriteFile(s.SidecarPath(name), sidecar, 0o644); err != nil {
			return "", false, err
		}
	}
	if err = tmp.Commit(final); err != nil {
		return "", false, err
	}
	return name, true, nil
}

// List returns the names of the stored packages, sorted. A missing
// directory holds no packages.
func (s *Store) List() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && IsName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Verify checks that the stored package's bytes match its name.
func (s *Store) Verify(name string) error {
	f, err := os.Open(s.Path(name))
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("%s: %w", s.Path(name), err)
	}
	if got := hex.EncodeToString(h.Sum(nil)) + Ext; got != name {
		return fmt.Errorf("%s: content hashes to %s: %w", s.Path(name), got, ErrCorrupt)
	}
	return nil
}

// Remove deletes a stored package.
func (s *Store) Remove(name string) error {
	if !IsName(name) {
		return fmt.Errorf("store: %q is not a package name", name)
	}
	if err := os.Remove(s.Path(name)); err != nil {
		return err
	}
	// After the package: an interruption leaves a sidecar alone, which
	// Leftovers reports.
	if err := os.Remove(s.SidecarPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return durable.SyncDir(s.Dir)
}

// Leftovers returns the temporary files interrupted writes left behind,
// and sidecars whose package is gone.
func (s *Store) Leftovers() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			names = append(names, e.Name())
			continue
		}
		if pkg, ok := strings.CutSuffix(e.Name(), SidecarExt); ok && IsName(pkg+Ext) {
			if _, err := os.Stat(s.Path(pkg + Ext)); errors.Is(err, fs.ErrNotExist) {
				names = append(names, e.Name())
			}
		}
	}
	return names, nil
}

// ExplainMissing returns err, an error about versions found in no stored
// package, with the store's directory named first when it does not exist:
// then the versions are not missing, the directory is.
func (s *Store) ExplainMissing(err error) error {
	if _, serr := os.Stat(s.Dir); errors.Is(serr, fs.ErrNotExist) {
		return fmt.Errorf("the packages directory %s does not exist (check packages: in the policy):\n%w", s.Dir, err)
	}
	return err
}
