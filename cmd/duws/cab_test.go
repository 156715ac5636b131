package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
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

// cabBytes is makeCab's cabinet as bytes.
func cabBytes(t *testing.T, entries ...cabEntry) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.cab")
	makeCab(t, p, entries...)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCabSeveralCabinetsInOneFile concatenates cabinets, ours and gcab's,
// with garbage and a cut-short header between them, as cat makes them:
// every command handles every cabinet and says at which offset it is.
func TestCabSeveralCabinetsInOneFile(t *testing.T) {
	gcab := needCommand(t, "gcab")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	os.WriteFile(filepath.Join(src, "gcab.txt"), []byte("from gcab"), 0o644)
	cmd := exec.Command(gcab, "-z", "-c", "g.cab", "gcab.txt")
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcab: %v\n%s", err, out)
	}
	g, _ := os.ReadFile(filepath.Join(src, "g.cab"))
	first := cabBytes(t, cabEntry{"a.txt", "first"}, cabEntry{"same.txt", "same"})
	var file []byte
	var offs []int
	for i, c := range [][]byte{first, g, cabBytes(t, cabEntry{"c/c.txt", "third"}, cabEntry{"same.txt", "same"})} {
		switch i {
		case 1:
			file = append(file, "garbage MSCF\x00"...)
		case 2:
			file = append(file, first[:40]...) // a header cut short
		}
		offs = append(offs, len(file))
		file = append(file, c...)
	}
	cat := filepath.Join(dir, "cat.cab")
	os.WriteFile(cat, file, 0o644)

	code, out, errs := runCLI(t, "cab", "list", cat)
	for _, off := range offs {
		if want := fmt.Sprintf("Viewing cabinet: %s (offset %d)\n", cat, off); !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if want := fmt.Sprintf("holds 3 cabinets, at offsets %d, %d, %d", offs[0], offs[1], offs[2]); code != 0 || !strings.Contains(errs, want) {
		t.Errorf("list: exit %d, stderr lacks %q:\n%s", code, want, errs)
	}
	code, out, errs = runCLI(t, "cab", "test", cat)
	if code != 0 || strings.Count(out, "  OK  ") != 5 || !strings.Contains(out, "gcab.txt") {
		t.Errorf("test: exit %d\n%s%s", code, out, errs)
	}
	// The same files, in the same order, as cabextract's search tests.
	ref, err := exec.Command(needCommand(t, "cabextract"), "-t", cat).CombinedOutput()
	if err != nil {
		t.Fatalf("cabextract -t: %v\n%s", err, ref)
	}
	if want, got := okSums(string(ref)), okSums(out); strings.Join(want, " ") != strings.Join(got, " ") {
		t.Errorf("cabextract -t tested %v, duws %v", want, got)
	}
	outDir := filepath.Join(dir, "out")
	code, out, errs = runCLI(t, "cab", "extract", "-d", outDir, cat)
	if code != 0 || !strings.Contains(out, "skipping "+filepath.Join(outDir, "same.txt")+": identical to the file of the cabinet at offset 0") {
		t.Errorf("extract: exit %d\n%s%s", code, out, errs)
	}
	for name, want := range map[string]string{"a.txt": "first", "gcab.txt": "from gcab", "c/c.txt": "third", "same.txt": "same"} {
		if b, err := os.ReadFile(filepath.Join(outDir, name)); string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}

	// A later cabinet's file of the same name but other bytes is not
	// written over the first.
	clash := filepath.Join(dir, "clash.cab")
	os.WriteFile(clash, append(cabBytes(t, cabEntry{"x.txt", "one"}), cabBytes(t, cabEntry{"X.TXT", "two"})...), 0o644)
	clashOut := filepath.Join(dir, "clash")
	code, out, errs = runCLI(t, "cab", "extract", "-d", clashOut, clash)
	if code != 1 || !strings.Contains(errs, "X.TXT: same name as a file of the cabinet at offset 0 with other contents, not overwritten") {
		t.Errorf("clash: exit %d\n%s%s", code, out, errs)
	}
	if b, _ := os.ReadFile(filepath.Join(clashOut, "x.txt")); string(b) != "one" {
		t.Errorf("x.txt = %q, want the first cabinet's", b)
	}
}

// okSums returns the MD5s of the "OK" lines of a cabextract -t style
// listing, in order.
func okSums(out string) []string {
	var sums []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "  OK  ") {
			f := strings.Fields(line)
			sums = append(sums, f[len(f)-1])
		}
	}
	return sums
}

// TestCabExtract255ByteName extracts a file whose name is as long as a
// file system allows, and one whose Latin-1 name of 255 bytes becomes 510
// bytes of UTF-8: the second is reported on its own, the others extracted,
// and no temporary file is left behind.
func TestCabExtract255ByteName(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("n", 251) + ".txt"
	latin := strings.Repeat("L", 251) + ".txt"
	b := cabBytes(t, cabEntry{long, "long"}, cabEntry{latin, "latin"}, cabEntry{"sub/" + strings.Repeat("s", 251), "sub"}, cabEntry{"short.txt", "short"})
	// Turn the second name into Latin-1 "é"s: the header is not checksummed.
	i := bytes.Index(b, []byte(latin))
	copy(b[i:], bytes.Repeat([]byte{0xE9}, 251))
	p := filepath.Join(dir, "long.cab")
	os.WriteFile(p, b, 0o644)
	outDir := filepath.Join(dir, "out")
	code, out, errs := runCLI(t, "cab", "extract", "-d", outDir, p)
	if code != 1 || strings.Count(errs, "duws: error:") != 1 || !strings.Contains(errs, "name too long for the file system") {
		t.Errorf("exit %d, want 1 with one error, the Latin-1 name's:\n%s%s", code, out, errs)
	}
	for name, want := range map[string]string{long: "long", "sub/" + strings.Repeat("s", 251): "sub", "short.txt": "short"} {
		if got, err := os.ReadFile(filepath.Join(outDir, name)); string(got) != want {
			t.Errorf("%.20s…: %q, %v", name, got, err)
		}
	}
	filepath.WalkDir(outDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".duws-") {
			t.Errorf("temporary file %s left behind", p)
		}
		return nil
	})
}

// TestCabTruncatedReportsTheFileDecoded cuts a cabinet inside its second
// file: that file's error says by how many bytes the cabinet is short, and
// the file after it names it instead of failing as if on its own.
func TestCabTruncatedReportsTheFileDecoded(t *testing.T) {
	dir := t.TempDir()
	noise := make([]byte, 200_000)
	for i := range noise {
		noise[i] = byte(i * 7919 >> 5)
	}
	b := cabBytes(t, cabEntry{"first.txt", "first"}, cabEntry{"CPE.nbt", string(noise)}, cabEntry{"CPE.cat", "catalog"})
	cut := len(b) / 2
	p := filepath.Join(dir, "cut.cab")
	os.WriteFile(p, b[:cut], 0o644)
	code, out, errs := runCLI(t, "cab", "test", p)
	if code != 1 || !strings.Contains(out, "first.txt") || strings.Count(out, "  failed") != 2 {
		t.Errorf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{
		"cut.cab: CPE.nbt: cab: folder 0 block ",
		fmt.Sprintf("possibly truncated by %d bytes", len(b)-cut),
		`cut.cab: CPE.cat: cab: file "CPE.cat": decoding the data of "CPE.nbt" before it`,
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}
