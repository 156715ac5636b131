package htpasswd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

func TestAddRemoveList(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users")

	if err := Add(path, "alice", "alice-pw", testCost); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new file mode = %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "alice:$2y$04$") || !strings.HasSuffix(string(data), "\n") || len(data) != len("alice:")+bcryptLen+1 {
		t.Errorf("file = %q, want one line alice:$2y$04$…", data)
	}

	// Hand edits survive, and the mode of an existing file is kept.
	hand := "# duws accounts\r\n\r\n" + string(data) + "  # keep me\n"
	if err := os.WriteFile(path, []byte(hand), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Add(path, "bob", "bob-pw", testCost); err != nil {
		t.Fatal(err)
	}
	if err := Add(path, "alice", "new-pw", testCost); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(got), "\n")
	if len(lines) != 6 || lines[0] != "# duws accounts\r\n" || lines[1] != "\r\n" ||
		!strings.HasPrefix(lines[2], "alice:$2y$") || lines[3] != "  # keep me\n" ||
		!strings.HasPrefix(lines[4], "bob:$2y$") || !strings.HasSuffix(lines[4], "\r\n") || lines[5] != "" {
		t.Errorf("file after edits:\n%q", lines)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode after edit = %v, want 0640 kept", fi.Mode().Perm())
	}

	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Check("alice", "new-pw") || f.Check("alice", "alice-pw") || !f.Check("bob", "bob-pw") {
		t.Error("Check does not see the passwords Add set")
	}

	users, err := List(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, users); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	if err := Remove(path, "alice"); err != nil {
		t.Fatal(err)
	}
	err = Remove(path, "alice")
	if !errors.Is(err, ErrNoUser) {
		t.Errorf("second Remove = %v, want ErrNoUser", err)
	}
	if want := path + `: user "alice": no such user`; err == nil || err.Error() != want {
		t.Errorf("Remove error = %q, want %q", err, want)
	}
	got, _ = os.ReadFile(path)
	if strings.Contains(string(got), "alice") || !strings.Contains(string(got), "# keep me") {
		t.Errorf("file after Remove:\n%s", got)
	}
	assertOnly(t, dir, "users")
}

func TestAddRejects(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users")
	tests := []struct {
		name, user, password string
		cost                 int
		want                 string
		is                   error
	}{
		{"empty user", "", "pw", testCost, "invalid user name: empty", ErrInvalidUser},
		{"colon", "a:b", "pw", testCost, `invalid user name "a:b": contains ':'`, ErrInvalidUser},
		{"newline", "a\nb", "pw", testCost, `invalid user name "a\nb": contains a control character`, ErrInvalidUser},
		{"DEL", "a\x7f", "pw", testCost, "control character", ErrInvalidUser},
		{"C1 control", "a\u0085", "pw", testCost, "control character", ErrInvalidUser},
		{"comment", "#a", "pw", testCost, `invalid user name "#a": starts with white space or '#'`, ErrInvalidUser},
		{"leading space", " a", "pw", testCost, "starts with white space", ErrInvalidUser},
		{"byte order mark", bom + "a", "pw", testCost, "byte order mark", ErrInvalidUser},
		{"long", strings.Repeat("a", 256), "pw", testCost, "longer than 255 bytes", ErrInvalidUser},
		{"empty password", "a", "", testCost, "empty password", nil},
		{"long password", "a", strings.Repeat("p", 73), testCost, "password longer than 72 bytes", nil},
		{"low cost", "a", "pw", 3, "bcrypt cost 3 out of range [4, 31]", nil},
		{"high cost", "a", "pw", 32, "bcrypt cost 32 out of range [4, 31]", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Add(path, tt.user, tt.password, tt.cost)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Add = %v, want error containing %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("Add error %v is not %v", err, tt.is)
			}
		})
	}
	assertOnly(t, dir)
}

func TestResolveCost(t *testing.T) {
	for _, tt := range []struct{ cost, want int }{
		{0, bcrypt.DefaultCost},
		{4, 4},
		{31, 31},
		{3, 0},
		{-1, 0},
		{32, 0},
	} {
		got, err := resolveCost(tt.cost)
		if got != tt.want || (err != nil) != (tt.want == 0) {
			t.Errorf("resolveCost(%d) = %d, %v, want %d", tt.cost, got, err, tt.want)
		}
	}
}

// TestEditLeavesBadFileAlone: a file that does not parse is neither
// rewritten nor partly edited.
func TestEditLeavesBadFileAlone(t *testing.T) {
	dir := t.TempDir()
	bad := "alice:" + aliceHash + "\nbob:$apr1$x$y\n"
	path := writeFile(t, dir, bad)
	for _, edit := range []func() error{
		func() error { return Add(path, "carol", "pw", testCost) },
		func() error { return Remove(path, "alice") },
	} {
		err := edit()
		if !errors.Is(err, ErrUnsupportedHash) || !strings.Contains(err.Error(), path+":2:") {
			t.Errorf("edit = %v, want unsupported hash at %s:2", err, path)
		}
	}
	if _, err := List(path); !errors.Is(err, ErrUnsupportedHash) {
		t.Errorf("List = %v, want ErrUnsupportedHash", err)
	}
	if got, _ := os.ReadFile(path); string(got) != bad {
		t.Errorf("bad file changed to %q", got)
	}
	assertOnly(t, dir, "users")
}

func TestEditMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users")
	if err := Remove(path, "alice"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove(missing file) = %v, want not-exist", err)
	}
	if _, err := List(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("List(missing file) = %v, want not-exist", err)
	}
	if err := Add(filepath.Join(dir, "no", "users"), "a", "pw", testCost); err == nil {
		t.Error("Add into a missing directory succeeded")
	}
	assertOnly(t, dir)
}

// TestEditThroughSymlink edits the file a link points to and keeps the
// link, as deployments that link /etc/duws/users elsewhere expect.
func TestEditThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real := writeFile(t, dir, "alice:"+aliceHash+"\n")
	link := filepath.Join(dir, "link")
	if err := os.Symlink("users", link); err != nil {
		t.Skip(err)
	}
	if err := Add(link, "bob", "bob-pw", testCost); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link replaced: %v, %v", fi, err)
	}
	users, err := List(real)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"alice", "bob"}, users); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}
}

// assertOnly fails unless dir holds exactly the named files: no
// temporary file is left behind.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if diff := cmp.Diff(names, got); diff != "" {
		t.Errorf("files in %s (-want +got):\n%s", dir, diff)
	}
}
