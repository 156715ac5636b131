package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duws/duws/internal/fleettest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata")

// siteListing lists every file of a site directory with its size and
// SHA-256, and every symbolic link with its target, in path order: two
// builds agree byte for byte exactly when their listings do.
func siteListing(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s -> %s\n", rel, filepath.ToSlash(target))
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(&b, "%s %d %s\n", rel, len(data), hex.EncodeToString(sum[:]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The tree built from the example policies is the one the code built
// before the house-keeping of issue 10: refactoring changes no byte.
// Refresh with go test -run TestExampleTreeGolden -update only for a
// change meant to change the tree.
func TestExampleTreeGolden(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "")
	build := func(t *testing.T, policyPath string) string {
		t.Helper()
		out := t.TempDir()
		if code, stdout, stderr := runCLI(t, "build", "--policy", policyPath, "--out", out); code != 0 {
			t.Fatalf("duws build: exit %d\n%s%s", code, stdout, stderr)
		}
		return siteListing(t, out)
	}
	fleettest.Golden(t, "example-tree.golden", build(t, "../../policy.yaml"), *updateGolden)

	// The same policy over a store filled by duws import, rather than
	// the committed one, gives the same tree.
	dir, policyPath := fleettest.ExampleFleet(t, "../..")
	if code, stdout, stderr := runCLI(t, append([]string{"import", "--policy", policyPath}, fleettest.VendorFiles(t, dir)...)...); code != 0 {
		t.Fatalf("duws import: exit %d\n%s%s", code, stdout, stderr)
	}
	fleettest.Golden(t, "example-tree.golden", build(t, policyPath), false)
}
