package policy

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new\n" {
		t.Errorf("content = %q, want %q", got, "new\n")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	assertOnly(t, dir, "policy.yaml")
}

// TestWriteFileInterrupted interrupts a write just before the rename: the
// old file must be intact and the temporary file gone.
func TestWriteFileInterrupted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	interrupt := errors.New("interrupted")
	var tmpSeen string
	err := writeFile(path, []byte("new and much longer\n"), 0o644, func(tmp string) error {
		tmpSeen = tmp
		if filepath.Dir(tmp) != dir {
			t.Errorf("temporary file %s is not next to the target", tmp)
		}
		b, err := os.ReadFile(tmp)
		if err != nil || string(b) != "new and much longer\n" {
			t.Errorf("temporary file holds %q, %v", b, err)
		}
		return interrupt
	})
	if !errors.Is(err, interrupt) {
		t.Fatalf("writeFile error = %v, want %v", err, interrupt)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "old\n" {
		t.Errorf("content = %q, want the old content", got)
	}
	if _, err := os.Stat(tmpSeen); !os.IsNotExist(err) {
		t.Errorf("temporary file %s left behind", tmpSeen)
	}
	assertOnly(t, dir, "policy.yaml")
}

func TestWriteFileFailure(t *testing.T) {
	dir := t.TempDir()
	// A directory in the way makes the rename fail.
	path := filepath.Join(dir, "policy.yaml")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(path, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n"), 0o644); err == nil {
		t.Fatal("WriteFile over a directory succeeded")
	}
	assertOnly(t, dir, "policy.yaml")
	if err := WriteFile(filepath.Join(dir, "missing", "policy.yaml"), nil, 0o644); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

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
	if len(got) != len(names) {
		t.Errorf("directory holds %q, want %q", got, names)
		return
	}
	for i := range got {
		if got[i] != names[i] {
			t.Errorf("directory holds %q, want %q", got, names)
		}
	}
}
