package policy

import (
	"fmt"
	"strings"
	"testing"
)

// TestEditLayouts writes one policy in many layouts people use (list
// indentation, key indentation, quoting, comments, a version key right
// after the "-", CRLF) and checks that every operation edits each of them
// in place, without falling back to re-encoding.
func TestEditLayouts(t *testing.T) {
	type layout struct {
		dashOff, keyOff int // "-" relative to the list key; keys relative to "-"
		quote           string
		comments        bool
		versionFirst    bool
		eol             string
	}
	var layouts []layout
	for _, dashOff := range []int{0, 2, 4} {
		for _, keyOff := range []int{2, 4} {
			for _, quote := range []string{"", "'", `"`} {
				for _, comments := range []bool{false, true} {
					for _, versionFirst := range []bool{false, true} {
						for _, eol := range []string{"\n", "\r\n"} {
							layouts = append(layouts, layout{dashOff, keyOff, quote, comments, versionFirst, eol})
						}
					}
				}
			}
		}
	}

	write := func(l layout) string {
		var b strings.Builder
		line := func(indent int, s string, comment string) {
			b.WriteString(strings.Repeat(" ", indent) + s)
			if l.comments && comment != "" {
				b.WriteString("   # " + comment)
			}
			b.WriteString(l.eol)
		}
		head := func(indent int, s string) {
			if l.comments {
				line(indent, "# "+s, "")
			}
		}
		item := func(fields [][2]string) {
			for i, f := range fields {
				q := ""
				if strings.Count(f[1], ".") == 3 {
					q = l.quote
				}
				text := f[0] + ": " + q + f[1] + q
				if i == 0 {
					line(l.dashOff, "-"+strings.Repeat(" ", l.keyOff-1)+text, "first key")
					continue
				}
				head(l.dashOff+l.keyOff, "about "+f[0])
				line(l.dashOff+l.keyOff, text, "value of "+f[0])
			}
		}
		head(0, "policy")
		line(0, "topology_sites: [Dublin]", "")
		line(0, "rules:", "the rules")
		head(l.dashOff, "first rule")
		a := [][2]string{
			{"id", idCX600}, {"identity", "UCPhone/Polycom/CX600/A/ENU"}, {"update_type", "CPE"},
			{"approved", "1.0.0.2"}, {"pending", "1.0.0.3"}, {"restore", "1.0.0.1"}, {"note", "n"},
		}
		if l.versionFirst {
			a[0], a[4] = a[4], a[0]
		}
		item(a)
		if l.comments {
			b.WriteString(l.eol)
		}
		head(l.dashOff, "second rule")
		item([][2]string{{"id", idAastra}, {"identity", "UCPhone/Aastra/6725ip/Rev1/ENU"}, {"update_type", "CPE"}, {"approved", "2.0.0.1"}})
		head(0, "devices")
		line(0, "test_devices:", "")
		item([][2]string{{"name", "lab"}, {"mac", "00-04-F2-12-34-56"}, {"scope", "Dublin"}})
		head(0, "the end")
		return b.String()
	}

	ops := []struct {
		name string
		op   func(*Doc) error
	}{
		{"approve", func(d *Doc) error { _, err := d.Approve(idCX600); return err }},
		{"reset", func(d *Doc) error { _, err := d.Reset(idCX600); return err }},
		{"restore", func(d *Doc) error { _, err := d.Restore(idCX600, false); return err }},
		{"force restore", func(d *Doc) error { _, err := d.Restore(idAastra, true); return err }},
		{"remove first", func(d *Doc) error { _, err := d.Remove(idCX600); return err }},
		{"remove last", func(d *Doc) error { _, err := d.Remove(idAastra); return err }},
		{"import new", func(d *Doc) error {
			_, _, err := d.ImportVersion(idHP4110, hp4110(), "CPE", Version{1, 0, 0, 9})
			return err
		}},
		{"import pending", func(d *Doc) error {
			_, _, err := d.ImportVersion(idAastra, Identity{DeviceType: "UCPhone", Brand: "Aastra", Model: "6725ip", Revision: "Rev1", Locale: "ENU"}, "CPE", Version{2, 0, 0, 2})
			return err
		}},
		{"import replace", func(d *Doc) error {
			_, _, err := d.ImportVersion(idCX600, Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, "CPE", Version{1, 0, 0, 4})
			return err
		}},
		{"add device", func(d *Doc) error { _, err := d.AddTestDevice(TestDevice{Name: "desk", Serial: "S1"}); return err }},
		{"remove device", func(d *Doc) error { _, err := d.RemoveTestDevice("lab"); return err }},
		{"everything", func(d *Doc) error {
			for _, f := range []func() error{
				func() error { _, err := d.Approve(idCX600); return err },
				func() error { _, err := d.Restore(idCX600, false); return err },
				func() error { _, err := d.Restore(idCX600, true); return err },
				func() error { _, _, err := d.ImportVersion(idHP4110, hp4110(), "CPE", Version{1, 0, 0, 9}); return err },
				func() error { _, err := d.Approve(idHP4110); return err },
				func() error { _, err := d.AddTestDevice(TestDevice{Name: "desk", Serial: "S1"}); return err },
				func() error { _, err := d.RemoveTestDevice("lab"); return err },
				func() error { _, err := d.Remove(idAastra); return err },
				func() error { _, err := d.Remove(idCX600); return err },
				func() error { _, err := d.RemoveTestDevice("desk"); return err },
				func() error { _, err := d.Remove(idHP4110); return err },
				func() error { _, _, err := d.ImportVersion(idHP4110, hp4110(), "CPE", Version{1, 0, 0, 9}); return err },
				func() error { _, err := d.AddTestDevice(TestDevice{Name: "desk", Serial: "S1"}); return err },
			} {
				if err := f(); err != nil {
					return err
				}
				if d.reencoded {
					return fmt.Errorf("re-encoded")
				}
			}
			return nil
		}},
	}

	for _, l := range layouts {
		src := write(l)
		for _, op := range ops {
			d, err := ParseDoc("policy.yaml", []byte(src))
			if err != nil {
				t.Fatalf("%+v: %v\n%s", l, err, src)
			}
			if err := op.op(d); err != nil {
				t.Errorf("%+v: %s: %v\n%s", l, op.name, err, src)
				continue
			}
			out, _ := d.Bytes()
			if d.reencoded {
				t.Errorf("%+v: %s: re-encoded\n%s\n=>\n%s", l, op.name, src, out)
			}
			if l.eol == "\r\n" && strings.Count(string(out), "\n") != strings.Count(string(out), "\r\n") {
				t.Errorf("%+v: %s: line breaks mixed\n%q", l, op.name, out)
			}
		}
	}
}
