package workspace

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/store"
	"github.com/duws/duws/internal/fleettest"
)

// TestMain lets tests run this test binary as a child that imports, for
// tests that need a real process (to kill it, for instance): with
// DUWS_TEST_IMPORT=1 its arguments are a policy file and the packages.
func TestMain(m *testing.M) {
	if os.Getenv("DUWS_TEST_IMPORT") == "1" {
		w, err := Open(os.Args[1])
		if err == nil {
			_, err = w.Import(os.Args[2:])
		}
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fleet copies the example vendor packages and a bare policy into a
// temporary directory and returns the policy path.
func fleet(t *testing.T) (dir, policyPath string) {
	t.Helper()
	return fleettest.Fleet(t, "../..", fleettest.Bare)
}

var vendorFiles = fleettest.VendorFiles

// importFiles opens the policy and imports files.
func importFiles(t *testing.T, policyPath string, files ...string) (Report, error) {
	t.Helper()
	w, err := Open(policyPath)
	if err != nil {
		t.Fatal(err)
	}
	return w.Import(files)
}

func TestStoreDir(t *testing.T) {
	for _, tt := range []struct{ policy, packages, want string }{
		{"policy.yaml", "packages", "packages"},
		{"/etc/duws/policy.yaml", "packages", "/etc/duws/packages"},
		{"fleet/policy.yaml", "../store", "store"},
		{"fleet/policy.yaml", "/srv/store", "/srv/store"},
	} {
		if got := StoreDir(tt.policy, tt.packages); got != filepath.FromSlash(tt.want) {
			t.Errorf("StoreDir(%q, %q) = %q, want %q", tt.policy, tt.packages, got, tt.want)
		}
	}
}

// An import stores each package, says what the policy gains, saves the
// policy only when it changed, and a second import of the same files
// changes nothing.
func TestImportReport(t *testing.T) {
	dir, pol := fleet(t)
	exe := filepath.Join(dir, "vendor", "aastra-4.0.7577.4363.exe")
	rep, err := importFiles(t, pol, exe)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Packages) != 1 || !rep.Packages[0].Created || rep.Packages[0].Offset == 0 || rep.Packages[0].Updates == 0 || !rep.Changed || len(rep.Edits) != rep.Packages[0].Updates {
		t.Fatalf("first import: %+v", rep)
	}
	if filepath.Dir(rep.Packages[0].Path) != filepath.Join(dir, "packages") {
		t.Errorf("stored as %s, want it in the store beside the policy", rep.Packages[0].Path)
	}
	before, _ := os.ReadFile(pol)
	rep, err = importFiles(t, pol, exe)
	if err != nil || rep.Changed || rep.Packages[0].Created {
		t.Errorf("second import: %+v, %v; want nothing stored or changed", rep, err)
	}
	if after, _ := os.ReadFile(pol); string(after) != string(before) {
		t.Error("an import that changes nothing rewrote the policy")
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
	rep, err := importFiles(t, pol, good, bad)
	if err == nil || !strings.Contains(err.Error(), "bad.cab") || !strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("err = %v", err)
	}
	if len(rep.Packages)+len(rep.Edits) != 0 || rep.Changed {
		t.Errorf("report of a failed import: %+v", rep)
	}
	after, _ := os.ReadFile(pol)
	if string(before) != string(after) {
		t.Error("policy changed by a failed import")
	}
	if names, _ := (&store.Store{Dir: filepath.Join(dir, "packages")}).List(); len(names) != 0 {
		t.Errorf("store holds %v after a failed import", names)
	}
}

// Clean removes what no rule refers to, and a dry run removes nothing.
func TestClean(t *testing.T) {
	dir, pol := fleet(t)
	if _, err := importFiles(t, pol, vendorFiles(t, dir)...); err != nil {
		t.Fatal(err)
	}
	w, err := Open(pol)
	if err != nil {
		t.Fatal(err)
	}
	// The import keeps only the newest of several versions of a rule
	// pending: the packages of the others are referenced by nothing.
	if _, err := w.Clean(false); err != nil {
		t.Fatal(err)
	}
	if done, err := w.Clean(false); err != nil || len(done) != 0 {
		t.Fatalf("second clean: %v, %v; want nothing", done, err)
	}
	rules, err := w.Doc.Select("UCPhone/HP/*/*/*")
	if err != nil || len(rules) == 0 {
		t.Fatalf("select: %v, %v", rules, err)
	}
	for _, r := range rules {
		if _, err := w.Doc.Remove(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Save(); err != nil {
		t.Fatal(err)
	}
	names, _ := w.Store.List()
	dry, err := w.Clean(true)
	if err != nil || len(dry) == 0 {
		t.Fatalf("dry run: %v, %v; want the HP packages", dry, err)
	}
	if after, _ := w.Store.List(); len(after) != len(names) {
		t.Errorf("a dry run deleted %d packages", len(names)-len(after))
	}
	done, err := w.Clean(false)
	if err != nil || len(done) != len(dry) {
		t.Fatalf("clean: %v, %v; want %v", done, err, dry)
	}
	for _, c := range done {
		if _, err := os.Stat(c.Path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", c.Path, err)
		}
	}
	if _, err := w.Check(); err != nil {
		t.Errorf("policy no longer checks after clean: %v", err)
	}
}

// TestImportInterrupted kills a child import at many points; each time
// the policy must parse, every package it refers to must be complete, and
// running the import again must finish the job.
func TestImportInterrupted(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The result of an uninterrupted import, to compare with.
	refDir, refPol := fleet(t)
	if _, err := importFiles(t, refPol, vendorFiles(t, refDir)...); err != nil {
		t.Fatalf("reference import: %v", err)
	}
	want, _ := os.ReadFile(refPol)

	killed := 0
	for delay := time.Duration(0); delay < 400*time.Millisecond; delay += delay/4 + 500*time.Microsecond {
		dir, pol := fleet(t)
		cmd := exec.Command(exe, append([]string{pol}, vendorFiles(t, dir)...)...)
		cmd.Env = append(os.Environ(), "DUWS_TEST_IMPORT=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) && !ee.Exited() {
			killed++
		}
		// The policy parses and refers only to complete packages.
		if _, err := policy.Load(pol); err != nil {
			t.Fatalf("after kill at %v: policy: %v", delay, err)
		}
		st := &store.Store{Dir: filepath.Join(dir, "packages")}
		names, _ := st.List()
		for _, n := range names {
			if err := st.Verify(n); err != nil {
				t.Fatalf("after kill at %v: %v", delay, err)
			}
		}
		w, err := Open(pol)
		if err == nil {
			_, err = w.Check()
		}
		if err != nil {
			t.Fatalf("after kill at %v: check: %v", delay, err)
		}
		// Running the import again finishes the job.
		if _, err := importFiles(t, pol, vendorFiles(t, dir)...); err != nil {
			t.Fatalf("after kill at %v: re-import: %v", delay, err)
		}
		got, _ := os.ReadFile(pol)
		if string(got) != string(want) {
			t.Fatalf("after kill at %v and a re-import, the policy differs:\n%s\nwant:\n%s", delay, got, want)
		}
	}
	if killed == 0 {
		t.Fatal("no import was interrupted: the test proves nothing")
	}
	t.Logf("%d imports killed part-way", killed)
}

// An import that fails after storing its packages and before saving the
// policy leaves the policy as it was, and the packages it stored are
// adopted by the next import, which finishes the job.
func TestImportFailsBeforeSave(t *testing.T) {
	refDir, refPol := fleet(t)
	if _, err := importFiles(t, refPol, vendorFiles(t, refDir)...); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(refPol)

	dir, pol := fleet(t)
	before, _ := os.ReadFile(pol)
	w, err := Open(pol)
	if err != nil {
		t.Fatal(err)
	}
	fault := errors.New("disk on fire")
	w.beforeSave = func() error { return fault }
	if _, err := w.Import(vendorFiles(t, dir)); !errors.Is(err, fault) {
		t.Fatalf("Import = %v, want the injected fault", err)
	}
	if after, _ := os.ReadFile(pol); string(after) != string(before) {
		t.Error("the policy changed although saving it failed")
	}
	stored, _ := w.Store.List()
	if len(stored) == 0 {
		t.Fatal("nothing stored before the fault")
	}
	rep, err := importFiles(t, pol, vendorFiles(t, dir)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Packages {
		if p.Created {
			t.Errorf("%s stored again; want the package the failed import stored adopted", p.File)
		}
	}
	if got, _ := os.ReadFile(pol); string(got) != string(want) {
		t.Errorf("after the fault and a re-import the policy differs:\n%s\nwant:\n%s", got, want)
	}
}
