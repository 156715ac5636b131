package store

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
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
