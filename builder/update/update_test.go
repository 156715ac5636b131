package update

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/duws/duws/builder/cab"
	"github.com/duws/duws/builder/device"
	"github.com/google/go-cmp/cmp"
)

const cx600 = "UCPhone/Polycom/CX600/A/ENU/4.0.7577.4363/CPE"

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func infoXML(updates ...string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<UpdateInfo><PackageVersion>2013.1</PackageVersion>` + strings.Join(updates, "") + `</UpdateInfo>`
}

func cx600Update(files ...string) string {
	s := `<Update><RuleId>6B1D3F2E-4A0C-5E8B-9F11-2C3D4E5F6A7B</RuleId><DeviceType>UCPhone</DeviceType><Brand>Polycom</Brand>
<Model>CX600</Model><Revision>A</Revision><Locale>ENU</Locale><UpdateType>CPE</UpdateType><Version>4.0.7577.4363</Version>`
	for _, f := range files {
		s += f
	}
	return s + `<Unknown>ignored</Unknown></Update>`
}

func fileXML(name, content string) string {
	return fmt.Sprintf(`<File><Name>%s</Name><Size>%d</Size><SHA256>%s</SHA256></File>`, name, len(content), sum(content))
}

func goodFS() fstest.MapFS {
	return fstest.MapFS{
		"updateInfo.xml":   {Data: []byte(infoXML(cx600Update(fileXML("CPE.nbt", "image"), fileXML("CPE.cat", "catalog"))))},
		cx600 + "/CPE.nbt": {Data: []byte("image")},
		cx600 + "/CPE.cat": {Data: []byte("catalog")},
		"EULA.txt":         {Data: []byte("licence")},
	}
}

func TestReadGood(t *testing.T) {
	pkg, err := Read(goodFS(), "UCUpdates.cab")
	if err != nil {
		t.Fatal(err)
	}
	want := &Package{
		Version: "2013.1",
		HasInfo: true,
		Ignored: []string{"EULA.txt"},
		Updates: []Update{{
			RuleID:     "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b",
			Identity:   device.Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"},
			UpdateType: "CPE",
			Version:    device.Version{4, 0, 7577, 4363},
			Files: []File{
				{Name: "CPE.cat", Path: cx600 + "/CPE.cat", Size: 7, SHA256: sum("catalog")},
				{Name: "CPE.nbt", Path: cx600 + "/CPE.nbt", Size: 5, SHA256: sum("image")},
			},
		}},
	}
	if diff := cmp.Diff(want, pkg); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := pkg.Updates[0].Dir(); got != cx600 {
		t.Errorf("Dir = %q", got)
	}
}

func TestReadTreeOnly(t *testing.T) {
	fsys := goodFS()
	delete(fsys, "updateInfo.xml")
	fsys["UCPhone/Aastra/6725ip/B/DEU/4.0.7577.4400/CPE/CPE.nbt"] = &fstest.MapFile{Data: []byte("aastra")}
	pkg, err := Read(fsys, "tree.cab")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkg.Updates) != 2 || pkg.HasInfo {
		t.Fatalf("got %+v", pkg)
	}
	// Derived ids are stable UUIDs of identity and update type, ignoring
	// case and version.
	u := pkg.Updates[0]
	if u.Identity.Brand != "Aastra" {
		t.Fatalf("updates not sorted: %v", pkg.Summary())
	}
	id := DerivedRuleID(device.Identity{DeviceType: "ucphone", Brand: "AASTRA", Model: "6725IP", Revision: "b", Locale: "deu"}, "cpe")
	if u.RuleID != id {
		t.Errorf("rule id %s, want %s", u.RuleID, id)
	}
	if _, err := device.CanonicalRuleID(id); err != nil || id[14] != '5' {
		t.Errorf("derived id %q is not a version 5 UUID: %v", id, err)
	}
}

func TestReadBroken(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(fstest.MapFS)
		wants []string
	}{
		{"listed file missing", func(m fstest.MapFS) { delete(m, cx600+"/CPE.cat") },
			[]string{cx600 + "/CPE.cat: listed in updateInfo.xml, missing from the package"}},
		{"extra file", func(m fstest.MapFS) { m[cx600+"/extra.bin"] = &fstest.MapFile{Data: []byte("x")} },
			[]string{cx600 + "/extra.bin: not listed in updateInfo.xml"}},
		{"size mismatch", func(m fstest.MapFS) { m[cx600+"/CPE.nbt"] = &fstest.MapFile{Data: []byte("image!")} },
			[]string{cx600 + "/CPE.nbt: size 6, updateInfo.xml says 5", cx600 + "/CPE.nbt: SHA-256 "}},
		{"hash mismatch", func(m fstest.MapFS) { m[cx600+"/CPE.nbt"] = &fstest.MapFile{Data: []byte("imagE")} },
			[]string{cx600 + "/CPE.nbt: SHA-256 " + sum("imagE") + ", updateInfo.xml says " + sum("image")}},
		{"unlisted folder", func(m fstest.MapFS) {
			m["UCPhone/Polycom/CX600/A/ENU/4.0.7577.4398/CPE/CPE.nbt"] = &fstest.MapFile{Data: []byte("x")}
		}, []string{"UCPhone/Polycom/CX600/A/ENU/4.0.7577.4398/CPE: update folder not listed in updateInfo.xml"}},
		{"two versions of one rule", func(m fstest.MapFS) {
			delete(m, "updateInfo.xml")
			m["UCPhone/Polycom/CX600/A/ENU/4.0.7577.4398/CPE/CPE.nbt"] = &fstest.MapFile{Data: []byte("x")}
		}, []string{"second version of UCPhone/Polycom/CX600/A/ENU CPE"}},
		{"bad version", func(m fstest.MapFS) {
			delete(m, "updateInfo.xml")
			m["UCPhone/Polycom/CX600/A/ENU/4.0.7577/CPE/CPE.nbt"] = &fstest.MapFile{Data: []byte("x")}
		}, []string{`UCPhone/Polycom/CX600/A/ENU/4.0.7577/CPE: malformed version "4.0.7577"`}},
		{"bad version in info", func(m fstest.MapFS) {
			m["updateInfo.xml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(m["updateInfo.xml"].Data), "4.0.7577.4363", "4.0.x.1", 1))}
		}, []string{`updateInfo.xml: update 1: malformed version "4.0.x.1"`}},
		{"empty identity field", func(m fstest.MapFS) {
			m["updateInfo.xml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(m["updateInfo.xml"].Data), "<Brand>Polycom</Brand>", "<Brand></Brand>", 1))}
		}, []string{"updateInfo.xml: update 1: malformed identity", "Brand is empty"}},
		{"dot-dot in identity", func(m fstest.MapFS) {
			m["updateInfo.xml"] = &fstest.MapFile{Data: []byte(strings.Replace(string(m["updateInfo.xml"].Data), "<Model>CX600</Model>", "<Model>..</Model>", 1))}
		}, []string{`Model contains ".."`}},
		{"file outside update folders", func(m fstest.MapFS) { m["UCPhone/stray.bin"] = &fstest.MapFile{Data: []byte("x")} },
			[]string{"UCPhone/stray.bin: not in an update folder"}},
		{"DTD", func(m fstest.MapFS) {
			m["updateInfo.xml"] = &fstest.MapFile{Data: []byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><UpdateInfo/>`)}
		}, []string{"updateInfo.xml: a DTD is not allowed"}},
		{"malformed XML", func(m fstest.MapFS) { m["updateInfo.xml"] = &fstest.MapFile{Data: []byte(`<UpdateInfo><Update>`)} },
			[]string{"updateInfo.xml: malformed XML"}},
		{"no updates", func(m fstest.MapFS) {
			for k := range m {
				delete(m, k)
			}
			m["readme.txt"] = &fstest.MapFile{Data: []byte("x")}
		}, []string{"no updates"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := goodFS()
			tt.edit(fsys)
			_, err := Read(fsys, "bad.cab")
			if !errors.Is(err, ErrPackage) {
				t.Fatalf("err = %v, want ErrPackage", err)
			}
			if !strings.HasPrefix(err.Error(), "bad.cab: ") {
				t.Errorf("error does not name the package: %v", err)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestInfoTolerant(t *testing.T) {
	// Names in any case, attributes instead of elements, UTF-16, unknown
	// elements: all read alike.
	doc := `<?xml version="1.0" encoding="utf-16"?><updateinfo packageversion="7"><UPDATE ruleid="6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b"
 DeviceType="UCPhone" brand="Polycom" MODEL="CX600" Revision="A" locale="ENU" updatetype="CPE" version="4.0.7577.4363">
 <file name="CPE.nbt" size="5"/><Extra><Nested/></Extra></UPDATE></updateinfo>`
	u16 := []byte{0xFF, 0xFE}
	for _, r := range doc {
		u16 = append(u16, byte(r), 0)
	}
	in, err := parseInfo(u16)
	if err != nil {
		t.Fatal(err)
	}
	if in.packageVersion != "7" || len(in.updates) != 1 {
		t.Fatalf("got %+v", in)
	}
	u, err := in.updates[0].update()
	if err != nil {
		t.Fatal(err)
	}
	if u.Dir() != cx600 || len(in.updates[0].files) != 1 || in.updates[0].files[0].size != 5 {
		t.Errorf("got %+v %+v", u, in.updates[0].files)
	}
}

func TestReadCabinet(t *testing.T) {
	build := func(names ...string) *cab.Reader {
		var buf bytes.Buffer
		w := cab.NewWriter(&buf)
		fsys := goodFS()
		for _, n := range names {
			fw, _ := w.Create(n)
			if f, ok := fsys[n]; ok {
				fw.Write(f.Data)
			}
		}
		w.Close()
		r, err := cab.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	good := build("updateInfo.xml", cx600+"/CPE.nbt", cx600+"/CPE.cat")
	if _, err := ReadCabinet(good, "good.cab"); err != nil {
		t.Fatal(err)
	}
	for _, names := range [][]string{
		{"updateInfo.xml", cx600 + "/CPE.nbt", cx600 + "/CPE.cat", "../evil"},
		{"updateInfo.xml", cx600 + "/CPE.nbt", cx600 + "/CPE.cat", cx600 + "/cpe.NBT"},
	} {
		if _, err := ReadCabinet(build(names...), "bad.cab"); !errors.Is(err, ErrPackage) {
			t.Errorf("%v: err = %v, want ErrPackage", names, err)
		}
	}
}

func FuzzParseInfo(f *testing.F) {
	f.Add([]byte(infoXML(cx600Update(fileXML("CPE.nbt", "image")))))
	f.Add([]byte(`<updateinfo><update devicetype="a"/></updateinfo>`))
	f.Add([]byte{0xFF, 0xFE, '<', 0, 'a', 0, '/', 0, '>', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := parseInfo(b)
		if err != nil {
			return
		}
		for _, u := range in.updates {
			for _, fl := range u.files {
				if fl.size < -1 || (fl.sha256 != "" && !isHex(fl.sha256, 64)) {
					t.Fatalf("accepted a malformed file entry %+v", fl)
				}
			}
			if up, err := u.update(); err == nil {
				if up.Identity.Check() != nil || strings.Contains(up.Dir(), "..") {
					t.Fatalf("accepted an unsafe update %+v", up)
				}
				if _, err := device.CanonicalRuleID(up.RuleID); err != nil {
					t.Fatalf("rule id %q not canonical", up.RuleID)
				}
			}
		}
	})
}

// The hashes a package read in full gives survive the sidecar's round
// trip, fill in a scanned update, and a damaged sidecar is refused.
func TestHashesRoundTrip(t *testing.T) {
	u := Update{Files: []File{{Name: "CPE.nbt", Path: "a/CPE.nbt", Size: 3, SHA256: strings.Repeat("ab", 32)}}}
	pkg := &Package{Updates: []Update{u}}
	h, err := DecodeHashes(pkg.Hashes().Encode())
	if err != nil {
		t.Fatal(err)
	}
	scanned := Update{Files: []File{{Name: "CPE.nbt", Path: "a/CPE.nbt"}}}
	if !h.Fill(&scanned) || scanned.Files[0] != u.Files[0] {
		t.Errorf("filled %+v, want %+v", scanned.Files[0], u.Files[0])
	}
	other := Update{Files: []File{{Name: "x.cat", Path: "b/x.cat"}}}
	if h.Fill(&other) || other.Files[0].SHA256 != "" {
		t.Errorf("Fill of a file the hashes lack: %+v", other.Files[0])
	}
	for _, bad := range []string{`[]`, `{"a": {"size": -1, "sha256": "` + strings.Repeat("ab", 32) + `"}}`, `{"a": {"size": 1, "sha256": "xyz"}}`} {
		if _, err := DecodeHashes([]byte(bad)); err == nil {
			t.Errorf("DecodeHashes(%s) succeeded", bad)
		}
	}
}
