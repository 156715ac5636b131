package htpasswd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duws/duws/responder/account"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

// testCost keeps the tests fast; production files use more.
const testCost = bcrypt.MinCost

// writeFile writes an htpasswd file into a fresh directory, atomically,
// as an admin's tool would, and returns its path.
func writeFile(t *testing.T, dir, data string) string {
	t.Helper()
	path := filepath.Join(dir, "users")
	if err := writeAtomic(path, []byte(data), nil); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeClock is a settable time.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openWithClock opens path with a fake clock and a captured log.
func openWithClock(t *testing.T, path string) (*File, *fakeClock, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&syncWriter{w: &log}, nil))
	f, err := Open(path, logger)
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	f.now = clock.Now
	f.lastLook.Store(clock.Now().UnixNano())
	return f, clock, &log
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestCheck(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "comments.htpasswd"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		user, password string
		want           bool
	}{
		{"alice", "alice-pw", true},
		{"bob", "bob-pw", true},
		{"carol smith", "carol-pw", true},
		{"alice", "bob-pw", false},
		{"alice", "", false},
		{"alice", "alice-pw ", false},
		{"Alice", "alice-pw", false},
		{"mallory", "alice-pw", false},
		{"", "", false},
		{"# duws accounts", "", false},
	}
	for _, tt := range tests {
		if got := f.Check(tt.user, tt.password); got != tt.want {
			t.Errorf("Check(%q, %q) = %v, want %v", tt.user, tt.password, got, tt.want)
		}
	}
	if diff := cmp.Diff([]string{"alice", "bob", "carol smith"}, f.Users()); diff != "" {
		t.Errorf("Users (-want +got):\n%s", diff)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing"), nil); !os.IsNotExist(err) {
		t.Errorf("Open(missing) = %v, want not-exist", err)
	}
	path := writeFile(t, dir, "alice:"+aliceHash+"\nbob:$apr1$x$y\n")
	_, err := Open(path, nil)
	if want := path + `:2: user "bob": unsupported password hash`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Open = %v, want error containing %q", err, want)
	}
	if _, err := Open(dir, nil); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Open(dir) = %v, want not a regular file", err)
	}
}

// TestCheckComparesUnknownUsers guards the timing promise: a known user
// with a wrong password and an unknown user both cost one bcrypt
// comparison, at the cost most common in the file.
func TestCheckComparesUnknownUsers(t *testing.T) {
	f, err := Open(filepath.Join("testdata", "apache.htpasswd"), nil) // costs 4, 4, 5
	if err != nil {
		t.Fatal(err)
	}
	var costs []int
	f.compare = func(hash, password []byte) error {
		c, err := bcrypt.Cost(hash)
		if err != nil {
			t.Errorf("compared against a hash bcrypt rejects: %v", err)
		}
		costs = append(costs, c)
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	for _, c := range []struct{ user, password string }{
		{"alice", "alice-pw"},
		{"alice", "wrong"},
		{"mallory", "wrong"},
		{"", ""},
		{"mallory", dummySaltAndHash},
	} {
		f.Check(c.user, c.password)
	}
	if diff := cmp.Diff([]int{4, 4, 4, 4, 4}, costs); diff != "" {
		t.Errorf("comparison costs (-want +got):\n%s", diff)
	}
}

func TestCommonCost(t *testing.T) {
	tests := []struct {
		costs map[int]int
		want  int
	}{
		{map[int]int{}, bcrypt.DefaultCost},
		{map[int]int{12: 1}, 12},
		{map[int]int{4: 2, 12: 1}, 4},
		{map[int]int{4: 1, 12: 1}, 12},
	}
	for _, tt := range tests {
		if got := commonCost(tt.costs); got != tt.want {
			t.Errorf("commonCost(%v) = %d, want %d", tt.costs, got, tt.want)
		}
	}
	if h := dummyHash(31); !validBcrypt(string(h)) {
		t.Errorf("dummyHash(31) = %q, not a valid bcrypt hash", h)
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "# accounts\nalice:"+aliceHash+"\n")
	f, clock, log := openWithClock(t, path)

	if err := Add(path, "dave", "dave-pw", testCost); err != nil {
		t.Fatal(err)
	}
	if f.Check("dave", "dave-pw") {
		t.Error("Check(dave) true before the reload interval passed")
	}
	clock.Advance(f.ReloadInterval)
	if !f.Check("dave", "dave-pw") {
		t.Error("Check(dave) false after the reload interval")
	}
	if !f.Check("alice", "alice-pw") {
		t.Error("Check(alice) false after reload")
	}

	// A broken rewrite keeps what was loaded, and is logged once.
	writeFile(t, dir, "# accounts\nalice:"+aliceHash+"\nbroken line\n")
	for range 3 {
		clock.Advance(f.ReloadInterval)
		if !f.Check("dave", "dave-pw") || !f.Check("alice", "alice-pw") {
			t.Fatal("accounts lost after a broken rewrite")
		}
	}
	if n := strings.Count(log.String(), "htpasswd reload failed"); n != 1 {
		t.Errorf("reload failure logged %d times, want once; log:\n%s", n, log)
	}
	if want := path + ":3: malformed line"; !strings.Contains(log.String(), want) {
		t.Errorf("log does not name the line %q:\n%s", want, log)
	}

	// Removing the file keeps the accounts too; restoring it reloads.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock.Advance(f.ReloadInterval)
	if !f.Check("alice", "alice-pw") {
		t.Error("accounts lost when the file went away")
	}
	writeFile(t, dir, "bob:"+bobHash+"\n")
	clock.Advance(f.ReloadInterval)
	if f.Check("alice", "alice-pw") || !f.Check("bob", "bob-pw") {
		t.Error("fixed file not reloaded")
	}
	if diff := cmp.Diff([]string{"bob"}, f.Users()); diff != "" {
		t.Errorf("Users (-want +got):\n%s", diff)
	}
	if strings.Contains(log.String(), "pw") {
		t.Errorf("log mentions a password:\n%s", log)
	}
}

// TestReloadInPlace covers writers that rewrite the file in place, as
// Apache's htpasswd does: same inode, new size or time.
func TestReloadInPlace(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "alice:"+aliceHash+"\n")
	f, clock, _ := openWithClock(t, path)
	if err := os.WriteFile(path, []byte("bob:"+bobHash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Same size; make sure the time differs even on coarse file systems.
	if err := os.Chtimes(path, time.Time{}, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clock.Advance(f.ReloadInterval)
	if !f.Check("bob", "bob-pw") {
		t.Error("in-place rewrite not reloaded")
	}
}

// TestConcurrentCheckAndAdd is for -race: Checks from many goroutines
// while users are added, and concurrent Adds lose no user.
func TestConcurrentCheckAndAdd(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "alice:"+aliceHash+"\n")
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.ReloadInterval = 0
	const adders = 8
	var wg sync.WaitGroup
	var stop atomic.Bool
	var bad atomic.Int32
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if !f.Check("alice", "alice-pw") {
					bad.Add(1)
				}
				f.Check("user0", "wrong")
				f.Users()
			}
		}()
	}
	var adds sync.WaitGroup
	for i := range adders {
		adds.Add(1)
		go func() {
			defer adds.Done()
			if err := Add(path, fmt.Sprintf("user%d", i), "pw", testCost); err != nil {
				t.Error(err)
			}
		}()
	}
	adds.Wait()
	stop.Store(true)
	wg.Wait()
	if n := bad.Load(); n > 0 {
		t.Errorf("Check(alice) failed %d times during edits", n)
	}
	want := []string{"alice"}
	for i := range adders {
		want = append(want, fmt.Sprintf("user%d", i))
	}
	if diff := cmp.Diff(want, f.Users()); diff != "" {
		t.Errorf("Users after concurrent Adds (-want +got):\n%s", diff)
	}
}

// TestFileIsAccountSource: a File verifies through the account.Source
// interface, naming the account and itself, and says ErrInvalid for an
// unknown user and a wrong password alike.
func TestFileIsAccountSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	if err := Add(path, "alice", "alice-pw", bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	var src account.Source = f
	res, err := src.Verify(context.Background(), "alice", "alice-pw")
	if err != nil || res != (account.Result{Account: "alice", Source: "htpasswd"}) {
		t.Errorf("Verify(alice, right) = %+v, %v", res, err)
	}
	for _, c := range [][2]string{{"alice", "wrong"}, {"mallory", "alice-pw"}} {
		if _, err := src.Verify(context.Background(), c[0], c[1]); !errors.Is(err, account.ErrInvalid) {
			t.Errorf("Verify(%s, %s) = %v, want ErrInvalid", c[0], c[1], err)
		}
	}
}
