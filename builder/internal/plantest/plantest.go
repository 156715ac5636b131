// Package plantest makes small fleets for the tests of packages plan,
// publish and workspace: a policy, packages with fake file contents, and
// an opener for those contents.
package plantest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/site"
	"github.com/duws/duws/builder/update"
)

// Files serves package files from memory, for publish.Writer.Open.
type Files map[plan.Source][]byte

// Open opens a file.
func (f Files) Open(s plan.Source) (io.ReadCloser, error) {
	b, ok := f[s]
	if !ok {
		return nil, fmt.Errorf("no file %v", s)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Content is the fake content of a package file.
func Content(dir, name string) []byte {
	return []byte("content of " + dir + "/" + name + "\n")
}

// Package makes a package named name holding the given versions of the
// given identities, each with CPE.nbt and CPE.cat.
func Package(files Files, name string, ids []string, versions ...string) plan.Package {
	p := plan.Package{Name: name}
	for _, idStr := range ids {
		id, err := policy.ParseIdentity(idStr)
		if err != nil {
			panic(err)
		}
		for _, vs := range versions {
			v, err := policy.ParseVersion(vs)
			if err != nil {
				panic(err)
			}
			u := update.Update{Identity: id, UpdateType: "CPE", Version: v}
			u.RuleID = update.DerivedRuleID(id, "CPE")
			for _, fn := range []string{"CPE.cat", "CPE.nbt"} {
				data := Content(u.Dir(), fn)
				sum := sha256.Sum256(data)
				f := update.File{Name: fn, Path: u.Dir() + "/" + fn, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
				u.Files = append(u.Files, f)
				files[plan.Source{Package: name, Path: f.Path}] = data
			}
			p.Updates = append(p.Updates, u)
		}
	}
	return p
}

// RuleYAML writes a rule of the policy.
func RuleYAML(identity string, kv ...string) string {
	id, _ := policy.ParseIdentity(identity)
	s := fmt.Sprintf("  - id: %s\n    identity: %s\n    update_type: CPE\n", update.DerivedRuleID(id, "CPE"), identity)
	for i := 0; i+1 < len(kv); i += 2 {
		s += fmt.Sprintf("    %s: %s\n", kv[i], kv[i+1])
	}
	return s
}

// PolicyHead is the start of every test policy, before its rules.
const PolicyHead = `packages: packages
service:
  internal_url: https://ucupdates-r2.contoso.com
  external_url: https://ucupdates-r2.contoso.com:4443
topology_sites: [Dublin]
`

// Input returns a small fleet: CX600 with approved, pending and restore;
// Aastra approved only; HP with nothing approved.
func Input(t testing.TB) (*plan.Input, Files) {
	t.Helper()
	files := Files{}
	src := PolicyHead + "rules:\n" +
		RuleYAML("UCPhone/Polycom/CX600/A/ENU", "approved", "4.0.7577.4363", "pending", "4.0.7577.4398", "restore", "4.0.7577.4100") +
		RuleYAML("UCPhone/Aastra/6725ip/A/DEU", "approved", "4.0.7577.4363") +
		RuleYAML("UCPhone/HP/4120/A/ENU", "pending", "4.0.7577.4398") +
		"test_devices:\n  - name: lab\n    mac: 00-04-F2-12-34-56\n  - name: dublin\n    serial: sn-1\n    scope: Dublin\n"
	pol, err := policy.Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	in := &plan.Input{
		Policy:      pol,
		PolicyBytes: []byte(src),
		Built:       time.Date(2013, 7, 30, 12, 0, 0, 0, time.UTC),
		Packages: []plan.Package{
			Package(files, "aaaa.cab", []string{"UCPhone/Polycom/CX600/A/ENU"}, "4.0.7577.4100", "4.0.7577.4363"),
			Package(files, "bbbb.cab", []string{"UCPhone/Polycom/CX600/A/ENU", "UCPhone/HP/4120/A/ENU"}, "4.0.7577.4398"),
			Package(files, "cccc.cab", []string{"UCPhone/Aastra/6725ip/A/DEU"}, "4.0.7577.4363", "4.0.7577.4399"),
		},
	}
	return in, files
}

// ParsePolicy parses a test policy.
func ParsePolicy(src string) (*policy.Policy, error) { return policy.Parse("policy.yaml", []byte(src)) }

// WalkTree calls fn for every file of a tree, following the links to the
// shared answers/ and files/ directories but listing only what the tree's
// manifest lists there.
func WalkTree(dir string, fn func(rel, path string) error) error {
	mb, err := os.ReadFile(filepath.Join(dir, site.ManifestName))
	if err != nil {
		return err
	}
	var m site.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return err
	}
	files := []string{site.ManifestName}
	if _, err := os.Stat(filepath.Join(dir, site.SignatureName)); err == nil {
		files = append(files, site.SignatureName)
	}
	for _, f := range m.Files {
		files = append(files, f.Path)
	}
	slices.Sort(files)
	for _, rel := range files {
		if err := fn(rel, filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	return nil
}

// Plan makes the plan of in, failing the test on an error.
func Plan(t testing.TB, in *plan.Input) *plan.Plan {
	t.Helper()
	p, err := plan.MakePlan(in)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
