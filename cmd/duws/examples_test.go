package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duws/duws/builder/policy"
)

// The examples are part of the product: these tests keep them true.

func TestExampleVendorPackagesRegenerate(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./examples/gen", "-out", out)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./examples/gen: %v\n%s", err, b)
	}
	ents, _ := os.ReadDir(out)
	committed, _ := filepath.Glob("../../examples/vendor/*")
	if len(ents) == 0 || len(ents) != len(committed) {
		t.Fatalf("generator wrote %d files, %d committed", len(ents), len(committed))
	}
	for _, e := range ents {
		got, _ := os.ReadFile(filepath.Join(out, e.Name()))
		want, err := os.ReadFile(filepath.Join("../../examples/vendor", e.Name()))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: regenerated package differs from the committed one (%v)", e.Name(), err)
		}
	}
}

func TestExamplePolicies(t *testing.T) {
	b, err := os.ReadFile("../../examples/policy-full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := policy.Parse("examples/policy-full.yaml", b); err != nil {
		t.Errorf("examples/policy-full.yaml: %v", err)
	}
	if code, out, errs := runCLI(t, "validate", "--policy", "../../policy.yaml"); code != 0 {
		t.Errorf("duws check of the top-level policy: %s%s", out, errs)
	}
}

// The top-level policy's packages are exactly the example vendor packages:
// importing them again stores nothing new and changes nothing.
func TestExamplePackagesAreImported(t *testing.T) {
	dir := t.TempDir()
	pol, _ := os.ReadFile("../../policy.yaml")
	os.WriteFile(filepath.Join(dir, "policy.yaml"), pol, 0o644)
	os.MkdirAll(filepath.Join(dir, "examples", "packages"), 0o755)
	pkgs, _ := filepath.Glob("../../examples/packages/*.cab")
	for _, p := range pkgs {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(dir, "examples", "packages", filepath.Base(p)), b, 0o644)
	}
	vendor, _ := filepath.Glob("../../examples/vendor/*")
	code, out, errs := runCLI(t, append([]string{"import", "--policy", filepath.Join(dir, "policy.yaml")}, vendor...)...)
	if code != 0 || strings.Contains(out, ": stored as") || !strings.Contains(out, "unchanged") {
		t.Errorf("re-importing the example packages changed something: exit %d\n%s%s", code, out, errs)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "examples", "packages", "*.cab"))
	if len(after) != len(pkgs) {
		t.Errorf("%d packages after re-import, %d before", len(after), len(pkgs))
	}
}
