package policy

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that every error Parse reports points into the input,
// and that a policy that parses survives being re-encoded and edited: the
// node tree encodes to a file with the same policy, and every operation
// whose preconditions hold succeeds (Doc verifies each result by parsing
// it, so success means the edit did exactly what it should).
func FuzzParse(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"testdata/*.yaml", "testdata/golden/*.golden"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, m...)
	}
	if len(seeds) == 0 {
		f.Fatal("no seed corpus in testdata")
	}
	for _, name := range seeds {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n")))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			checkErrors(t, data, p, err)
			return
		}
		d, err := ParseDoc("fuzz.yaml", data)
		if err != nil {
			t.Fatalf("Parse succeeded but ParseDoc failed: %v", err)
		}
		out, _ := d.Bytes()
		if p2, err := Parse("fuzz.yaml", out); err != nil || !samePolicy(p, p2) {
			t.Fatalf("Bytes does not parse to the same policy: %v", err)
		}
		out, err = reencodeEdits(data, nil)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if p2, err := Parse("fuzz.yaml", out); err != nil || !samePolicy(p, p2) {
			t.Fatalf("re-encoded policy differs: %v\n%s", err, out)
		}
		fuzzEdits(t, data, p)
	})
}

func checkErrors(t *testing.T, data []byte, p *Policy, err error) {
	if p != nil {
		t.Fatal("Parse returned a policy and an error")
	}
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) == 0 {
		t.Fatalf("error is not a non-empty *Errors: %#v", err)
	}
	// Every kind of line break YAML knows, CR LF counted twice: an upper
	// bound on the line count that does not reuse the code under test.
	lines := 1
	for _, brk := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
		lines += bytes.Count(data, []byte(brk))
	}
	for _, e := range errs.List {
		if e.File != "fuzz.yaml" || e.Line < 1 || e.Line > lines || e.Col < 1 || e.Msg == "" {
			t.Errorf("bad error %#v in a file of %d lines", e, lines)
		}
		if strings.Contains(e.Msg, "\n") {
			t.Errorf("multi-line message %q", e.Msg)
		}
	}
}

func fuzzEdits(t *testing.T, data []byte, p *Policy) {
	doc := func() *Doc {
		d, err := ParseDoc("fuzz.yaml", data)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	must := func(what string, op func(d *Doc) error) {
		if err := op(doc()); err != nil {
			t.Fatalf("%s: %v\n%s", what, err, data)
		}
	}

	newID := "ffffffff-ffff-4fff-8fff-ffffffffffff"
	newIdentity := Identity{DeviceType: "Fuzz", Brand: "Fuzz", Model: "Fuzz", Revision: "Fuzz", Locale: "Fuzz"}
	fresh := true
	for _, r := range p.Rules {
		if r.ID == newID || strings.EqualFold(r.Identity.String(), newIdentity.String()) {
			fresh = false
		}
	}
	if fresh {
		must("import new rule", func(d *Doc) error {
			_, _, err := d.ImportVersion(newID, newIdentity, "CPE", Version{1, 2, 3, 4})
			return err
		})
	}
	if len(p.Rules) > 0 {
		r := p.Rules[0]
		if r.Pending != nil {
			must("approve", func(d *Doc) error { _, err := d.Approve(r.ID); return err })
			must("reset", func(d *Doc) error { _, err := d.Reset(r.ID); return err })
		}
		if r.Restore != nil || r.Approved != nil {
			must("restore", func(d *Doc) error { _, err := d.Restore(r.ID, true); return err })
		}
		must("remove", func(d *Doc) error { _, err := d.Remove(r.ID); return err })
		must("import", func(d *Doc) error {
			_, _, err := d.ImportVersion(r.ID, r.Identity, r.UpdateType, Version{65535, 65535, 65535, 65535})
			return err
		})
	}
	td := TestDevice{Name: "fuzz-device-x", Serial: "FUZZSERIAL1"}
	fresh = true
	for _, o := range p.TestDevices {
		if strings.EqualFold(o.Name, td.Name) || o.Serial == td.Serial {
			fresh = false
		}
	}
	if fresh {
		must("add test device", func(d *Doc) error { _, err := d.AddTestDevice(td); return err })
	}
	if len(p.TestDevices) > 0 {
		must("remove test device", func(d *Doc) error { _, err := d.RemoveTestDevice(p.TestDevices[0].Name); return err })
	}
}
