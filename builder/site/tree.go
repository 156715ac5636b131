package site

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// This file is the one reader of a tree: which tree of a site directory
// is live, its manifest, its lookup tables and what its answers say. It
// reads through an fs.FS, so the builder's plan, verify and publish and
// the responder agree on what a tree is.

// ResolveTree returns the directory of fsys that holds a tree: the live
// tree when fsys is a site directory (it has a current link), fsys itself
// otherwise.
func ResolveTree(fsys fs.FS) (string, error) {
	if _, err := fs.Lstat(fsys, CurrentName); err == nil {
		return CurrentName, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	return ".", nil
}

// LiveTree returns the id of the live tree of a site directory (the name
// its current link points at), "" when no tree is live.
func LiveTree(fsys fs.FS) (string, error) {
	target, err := fs.ReadLink(fsys, CurrentName)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return path.Base(strings.ReplaceAll(target, `\`, "/")), nil
}

// ReadTreeManifest reads the manifest of tree id of a site directory.
func ReadTreeManifest(fsys fs.FS, id string) (*Manifest, error) {
	dir := path.Join(TreesDir, id)
	m, _, err := ReadManifest(fsys, dir, dir)
	return m, err
}

// ReadManifest reads and decodes the manifest of the tree at dir of fsys,
// returning its bytes too (they are what a signature signs). name is how
// errors name the tree.
func ReadManifest(fsys fs.FS, dir, name string) (*Manifest, []byte, error) {
	b, err := fs.ReadFile(fsys, path.Join(dir, ManifestName))
	if err != nil {
		return nil, nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path.Join(name, ManifestName), err)
	}
	return &m, b, nil
}

// LookupPaths lists the lookup tables a manifest lists, in its order.
func (m *Manifest) LookupPaths() []string {
	var out []string
	for _, f := range m.Files {
		if strings.HasPrefix(f.Path, LookupDir+"/") {
			out = append(out, f.Path)
		}
	}
	return out
}

// ReadLookup reads and decodes the lookup table at name of fsys.
func ReadLookup(fsys fs.FS, name string) (*Lookup, error) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var l Lookup
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &l, nil
}

// DescribeAnswer says in words what an answer tells a device: what the
// dashboard and duws plan show.
func DescribeAnswer(b []byte) string {
	a, err := ParseAnswer(b)
	if err != nil {
		return "unreadable answer"
	}
	if len(a.Updates) == 0 {
		return "downloads=0 (nothing to do)"
	}
	vers := make([]string, len(a.Updates))
	for i, u := range a.Updates {
		vers[i] = u.Version
	}
	return "update to " + strings.Join(vers, ", ")
}
