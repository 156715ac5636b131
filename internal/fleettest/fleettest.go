// Package fleettest sets up the example fleet for tests across the
// module: a temporary policy beside a copy of the example vendor packages,
// and golden files refreshed with -update.
package fleettest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Bare is a policy with no rules and no test devices.
const Bare = "# test policy\npackages: packages\nservice:\n  internal_url: https://ucupdates-r2.contoso.com\n  external_url: https://ucupdates-r2.contoso.com:4443\ntopology_sites: [Dublin]\nrules: []\ntest_devices: []\n"

// Fleet writes policy to policy.yaml in a temporary directory and copies
// the example vendor packages (root is the module's root, relative to the
// test's directory) into its vendor/ directory. It returns the directory
// and the policy's path.
func Fleet(t testing.TB, root, policy string) (dir, policyPath string) {
	t.Helper()
	dir = t.TempDir()
	policyPath = filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(policyPath, []byte(policy), 0o644); err != nil {
		t.Fatal(err)
	}
	vendor := filepath.Join(dir, "vendor")
	os.Mkdir(vendor, 0o755)
	ents, err := os.ReadDir(filepath.Join(root, "examples", "vendor"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(root, "examples", "vendor", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(vendor, e.Name()), b, 0o644)
	}
	return dir, policyPath
}

// ExampleFleet is Fleet with the module's top-level policy.yaml, whose
// rules the example vendor packages provide.
func ExampleFleet(t testing.TB, root string) (dir, policyPath string) {
	t.Helper()
	pol, err := os.ReadFile(filepath.Join(root, "policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return Fleet(t, root, string(pol))
}

// VendorFiles lists the vendor packages of a fleet.
func VendorFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "vendor", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vendor packages: %v", err)
	}
	return files
}

// Golden compares got with the file testdata/name, first rewriting the
// file when update is set.
func Golden(t testing.TB, name, got string, update bool) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}
