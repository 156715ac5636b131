package htpasswd

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// htpasswdTool returns the path of Apache's htpasswd (Debian package
// apache2-utils). Without it the interop tests are skipped, except in CI,
// which installs it and where a skip would hide a lost guarantee.
func htpasswdTool(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("htpasswd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("htpasswd not found in CI (install apache2-utils): %v", err)
		}
		t.Skipf("htpasswd not found (apt install apache2-utils): %v", err)
	}
	return path
}

// TestApacheWritesWeRead: a file made by htpasswd -B is accepted by
// Check, and editing it with Add keeps htpasswd's lines.
func TestApacheWritesWeRead(t *testing.T) {
	tool := htpasswdTool(t)
	path := filepath.Join(t.TempDir(), "users")
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
			t.Fatalf("htpasswd %q: %v\n%s", args, err, out)
		}
	}
	run("-B", "-C", "5", "-c", "-b", path, "alice", "alice-pw")
	run("-B", "-C", "4", "-b", path, "bob", "bob pw with spaces")
	run("-B", "-C", "4", "-b", path, "zoë", "pässwörd")

	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		user, password string
		want           bool
	}{
		{"alice", "alice-pw", true},
		{"alice", "alice-pw2", false},
		{"bob", "bob pw with spaces", true},
		{"bob", "bob", false},
		{"zoë", "pässwörd", true},
		{"carol", "alice-pw", false},
	} {
		if got := f.Check(c.user, c.password); got != c.want {
			t.Errorf("Check(%q, %q) = %v, want %v", c.user, c.password, got, c.want)
		}
	}

	if err := Add(path, "carol", "carol-pw", testCost); err != nil {
		t.Fatal(err)
	}
	run("-D", path, "bob") // htpasswd reads our line back and rewrites
	users, err := List(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alice", "carol", "zoë"}, users); diff != "" {
		t.Errorf("users after htpasswd -D (-want +got):\n%s", diff)
	}
}

// TestWeWriteApacheReads: htpasswd -v accepts the right password for a
// user added here, and refuses a wrong one.
func TestWeWriteApacheReads(t *testing.T) {
	tool := htpasswdTool(t)
	path := filepath.Join(t.TempDir(), "users")
	users := []struct{ user, password string }{
		{"alice", "alice-pw"},
		{"carol smith", "a password, with: punctuation!"},
		{"zoë", "pässwörd"},
	}
	for _, u := range users {
		if err := Add(path, u.user, u.password, testCost); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(user, password string) error {
		return exec.Command(tool, "-v", "-b", path, user, password).Run()
	}
	for _, u := range users {
		if err := verify(u.user, u.password); err != nil {
			t.Errorf("htpasswd -v %q with the right password: %v", u.user, err)
		}
		err := verify(u.user, u.password+"x")
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			t.Errorf("htpasswd -v %q with a wrong password: %v, want a non-zero exit", u.user, err)
		}
	}
}
