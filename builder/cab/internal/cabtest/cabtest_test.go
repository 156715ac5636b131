package cabtest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadExpectation(t *testing.T) {
	text := `# expected result for x.cab
status: partial
check: exact
tags: mszip search
== good (1 files)
c2535936b8908b1f8a28b7724a2c2045  dir/hello.c
== failed (1 files)
bad.c: checksum error
== cabextract -t (exit 1)
Testing cabinet: x.cab
  dir/hello.c  OK                                  c2535936b8908b1f8a28b7724a2c2045
  bad.c  failed (checksum error)
`
	p := filepath.Join(t.TempDir(), "x.cab.txt")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadExpectation(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &Expectation{
		Status: "partial", Check: "exact", Tags: []string{"mszip", "search"},
		Good:     map[string]string{"dir/hello.c": "c2535936b8908b1f8a28b7724a2c2045"},
		GoodSums: []string{"c2535936b8908b1f8a28b7724a2c2045"},
		Failed:   []string{"bad.c"},
		Tested:   []string{"c2535936b8908b1f8a28b7724a2c2045"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseRoundTrip(t *testing.T) {
	b := OneFolder(`dir\f.bin`, LZX|17<<8, 7, 5, [][]byte{[]byte("abc"), []byte("de")}, []int{3, 2})
	c, err := Parse(b)
	if err = c.Complete(err); err != nil {
		t.Fatal(err)
	}
	want := &Cabinet{
		Folders: []Folder{{Type: LZX | 17<<8, Blocks: []Block{{[]byte("abc"), 3}, {[]byte("de"), 2}}}},
		Files:   []File{{Name: "dir/f.bin", Size: 5}},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Cut inside the second block: the folder stops short, the files
	// still read (they come before the data).
	c, err = Parse(b[:len(b)-1])
	if err != nil || c.Folders[0].Err == nil || len(c.Folders[0].Blocks) != 1 || c.Complete(err) == nil {
		t.Errorf("truncated: %v, %+v", err, c)
	}
}
