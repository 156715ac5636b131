package simulate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
)

// treeFileLimit bounds each JSON file read from a tree. The builder's
// largest tables (10,000 rules × 50 versions) are a few MiB each; a file
// far beyond that is not a tree duws wrote.
const treeFileLimit = 64 << 20 // 64 MiB

// Tree is what the simulator reads of a built tree: the lookup tables (for
// the identities, versions and targets), the test-device table and the
// service's provisioned URLs.
type Tree struct {
	Dir     string
	Service site.Service
	Devices site.Devices
	// Tables are the lookup tables, sorted by identity and update type.
	Tables []*site.Lookup
	byKey  map[string]*site.Lookup
}

func tableKey(identity, updateType string) string {
	return strings.ToLower(identity) + "\x00" + strings.ToLower(updateType)
}

// LoadTree reads a tree, or the live tree of a site directory (one with a
// "current" link).
func LoadTree(dir string) (*Tree, error) {
	fsys := os.DirFS(dir)
	rel, err := site.ResolveTree(fsys)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	dir = filepath.Join(dir, rel)
	t := &Tree{Dir: dir, byKey: make(map[string]*site.Lookup)}
	m, _, err := site.ReadManifest(fsys, rel, dir)
	if err != nil {
		return nil, fmt.Errorf("simulate: %w", err)
	}
	if m.Format != site.Format {
		return nil, fmt.Errorf("simulate: tree %s: format %d, want %d", dir, m.Format, site.Format)
	}
	if err := readJSON(filepath.Join(dir, site.ServiceName), &t.Service); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, site.DevicesName), &t.Devices); err != nil {
		return nil, err
	}
	for _, p := range m.LookupPaths() {
		l, err := site.ReadLookup(fsys, path.Join(rel, p))
		if err != nil {
			return nil, fmt.Errorf("simulate: %w", err)
		}
		if _, err := device.ParseIdentity(l.Identity); err != nil {
			return nil, fmt.Errorf("simulate: %s: %v", p, err)
		}
		t.Tables = append(t.Tables, l)
		t.byKey[tableKey(l.Identity, l.UpdateType)] = l
	}
	if len(t.Tables) == 0 {
		return nil, fmt.Errorf("simulate: tree %s: no lookup tables", dir)
	}
	sort.Slice(t.Tables, func(i, j int) bool {
		return tableKey(t.Tables[i].Identity, t.Tables[i].UpdateType) < tableKey(t.Tables[j].Identity, t.Tables[j].UpdateType)
	})
	return t, nil
}

func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, treeFileLimit+1))
	if err != nil {
		return fmt.Errorf("simulate: %w", err)
	}
	if len(b) > treeFileLimit {
		return fmt.Errorf("simulate: %s: larger than %d MiB", path, treeFileLimit>>20)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("simulate: %s: %v", path, err)
	}
	return nil
}

// Audience returns the audience the tree puts a phone in: test when its
// MAC or serial is in the test-device table for a responder at
// topologySite, production otherwise.
func (t *Tree) Audience(p *Phone, topologySite string) site.Audience {
	mac, _ := device.NormalizeMAC(p.MAC)
	serial, _ := device.NormalizeSerial(p.Serial)
	if t.Devices.IsTest(mac, serial, topologySite) {
		return site.Test
	}
	return site.Production
}

// Target returns the version the tree brings a phone to, and false when
// no table of the tree has the phone's identity and update type or the
// table has no target (the phone is left on what it runs).
func (t *Tree) Target(p *Phone, topologySite string) (string, bool) {
	l, ok := t.byKey[tableKey(p.Identity, p.UpdateType)]
	if !ok {
		return "", false
	}
	target := l.For(t.Audience(p, topologySite)).Target
	return target, target != ""
}

var errNoTree = errors.New("simulate: no tree to make up phones from (give a site, or a fleet file)")
