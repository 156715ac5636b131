package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/builder/cab"
)

// runCLI runs duws with args and returns the exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"duws"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

type cabEntry struct {
	name string
	data string
}

func makeCab(t *testing.T, path string, entries ...cabEntry) {
	t.Helper()
	var buf bytes.Buffer
	w := cab.NewWriter(&buf)
	for _, e := range entries {
		fw, err := w.CreateHeader(&cab.FileHeader{Name: e.name, Modified: time.Date(2013, 5, 14, 10, 30, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		fw.Write([]byte(e.data))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCabListTestExtract(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.cab")
	makeCab(t, good, cabEntry{"a.txt", "hello"}, cabEntry{"sub/b.txt", "world"})

	code, out, errs := runCLI(t, "cab", "list", good)
	if code != 0 || !strings.Contains(out, "14.05.2013 10:30:00 | sub/b.txt") || !strings.Contains(out, "         5 | ") {
		t.Errorf("list: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "cab", "test", good)
	// md5("hello")
	if code != 0 || !strings.Contains(out, "5d41402abc4b2a76b9719d911017c592") || !strings.Contains(out, "All done, no errors.") {
		t.Errorf("test: exit %d\n%s%s", code, out, errs)
	}
	outDir := filepath.Join(dir, "out")
	code, out, errs = runCLI(t, "cab", "extract", "-d", outDir, "--filter", "sub/*", good)
	if code != 0 {
		t.Fatalf("extract: exit %d\n%s%s", code, out, errs)
	}
	if b, err := os.ReadFile(filepath.Join(outDir, "sub", "b.txt")); err != nil || string(b) != "world" {
		t.Errorf("sub/b.txt = %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(outDir, "a.txt")); err == nil {
		t.Error("a.txt extracted despite the filter")
	}
	if fi, err := os.Stat(filepath.Join(outDir, "sub", "b.txt")); err == nil && !fi.ModTime().Equal(time.Date(2013, 5, 14, 10, 30, 0, 0, time.UTC)) {
		t.Errorf("modification time %v not kept", fi.ModTime())
	}
}

func TestCabExtractRefusesHostileNames(t *testing.T) {
	dir := t.TempDir()
	hostile := filepath.Join(dir, "hostile.cab")
	makeCab(t, hostile,
		cabEntry{"../escape.txt", "x"},
		cabEntry{"/etc/abs.txt", "x"},
		cabEntry{"C:/Windows/drive.txt", "x"},
		cabEntry{"ok.txt", "first"},
		cabEntry{"OK.TXT", "second"},
		cabEntry{"dir/ok2.txt", "fine"},
	)
	outDir := filepath.Join(dir, "out")
	code, out, errs := runCLI(t, "cab", "extract", "-d", outDir, hostile)
	if code != 1 {
		t.Errorf("exit %d, want 1\n%s%s", code, out, errs)
	}
	for _, want := range []string{`"../escape.txt"`, `"/etc/abs.txt"`, `"C:/Windows/drive.txt"`, "OK.TXT: same name as file 4, not overwritten"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %s:\n%s", want, errs)
		}
	}
	if !strings.Contains(errs, "hostile.cab") {
		t.Errorf("messages do not name the cabinet:\n%s", errs)
	}
	if b, _ := os.ReadFile(filepath.Join(outDir, "ok.txt")); string(b) != "first" {
		t.Errorf("ok.txt = %q, want the first file, not overwritten", b)
	}
	if b, _ := os.ReadFile(filepath.Join(outDir, "dir", "ok2.txt")); string(b) != "fine" {
		t.Errorf("the other files were not extracted: %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "escape.txt")); err == nil {
		t.Error("a file escaped the output directory")
	}
	// Nothing but what was asked for.
	var got []string
	filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(outDir, p)
			got = append(got, rel)
		}
		return nil
	})
	if strings.Join(got, ",") != "dir/ok2.txt,ok.txt" {
		t.Errorf("output holds %v", got)
	}
}

func TestCabExitCodes(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.cab")
	makeCab(t, good, cabEntry{"a", "a"})
	bad := filepath.Join(dir, "bad.cab")
	os.WriteFile(bad, []byte("not a cabinet at all, not even close"), 0o644)
	corrupt := filepath.Join(dir, "corrupt.cab")
	b, _ := os.ReadFile(good)
	b[len(b)-1] ^= 0xff
	os.WriteFile(corrupt, b, 0o644)

	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"cab", "test", good}, 0, ""},
		{[]string{"cab", "test", good, bad}, 1, "bad.cab: no cabinet found"},
		{[]string{"cab", "test", corrupt}, 1, "corrupt.cab: a: cab: folder 0 block 0"},
		{[]string{"cab", "list", filepath.Join(dir, "missing.cab")}, 1, "missing.cab"},
		{[]string{"cab", "test"}, 2, "no cabinet given"},
		{[]string{"cab", "extract", "--filter", "[", good}, 2, "--filter"},
		{[]string{"cab", "list", "--bogus", good}, 2, "bogus"},
	} {
		code, out, errs := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.msg) {
			t.Errorf("%v: exit %d, want %d with %q\n%s%s", tt.args, code, tt.code, tt.msg, out, errs)
		}
	}
}
