package site

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/duws/duws/builder/device"
	"github.com/google/go-cmp/cmp"
)

// A site directory resolves to its live tree, a tree to itself; both
// read the same manifest, tables and answers.
func TestReadTree(t *testing.T) {
	site := t.TempDir()
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tree := filepath.Join(site, TreesDir, id)
	lookup := LookupPath(device.Identity{DeviceType: "UCPhone", Brand: "HP", Model: "4120", Revision: "A", Locale: "ENU"}, "CPE")
	answer := AnswersDir + "/a.xml"
	files := map[string]string{
		ManifestName: `{"format": 1, "no_update": "answers/n.xml", "files": [{"path": "` + lookup + `"}, {"path": "index.html"}]}`,
		lookup:       `{"identity": "UCPhone/HP/4120/A/ENU", "update_type": "CPE"}`,
		answer:       string(RenderAnswer([]Update{{UpdateType: "CPE", Version: "4.0.7577.4366"}})),
	}
	for name, data := range files {
		p := filepath.Join(tree, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if live, err := LiveTree(os.DirFS(site)); err != nil || live != "" {
		t.Errorf("LiveTree with no current link = %q, %v", live, err)
	}
	if err := os.Symlink(filepath.Join(TreesDir, id), filepath.Join(site, CurrentName)); err != nil {
		t.Fatal(err)
	}
	if live, err := LiveTree(os.DirFS(site)); err != nil || live != id {
		t.Errorf("LiveTree = %q, %v; want %s", live, err, id)
	}
	for _, tc := range []struct {
		dir, want string
	}{{site, CurrentName}, {tree, "."}} {
		fsys := os.DirFS(tc.dir)
		dir, err := ResolveTree(fsys)
		if err != nil || dir != tc.want {
			t.Fatalf("ResolveTree(%s) = %q, %v; want %q", tc.dir, dir, err, tc.want)
		}
		m, _, err := ReadManifest(fsys, dir, dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{lookup}, m.LookupPaths()); diff != "" {
			t.Errorf("LookupPaths (-want +got):\n%s", diff)
		}
		l, err := ReadLookup(fsys, path.Join(dir, lookup))
		if err != nil || l.Identity != "UCPhone/HP/4120/A/ENU" {
			t.Errorf("ReadLookup = %+v, %v", l, err)
		}
	}
	if m, err := ReadTreeManifest(os.DirFS(site), id); err != nil || m.NoUpdate != "answers/n.xml" {
		t.Errorf("ReadTreeManifest = %+v, %v", m, err)
	}
	if _, _, err := ReadManifest(os.DirFS(t.TempDir()), ".", "."); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadManifest of an empty directory: %v, want fs.ErrNotExist", err)
	}
}

func TestDescribeAnswer(t *testing.T) {
	for _, tt := range []struct {
		answer []byte
		want   string
	}{
		{NoUpdateAnswer(), "downloads=0 (nothing to do)"},
		{RenderAnswer([]Update{{UpdateType: "CPE", Version: "4.0.7577.4366"}}), "update to 4.0.7577.4366"},
		{[]byte("<not xml"), "unreadable answer"},
	} {
		if got := DescribeAnswer(tt.answer); got != tt.want {
			t.Errorf("DescribeAnswer(%.40q) = %q, want %q", tt.answer, got, tt.want)
		}
	}
}
