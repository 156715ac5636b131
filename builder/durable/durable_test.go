package durable

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
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

// A streamed write is invisible under its final name until Commit, gets
// the mode and time asked for, and an Abort leaves nothing.
func TestTempCommitAbort(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2013, 7, 30, 12, 0, 0, 0, time.UTC)
	tmp, err := CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(tmp, "package bytes"); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Finish(0o640, mtime); err != nil {
		t.Fatal(err)
	}
	final := filepath.Join(dir, "pkg.cab")
	if _, err := os.Stat(final); !os.IsNotExist(err) {
		t.Fatalf("final name exists before Commit: %v", err)
	}
	if err := tmp.Commit(final); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(final)
	if err != nil || fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(mtime) {
		t.Errorf("committed file: %v, %v; want mode 0640, time %v", fi, err, mtime)
	}
	assertOnly(t, dir, "pkg.cab")

	aborted, err := CreateTemp(dir, ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(aborted, "half")
	aborted.Abort()
	assertOnly(t, dir, "pkg.cab")
}

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	mtime := time.Date(2013, 7, 30, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(dir, "index.html")
	if err := WriteNew(path, []byte("<p>hi"), 0o644, mtime); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if err != nil || string(b) != "<p>hi" || !fi.ModTime().Equal(mtime) {
		t.Errorf("WriteNew wrote %q, %v, time %v", b, err, fi.ModTime())
	}
	if err := SyncDir(dir); err != nil {
		t.Errorf("SyncDir: %v", err)
	}
}
