package extract

import (
	"crypto/md5"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// Testing a cabinet gives each file's MD5; extracting it writes each file
// with those bytes, below the directory and nowhere else.
func TestWalkTestAndExtract(t *testing.T) {
	o, err := Open("../../examples/vendor/hp-4.0.7577.4366.cab")
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if len(o.Cabinets) != 1 {
		t.Fatalf("%d cabinets, want 1", len(o.Cabinets))
	}
	c := o.Cabinets[0]
	walk := func(opts Options) ([]Result, error) {
		rs, err := o.Walk(opts)
		if err != nil {
			return nil, err
		}
		return rs[0], nil
	}
	tested, err := walk(Options{Test: true})
	if err != nil || len(tested) != len(c.Files) || len(tested) == 0 {
		t.Fatalf("Walk(Test) = %d results, %v; want one per file (%d)", len(tested), err, len(c.Files))
	}
	dir := t.TempDir()
	extracted, err := walk(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range extracted {
		if r.Err != nil || tested[i].Err != nil {
			t.Errorf("%s: %v, %v", r.Name, tested[i].Err, r.Err)
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(r.Name)))
		sum := md5.Sum(b)
		if err != nil || hex.EncodeToString(sum[:]) != tested[i].Sum {
			t.Errorf("%s: extracted bytes hash to %x (%v), the test said %s", r.Name, sum, err, tested[i].Sum)
		}
	}
	if filtered, _ := walk(Options{Test: true, Filter: "ucphone/hp/*/*/*/*/cpe/*.NBT"}); len(filtered) != 1 {
		t.Errorf("a case-insensitive filter for the image selected %d files, want 1", len(filtered))
	}
}
