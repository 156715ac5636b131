package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/internal/fleettest"
)

// TestMain lets tests run this test binary as the duws command, for tests
// that need a real child process (to kill it, for instance).
func TestMain(m *testing.M) {
	if os.Getenv("DUWS_TEST_AS_MAIN") == "1" {
		os.Exit(run(testContext(), os.Args, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// fleet copies the example vendor packages and a bare policy into a
// temporary directory and returns the policy path.
func fleet(t *testing.T) (dir, policyPath string) {
	t.Helper()
	return fleettest.Fleet(t, "../..", fleettest.Bare)
}

func TestImportAndLifecycle(t *testing.T) {
	dir, pol := fleet(t)
	cx600 := "UCPhone/Polycom/CX600/A/ENU"
	steps := []struct {
		args []string
		code int
		out  string // expected in stdout+stderr
	}{
		{[]string{"import", "--policy", pol, filepath.Join(dir, "vendor", "polycom-4.0.7577.4100.cab")}, 0, "added UCPhone/Polycom/CX600/A/ENU CPE"},
		{[]string{"import", "--policy", pol, filepath.Join(dir, "vendor", "polycom-4.0.7577.4100.cab")}, 0, "policy.yaml unchanged"},
		{[]string{"approve", "--policy", pol, "--dry-run", cx600}, 0, "dry run"},
		{[]string{"approve", "--policy", pol, cx600}, 0, "approved UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4100"},
		{[]string{"approve", "--policy", pol, cx600}, 1, "nothing pending"},
		{[]string{"import", "--policy", pol, filepath.Join(dir, "vendor", "polycom-4.0.7577.4363.cab")}, 0, "pending 4.0.7577.4363"},
		{[]string{"approve", "--policy", pol, cx600}, 0, "kept as restore"},
		{[]string{"import", "--policy", pol, filepath.Join(dir, "vendor", "polycom-4.0.7577.4398.cab")}, 0, "4.0.7577.4398"},
		{[]string{"reset", "--policy", pol, cx600}, 0, "4.0.7577.4398"},
		{[]string{"restore", "--policy", pol, cx600}, 0, "4.0.7577.4100"},
		{[]string{"restore", "--policy", pol, cx600}, 1, "no restore version"},
		{[]string{"test-device", "add", "--policy", pol, "--name", "lab", "--mac", "00:04:f2:aa:bb:cc"}, 0, "added test device"},
		{[]string{"test-device", "add", "--policy", pol, "--name", "lab2", "--mac", "00:04:f2:aa:bb"}, 1, "MAC"},
		{[]string{"test-device", "add", "--policy", pol, "--name", "x", "--serial", "S1", "--site", "Nowhere"}, 1, "Nowhere"},
		{[]string{"test-device", "add", "--policy", pol, "--name", "lab3"}, 2, "one of --mac and --serial"},
		{[]string{"test-device", "list", "--policy", pol}, 0, "0004f2aabbcc"},
		{[]string{"test-device", "remove", "--policy", pol, "lab"}, 0, "lab"},
		{[]string{"clean", "--policy", pol, "--dry-run"}, 0, "nothing to clean"},
		{[]string{"remove", "--policy", pol, "UCPhone/Polycom/CX[37]*/*/*"}, 0, "removed"},
		{[]string{"clean", "--policy", pol, "--dry-run"}, 0, "would delete"},
		{[]string{"clean", "--policy", pol}, 0, "deleted"},
		{[]string{"validate", "--policy", pol}, 0, "ok"},
		{[]string{"rules", "--policy", pol}, 0, "4.0.7577.4100"},
		{[]string{"rules", "--policy", pol, "--json"}, 0, `"approved": "4.0.7577.4100"`},
		{[]string{"remove", "--policy", pol, "3757926b"}, 0, "removed"},
		{[]string{"rules", "--policy", pol}, 0, "ID"},
		{[]string{"approve", "--policy", pol, "ffff"}, 1, "ffff"},
		{[]string{"approve", "--policy", pol}, 2, "no rule selected"},
	}
	for i, s := range steps {
		code, out, errs := runCLI(t, s.args...)
		if code != s.code || !strings.Contains(out+errs, s.out) {
			t.Fatalf("step %d %v: exit %d, want %d with %q\n%s%s", i, s.args, code, s.code, s.out, out, errs)
		}
	}
}

func TestImportRefusesBadPackageAndWritesNothing(t *testing.T) {
	dir, pol := fleet(t)
	before, _ := os.ReadFile(pol)
	bad := filepath.Join(dir, "bad.cab")
	good := filepath.Join(dir, "vendor", "hp-4.0.7577.4366.cab")
	b, _ := os.ReadFile(good)
	b[len(b)-3] ^= 0xff // break a checksum
	os.WriteFile(bad, b, 0o644)
	code, out, errs := runCLI(t, "import", "--policy", pol, good, bad)
	if code != 1 || !strings.Contains(errs, "bad.cab") || !strings.Contains(errs, "nothing imported") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	after, _ := os.ReadFile(pol)
	if string(before) != string(after) {
		t.Error("policy changed by a failed import")
	}
	if names, _ := filepath.Glob(filepath.Join(dir, "packages", "*")); len(names) != 0 {
		t.Errorf("store holds %v after a failed import", names)
	}
}

func TestBrokenPolicyListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("packages: p\nrules:\n  - id: nope\n    identity: a/b\n    update_type: CPE\n    aproved: 1.2.3.4\n"), 0o644)
	code, _, errs := runCLI(t, "validate", "--policy", pol)
	for _, want := range []string{"policy.yaml:3:", "policy.yaml:4:", "policy.yaml:6:"} {
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("exit %d, stderr lacks %q:\n%s", code, want, errs)
		}
	}
}

// TestImportRuleIDConflict: a policy holds the CX600's rule under an id
// carried over from Lync Server. A package without a rule id is that
// rule; a package naming another id is refused with the two ways out, and
// each way out works.
func TestImportRuleIDConflict(t *testing.T) {
	const lyncID = "11111111-2222-4333-8444-555555555555"
	setup := func(t *testing.T) (dir, pol string) {
		dir, pol = fleet(t)
		b, _ := os.ReadFile(pol)
		src := strings.Replace(string(b), "rules: []\n", "rules:\n  - id: "+lyncID+"\n    identity: UCPhone/Polycom/CX600/A/ENU\n    update_type: CPE\n", 1)
		os.WriteFile(pol, []byte(src), 0o644)
		return dir, pol
	}
	ruleID := func(t *testing.T, pol string) string {
		d, err := policy.Load(pol)
		if err != nil {
			t.Fatal(err)
		}
		return d.Policy().Rules[0].ID
	}

	t.Run("package without an id", func(t *testing.T) {
		dir, pol := setup(t)
		cab := filepath.Join(dir, "noid.cab")
		makeCab(t, cab,
			cabEntry{"UCPhone/Polycom/CX600/A/ENU/4.0.7577.4500/CPE/CPE.nbt", "image"},
			cabEntry{"UCPhone/Polycom/CX600/A/ENU/4.0.7577.4500/CPE/CPE.cat", "catalog"})
		code, out, errs := runCLI(t, "import", "--policy", pol, cab)
		if code != 0 || !strings.Contains(out, "the package names no rule id: kept the policy's "+lyncID) {
			t.Fatalf("import: exit %d\n%s%s", code, out, errs)
		}
		if id := ruleID(t, pol); id != lyncID {
			t.Errorf("rule id is %s, want the policy's %s", id, lyncID)
		}
	})
	t.Run("package with another id", func(t *testing.T) {
		dir, pol := setup(t)
		pkg := filepath.Join(dir, "vendor", "polycom-4.0.7577.4398.cab")
		before, _ := os.ReadFile(pol)
		code, out, errs := runCLI(t, "import", "--policy", pol, pkg)
		if code != 1 || !strings.Contains(errs, "has id "+lyncID+" in the policy but 3757926b-8a75-41b9-a6b1-0991ebd77ede in the package: import with --keep-policy-id to keep "+lyncID+", or with --adopt-package-id to change the rule's id to 3757926b-8a75-41b9-a6b1-0991ebd77ede") {
			t.Fatalf("import: exit %d, want 1 naming both flags\n%s%s", code, out, errs)
		}
		if after, _ := os.ReadFile(pol); string(after) != string(before) {
			t.Error("a refused import changed the policy")
		}
		if code, out, errs := runCLI(t, "import", "--policy", pol, "--keep-policy-id", pkg); code != 0 {
			t.Fatalf("import --keep-policy-id: exit %d\n%s%s", code, out, errs)
		}
		if id := ruleID(t, pol); id != lyncID {
			t.Errorf("after --keep-policy-id the rule id is %s", id)
		}
		if code, out, errs := runCLI(t, "approve", "--policy", pol, lyncID[:8]); code != 0 {
			t.Fatalf("approve: exit %d\n%s%s", code, out, errs)
		}
		if code, out, errs := runCLI(t, "build", "--policy", pol, "--out", filepath.Join(dir, "site")); code != 0 {
			t.Errorf("build with the kept id: exit %d\n%s%s", code, out, errs)
		}
	})
	t.Run("adopt the package's id", func(t *testing.T) {
		dir, pol := setup(t)
		pkg := filepath.Join(dir, "vendor", "polycom-4.0.7577.4398.cab")
		code, out, errs := runCLI(t, "import", "--policy", pol, "--adopt-package-id", pkg)
		if code != 0 || !strings.Contains(out, "id changed from "+lyncID+" to the package's 3757926b-8a75-41b9-a6b1-0991ebd77ede") {
			t.Fatalf("import --adopt-package-id: exit %d\n%s%s", code, out, errs)
		}
		if id := ruleID(t, pol); id != "3757926b-8a75-41b9-a6b1-0991ebd77ede" {
			t.Errorf("after --adopt-package-id the rule id is %s", id)
		}
		if code, _, _ := runCLI(t, "import", "--policy", pol, "--adopt-package-id", "--keep-policy-id", pkg); code != 2 {
			t.Errorf("both flags: exit %d, want 2", code)
		}
	})
}

// TestImportSeveralCabinetsInOneFile: a file made by concatenating two
// vendor packages, with garbage between them, imports as the two
// packages, each stored as exactly its own cabinet.
func TestImportSeveralCabinetsInOneFile(t *testing.T) {
	dir, pol := fleet(t)
	a, _ := os.ReadFile(filepath.Join(dir, "vendor", "polycom-4.0.7577.4100.cab"))
	b, _ := os.ReadFile(filepath.Join(dir, "vendor", "hp-4.0.7577.4366.cab"))
	both := filepath.Join(dir, "both.bin")
	data := append(append(append([]byte{}, a...), []byte("MSCF\x00\x00\x00\x00garbage between the cabinets")...), b...)
	os.WriteFile(both, data, 0o644)
	code, out, errs := runCLI(t, "import", "--policy", pol, both)
	if code != 0 {
		t.Fatalf("import: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"added UCPhone/Polycom/CX600/A/ENU CPE", "added UCPhone/HP/4120/A/ENU CPE", fmt.Sprintf("(the cabinet found at offset %d)", len(a)+36)} {
		if !strings.Contains(out, want) {
			t.Errorf("import output lacks %q:\n%s", want, out)
		}
	}
	// Each package is stored as the vendor's cabinet, byte for byte.
	for _, want := range [][]byte{a, b} {
		sum := sha256.Sum256(want)
		if got, err := os.ReadFile(filepath.Join(dir, "packages", hex.EncodeToString(sum[:])+".cab")); err != nil || !bytes.Equal(got, want) {
			t.Errorf("stored package %x: %v", sum[:6], err)
		}
	}
	if code, out, errs := runCLI(t, "validate", "--policy", pol); code != 0 {
		t.Errorf("validate: exit %d\n%s%s", code, out, errs)
	}
}
