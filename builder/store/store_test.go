package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPutListVerify(t *testing.T) {
	s := &Store{Dir: filepath.Join(t.TempDir(), "packages")}
	if names, err := s.List(); err != nil || len(names) != 0 {
		t.Fatalf("empty store lists %v, %v", names, err)
	}
	name, created, err := s.Put(strings.NewReader("cabinet one"))
	if err != nil || !created {
		t.Fatalf("Put = %q, %v, %v", name, created, err)
	}
	h := sha256.Sum256([]byte("cabinet one"))
	if want := hex.EncodeToString(h[:]) + ".cab"; name != want {
		t.Errorf("name %q, want %q", name, want)
	}
	again, created, err := s.Put(strings.NewReader("cabinet one"))
	if err != nil || created || again != name {
		t.Errorf("second Put = %q, %v, %v; want the same name, not created", again, created, err)
	}
	os.WriteFile(filepath.Join(s.Dir, ".tmp-123"), []byte("half"), 0o644)
	os.WriteFile(filepath.Join(s.Dir, "notes.txt"), []byte("x"), 0o644)
	names, err := s.List()
	if err != nil || len(names) != 1 || names[0] != name {
		t.Errorf("List = %v, %v", names, err)
	}
	if left, _ := s.Leftovers(); len(left) != 1 {
		t.Errorf("Leftovers = %v", left)
	}
	if err := s.Verify(name); err != nil {
		t.Error(err)
	}
	os.WriteFile(s.Path(name), []byte("tampered"), 0o644)
	if err := s.Verify(name); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Verify of a tampered package = %v", err)
	}
	if err := s.Remove("../policy.yaml"); err == nil {
		t.Error("Remove accepted a name outside the store")
	}
	if err := s.Remove(name); err != nil {
		t.Error(err)
	}
}

// A sidecar is kept beside its package, given to a package stored before
// without one, removed with it, and reported as a leftover without it.
func TestSidecar(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	name, created, err := s.Put(strings.NewReader("cabinet one"))
	if err != nil || !created {
		t.Fatalf("Put = %v, %v", created, err)
	}
	if _, err := s.Sidecar(name); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Sidecar of a package stored without one: %v, want fs.ErrNotExist", err)
	}
	if _, created, err := s.PutWith(strings.NewReader("cabinet one"), []byte("hashes\n")); err != nil || created {
		t.Fatalf("PutWith of a stored package = %v, %v", created, err)
	}
	if b, err := s.Sidecar(name); err != nil || string(b) != "hashes\n" {
		t.Fatalf("Sidecar = %q, %v", b, err)
	}
	if names, _ := s.List(); len(names) != 1 || names[0] != name {
		t.Errorf("List = %v, want only the package", names)
	}
	if left, _ := s.Leftovers(); len(left) != 0 {
		t.Errorf("Leftovers = %v with the package there", left)
	}
	os.Rename(s.Path(name), s.Path(name)+".moved") // as if Remove stopped half-way
	if left, _ := s.Leftovers(); len(left) != 1 || left[0] != filepath.Base(s.SidecarPath(name)) {
		t.Errorf("Leftovers = %v, want the lone sidecar", left)
	}
	os.Rename(s.Path(name)+".moved", s.Path(name))
	if err := s.Remove(name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.SidecarPath(name)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("sidecar left after Remove: %v", err)
	}
}
