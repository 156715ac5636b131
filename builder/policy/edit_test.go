package policy

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duws/duws/builder/durable"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// Rule ids of testdata/full.yaml and testdata/odd.yaml.
const (
	idCX600  = "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b"
	idAastra = "0f4a2b6c-1d3e-4f50-8a9b-0c1d2e3f4a5b"
	idHP4120 = "3c2b1a09-8f7e-4d6c-b5a4-93827160fedc"
	idHP4110 = "a1b2c3d4-0000-4000-8000-000000000001"
)

func hp4110() Identity {
	return Identity{DeviceType: "UCPhone", Brand: "HP", Model: "4110", Revision: "A", Locale: "ENU"}
}

func importWith(opts ImportOptions, id string, identity Identity, v string) func(*Doc) (string, error) {
	return func(d *Doc) (string, error) {
		_, desc, err := d.ImportVersionWith(opts, id, identity, "CPE", *ver(v))
		return desc, err
	}
}

func importOp(id string, identity Identity, v string) func(*Doc) (string, error) {
	return func(d *Doc) (string, error) {
		_, desc, err := d.ImportVersion(id, identity, "CPE", *ver(v))
		return desc, err
	}
}

func loadDoc(t testing.TB, name string) *Doc {
	t.Helper()
	d, err := Load(filepath.Join("testdata", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// changedLines counts the lines removed plus the lines added between a
// and b, by longest common subsequence.
func changedLines(a, b []byte) int {
	x, y := strings.SplitAfter(string(a), "\n"), strings.SplitAfter(string(b), "\n")
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	return len(x) + len(y) - 2*lcs[0][0]
}

// TestEditGolden applies each operation to a testdata policy and compares
// the result with a golden file. The count of changed lines proves that
// only the lines the operation is about changed: everything else,
// comments and odd formatting included, survives byte for byte.
func TestEditGolden(t *testing.T) {
	tests := []struct {
		name      string // of the golden file
		input     string // of the testdata file
		op        func(*Doc) (string, error)
		desc      string
		changed   int  // lines removed plus lines added
		reencoded bool // layout too odd to edit in place
	}{
		{
			name: "full-approve", input: "full",
			op:      func(d *Doc) (string, error) { return d.Approve(idCX600) },
			desc:    "approved UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4398 (was 4.0.7577.4363, kept as restore)",
			changed: 5,
		},
		{
			name: "full-approve-first", input: "full",
			op:      func(d *Doc) (string, error) { return d.Approve(idHP4120) },
			desc:    "approved UCPhone/HP/4120/A/DEU CPE: 4.0.7577.4398 (nothing was approved before)",
			changed: 2,
		},
		{
			name: "full-reset", input: "full",
			op:      func(d *Doc) (string, error) { return d.Reset(idCX600) },
			desc:    "reset UCPhone/Polycom/CX600/A/ENU CPE: dropped pending 4.0.7577.4398; test devices on 4.0.7577.4398 go back to 4.0.7577.4363",
			changed: 1,
		},
		{
			name: "full-restore", input: "full",
			op:      func(d *Doc) (string, error) { return d.Restore(idCX600, false) },
			desc:    "restored UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4100 (was 4.0.7577.4363); devices on 4.0.7577.4363 go back to 4.0.7577.4100",
			changed: 3,
		},
		{
			name: "full-restore-force", input: "full",
			op:      func(d *Doc) (string, error) { return d.Restore(idAastra, true) },
			desc:    "cleared approved version of UCPhone/Aastra/6725ip/Rev1/ENU CPE (was 4.0.7577.4363; there was no restore version)",
			changed: 1,
		},
		{
			name: "full-remove-first", input: "full",
			op:      func(d *Doc) (string, error) { return d.Remove(idCX600) },
			desc:    "removed UCPhone/Polycom/CX600/A/ENU CPE (id 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b)",
			changed: 9,
		},
		{
			name: "full-remove-middle", input: "full",
			op:      func(d *Doc) (string, error) { return d.Remove(idAastra) },
			desc:    "removed UCPhone/Aastra/6725ip/Rev1/ENU CPE (id 0f4a2b6c-1d3e-4f50-8a9b-0c1d2e3f4a5b)",
			changed: 7,
		},
		{
			name: "full-remove-last", input: "full",
			op:      func(d *Doc) (string, error) { return d.Remove(idHP4120) },
			desc:    "removed UCPhone/HP/4120/A/DEU CPE (id 3c2b1a09-8f7e-4d6c-b5a4-93827160fedc)",
			changed: 6,
		},
		{
			name: "full-import-new", input: "full",
			op:      importOp(idHP4110, hp4110(), "4.0.7577.4398"),
			desc:    "added UCPhone/HP/4110/A/ENU CPE (id a1b2c3d4-0000-4000-8000-000000000001): pending 4.0.7577.4398",
			changed: 5,
		},
		{
			name: "full-import-pending", input: "full",
			op:      importOp(idAastra, Identity{DeviceType: "UCPhone", Brand: "Aastra", Model: "6725ip", Revision: "Rev1", Locale: "ENU"}, "4.0.7577.4398"),
			desc:    "pending UCPhone/Aastra/6725ip/Rev1/ENU CPE: 4.0.7577.4398",
			changed: 1,
		},
		{
			name: "full-import-replace", input: "full",
			op:      importOp(idCX600, Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, "4.0.7577.4400"),
			desc:    "pending UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4400 (was 4.0.7577.4398)",
			changed: 2,
		},
		{
			name: "full-import-no-id", input: "full",
			op:      importWith(ImportOptions{DerivedID: true}, idHP4110, Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, "4.0.7577.4400"),
			desc:    "pending UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4400 (was 4.0.7577.4398) (the package names no rule id: kept the policy's 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b)",
			changed: 2,
		},
		{
			name: "full-import-keep-policy-id", input: "full",
			op:      importWith(ImportOptions{OnIDConflict: KeepPolicyID}, idHP4110, Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, "4.0.7577.4400"),
			desc:    "pending UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4400 (was 4.0.7577.4398) (kept the policy's id 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b; the package says a1b2c3d4-0000-4000-8000-000000000001)",
			changed: 2,
		},
		{
			name: "full-import-adopt-package-id", input: "full",
			op:      importWith(ImportOptions{OnIDConflict: AdoptPackageID}, idHP4110, Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, "4.0.7577.4400"),
			desc:    "pending UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4400 (was 4.0.7577.4398) (id changed from 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b to the package's a1b2c3d4-0000-4000-8000-000000000001)",
			changed: 4,
		},
		{
			name: "full-add-device-mac", input: "full",
			op: func(d *Doc) (string, error) {
				return d.AddTestDevice(TestDevice{Name: "desk-4110", MAC: "00-04-F2-AB-CD-EF"})
			},
			desc:    `added test device "desk-4110" (MAC address 0004f2abcdef, scope global)`,
			changed: 2,
		},
		{
			name: "full-add-device-serial", input: "full",
			op: func(d *Doc) (string, error) {
				return d.AddTestDevice(TestDevice{Name: "redmond 1", Serial: "0123456789", Scope: "Redmond"})
			},
			desc:    `added test device "redmond 1" (serial number 0123456789, scope Redmond)`,
			changed: 3,
		},
		{
			name: "full-remove-device", input: "full",
			op:      func(d *Doc) (string, error) { return d.RemoveTestDevice("LAB-CX600") },
			desc:    `removed test device "lab-cx600"`,
			changed: 2,
		},
		{
			name: "keepnewer-reset", input: "keepnewer",
			op:      func(d *Doc) (string, error) { return d.Reset(idCX600) },
			desc:    "reset UCPhone/Polycom/CX600/A/ENU CPE: dropped pending 4.0.7577.4398; keep_newer: false set: test devices on 4.0.7577.4398 go back to 4.0.7577.4363",
			changed: 2,
		},
		{
			name: "keepnewer-restore", input: "keepnewer",
			op:      func(d *Doc) (string, error) { return d.Restore(idCX600, false) },
			desc:    "restored UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4100 (was 4.0.7577.4363); keep_newer: false set: devices on 4.0.7577.4363 go back to 4.0.7577.4100",
			changed: 4,
		},
		{
			name: "keepnewer-restore-rule-off", input: "keepnewer",
			op:      func(d *Doc) (string, error) { return d.Restore(idAastra, false) },
			desc:    "restored UCPhone/Aastra/6725ip/Rev1/ENU CPE: 4.0.7577.4100 (was 4.0.7577.4363); devices on 4.0.7577.4363 go back to 4.0.7577.4100",
			changed: 3,
		},
		{
			name: "odd-approve", input: "odd",
			op:      func(d *Doc) (string, error) { return d.Approve(idCX600) },
			desc:    "approved UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4398 (was 4.0.7577.4363, kept as restore)",
			changed: 6,
		},
		{
			name: "odd-reset", input: "odd",
			op:      func(d *Doc) (string, error) { return d.Reset(idCX600) },
			desc:    "reset UCPhone/Polycom/CX600/A/ENU CPE: dropped pending 4.0.7577.4398; test devices on 4.0.7577.4398 go back to 4.0.7577.4363",
			changed: 3,
		},
		{
			name: "odd-restore", input: "odd",
			op:      func(d *Doc) (string, error) { return d.Restore(idAastra, false) },
			desc:    "restored UCPhone/Aastra/6725ip/Rev1/ENU CPE: 4.0.7577.4100 (was 4.0.7577.4363); devices on 4.0.7577.4363 go back to 4.0.7577.4100",
			changed: 3,
		},
		{
			name: "odd-remove-first", input: "odd",
			op:      func(d *Doc) (string, error) { return d.Remove(idCX600) },
			desc:    "removed UCPhone/Polycom/CX600/A/ENU CPE (id 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b)",
			changed: 10,
		},
		{
			name: "odd-remove-last", input: "odd",
			op:      func(d *Doc) (string, error) { return d.Remove(idAastra) },
			desc:    "removed UCPhone/Aastra/6725ip/Rev1/ENU CPE (id 0f4a2b6c-1d3e-4f50-8a9b-0c1d2e3f4a5b)",
			changed: 8,
		},
		{
			name: "odd-import-new", input: "odd",
			op:      importOp(idHP4110, hp4110(), "4.0.7577.4398"),
			desc:    "added UCPhone/HP/4110/A/ENU CPE (id a1b2c3d4-0000-4000-8000-000000000001): pending 4.0.7577.4398",
			changed: 4,
		},
		{
			name: "odd-import-pending", input: "odd",
			op:      importOp(idAastra, Identity{DeviceType: "UCPhone", Brand: "Aastra", Model: "6725ip", Revision: "Rev1", Locale: "ENU"}, "4.0.7577.4398"),
			desc:    "pending UCPhone/Aastra/6725ip/Rev1/ENU CPE: 4.0.7577.4398",
			changed: 1,
		},
		{
			name: "odd-add-device", input: "odd",
			op: func(d *Doc) (string, error) {
				return d.AddTestDevice(TestDevice{Name: "dublin", MAC: "0004f2000001", Scope: "Dublin"})
			},
			desc:    `added test device "dublin" (MAC address 0004f2000001, scope Dublin)`,
			changed: 3,
		},
		{
			name: "odd-remove-device", input: "odd",
			op:      func(d *Doc) (string, error) { return d.RemoveTestDevice("lab-cx600") },
			desc:    `removed test device "lab-cx600"`,
			changed: 3,
		},
		{
			name: "empty-import", input: "empty",
			op:      importOp(idHP4110, hp4110(), "4.0.7577.4398"),
			desc:    "added UCPhone/HP/4110/A/ENU CPE (id a1b2c3d4-0000-4000-8000-000000000001): pending 4.0.7577.4398",
			changed: 6,
		},
		{
			name: "empty-add-device", input: "empty",
			op:      func(d *Doc) (string, error) { return d.AddTestDevice(TestDevice{Name: "lab", Serial: "SN1"}) },
			desc:    `added test device "lab" (serial number SN1, scope global)`,
			changed: 3,
		},
		{
			name: "flow-approve", input: "flow",
			op:        func(d *Doc) (string, error) { return d.Approve(idCX600) },
			desc:      "approved UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4398 (was 4.0.7577.4363, kept as restore) (the layout of testdata/flow.yaml was too unusual to edit in place, so it was re-indented)",
			changed:   -1,
			reencoded: true,
		},
		{
			name: "flow-add-device", input: "flow",
			op:        func(d *Doc) (string, error) { return d.AddTestDevice(TestDevice{Name: "desk", MAC: "0004f2000002"}) },
			desc:      `added test device "desk" (MAC address 0004f2000002, scope global) (the layout of testdata/flow.yaml was too unusual to edit in place, so it was re-indented)`,
			changed:   -1,
			reencoded: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := loadDoc(t, tt.input)
			in, _ := d.Bytes()
			desc, err := tt.op(d)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.desc, desc); diff != "" {
				t.Errorf("description mismatch (-want +got):\n%s", diff)
			}
			if d.reencoded != tt.reencoded {
				t.Errorf("re-encoded = %v, want %v", d.reencoded, tt.reencoded)
			}
			got, err := d.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Parse(tt.name, got); err != nil {
				t.Errorf("result does not parse: %v", err)
			}
			if n := changedLines(in, got); tt.changed >= 0 && n != tt.changed {
				t.Errorf("%d lines changed, want %d", n, tt.changed)
			}

			golden := filepath.Join("testdata", "golden", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("output mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEditCRLF checks that a file with CRLF line breaks keeps them, new
// lines included.
func TestEditCRLF(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	crlf := func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
	for _, tt := range []struct {
		golden string
		op     func(*Doc) (string, error)
	}{
		{"full-approve", func(d *Doc) (string, error) { return d.Approve(idCX600) }},
		{"full-import-new", importOp(idHP4110, hp4110(), "4.0.7577.4398")},
		{"full-remove-first", func(d *Doc) (string, error) { return d.Remove(idCX600) }},
	} {
		d, err := ParseDoc("policy.yaml", crlf(data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tt.op(d); err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "golden", tt.golden+".golden"))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := d.Bytes()
		if diff := cmp.Diff(string(crlf(want)), string(got)); diff != "" {
			t.Errorf("%s: output mismatch (-want +got):\n%s", tt.golden, diff)
		}
	}
}

// TestEditNoFinalNewline checks appending to a file whose last line has no
// line break.
func TestEditNoFinalNewline(t *testing.T) {
	d, err := ParseDoc("policy.yaml", []byte("rules:\n  - id: "+idCX600+"\n    identity: UCPhone/Polycom/CX600/A/ENU\n    update_type: CPE"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.ImportVersion(idCX600, Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, "CPE", *ver("1.0.0.1")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddTestDevice(TestDevice{Name: "lab", MAC: "0004f2000001"}); err != nil {
		t.Fatal(err)
	}
	got, _ := d.Bytes()
	want := "rules:\n  - id: " + idCX600 + "\n    identity: UCPhone/Polycom/CX600/A/ENU\n    update_type: CPE\n    pending: 1.0.0.1\n" +
		"test_devices:\n  - name: lab\n    mac: 0004f2000001\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
	if d.reencoded {
		t.Error("re-encoded")
	}
}

func TestEditErrors(t *testing.T) {
	tests := []struct {
		name    string
		op      func(*Doc) (string, error)
		wantErr string
		is      error
	}{
		{"approve nothing pending", func(d *Doc) (string, error) { return d.Approve(idAastra) },
			`rule "UCPhone/Aastra/6725ip/Rev1/ENU CPE": nothing pending to approve`, ErrNothingPending},
		{"reset nothing pending", func(d *Doc) (string, error) { return d.Reset(idAastra) },
			`rule "UCPhone/Aastra/6725ip/Rev1/ENU CPE": nothing pending to reset`, ErrNothingPending},
		{"restore without restore version", func(d *Doc) (string, error) { return d.Restore(idAastra, false) },
			`rule "UCPhone/Aastra/6725ip/Rev1/ENU CPE": no restore version; use --force to clear the approved version`, ErrNoRestore},
		{"restore nothing at all", func(d *Doc) (string, error) { return d.Restore(idHP4120, true) },
			`rule "UCPhone/HP/4120/A/DEU CPE": no restore version and nothing approved`, ErrNoRestore},
		{"unknown rule", func(d *Doc) (string, error) { return d.Remove(idHP4110) },
			`rule "a1b2c3d4-0000-4000-8000-000000000001": no such rule`, ErrNoRule},
		{"malformed id", func(d *Doc) (string, error) { return d.Approve("6b1d") },
			`malformed rule id "6b1d": want a GUID like 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b`, nil},
		{"import with other identity", importOp(idCX600, hp4110(), "1.0.0.1"),
			`rule 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b is "UCPhone/Polycom/CX600/A/ENU CPE" in the policy but "UCPhone/HP/4110/A/ENU CPE" in the package: the package reuses another device's rule id; remove the policy's rule (duws remove 6b1d3f2e) or correct the package`, nil},
		{"import with other id", importOp(idHP4110, Identity{DeviceType: "ucphone", Brand: "polycom", Model: "cx600", Revision: "a", Locale: "enu"}, "1.0.0.1"),
			`rule "UCPhone/Polycom/CX600/A/ENU CPE" has id 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b in the policy but a1b2c3d4-0000-4000-8000-000000000001 in the package: import with --keep-policy-id to keep 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b, or with --adopt-package-id to change the rule's id to a1b2c3d4-0000-4000-8000-000000000001: rule id conflict`, ErrIDConflict},
		{"import bad identity", importOp(idHP4110, Identity{DeviceType: "UCPhone", Brand: "HP", Model: "..", Revision: "A", Locale: "ENU"}, "1.0.0.1"),
			`malformed identity "UCPhone/HP/../A/ENU": Model contains ".."`, nil},
		{"import bad update type", func(d *Doc) (string, error) {
			_, desc, err := d.ImportVersion(idHP4110, hp4110(), "", *ver("1.0.0.1"))
			return desc, err
		}, `malformed update type "": is empty`, nil},
		{"device duplicate name", func(d *Doc) (string, error) { return d.AddTestDevice(TestDevice{Name: "Lab-CX600", Serial: "X"}) },
			`test device "lab-cx600" already exists`, nil},
		{"device duplicate mac", func(d *Doc) (string, error) { return d.AddTestDevice(TestDevice{Name: "x", MAC: "00:04:f2:12:34:56"}) },
			`test device "lab-cx600" already has MAC address 0004f2123456`, nil},
		{"device duplicate serial", func(d *Doc) (string, error) { return d.AddTestDevice(TestDevice{Name: "x", Serial: " 64167F123456"}) },
			`test device "dublin-4120" already has serial number 64167F123456`, nil},
		{"device mac and serial", func(d *Doc) (string, error) {
			return d.AddTestDevice(TestDevice{Name: "x", MAC: "0004f2000001", Serial: "X"})
		},
			`test device "x": want exactly one of MAC address and serial number`, nil},
		{"device bad mac", func(d *Doc) (string, error) { return d.AddTestDevice(TestDevice{Name: "x", MAC: "0004f200001"}) },
			`test device "x": malformed MAC address "0004f200001": want six pairs of hex digits, plain or separated by "-" or ":"`, nil},
		{"device bad scope", func(d *Doc) (string, error) {
			return d.AddTestDevice(TestDevice{Name: "x", MAC: "0004f2000001", Scope: "Paris"})
		},
			`test device "x": unknown scope "Paris": want "global" or one of topology_sites`, nil},
		{"device bad name", func(d *Doc) (string, error) { return d.AddTestDevice(TestDevice{Name: "", MAC: "0004f2000001"}) },
			`malformed test device name "": empty or surrounded by spaces`, nil},
		{"remove unknown device", func(d *Doc) (string, error) { return d.RemoveTestDevice("nope") },
			`no test device named "nope"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := loadDoc(t, "full")
			before, _ := d.Bytes()
			_, err := tt.op(d)
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.wantErr, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error does not wrap %v", tt.is)
			}
			after, _ := d.Bytes()
			if !bytes.Equal(before, after) {
				t.Error("failed operation changed the document")
			}
		})
	}
}

func TestImportNoChange(t *testing.T) {
	d := loadDoc(t, "full")
	cx600 := Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}
	for _, tt := range []struct{ v, desc string }{
		{"4.0.7577.4363", "UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4363 already approved"},
		{"4.0.7577.4398", "UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4398 already pending"},
	} {
		changed, desc, err := d.ImportVersion(strings.ToUpper(idCX600), cx600, "cpe", *ver(tt.v))
		if err != nil || changed || desc != tt.desc {
			t.Errorf("ImportVersion(%s) = %v, %q, %v; want false, %q, nil", tt.v, changed, desc, err, tt.desc)
		}
	}
}

func TestSelect(t *testing.T) {
	d := loadDoc(t, "full")
	tests := []struct {
		selectors []string
		want      []string // rule ids
		wantErr   string
	}{
		{selectors: []string{idCX600}, want: []string{idCX600}},
		{selectors: []string{strings.ToUpper(idCX600)}, want: []string{idCX600}},
		{selectors: []string{"6b1d"}, want: []string{idCX600}},
		{selectors: []string{"3C2B1A09", "6b1d"}, want: []string{idCX600, idHP4120}},
		{selectors: []string{"UCPhone/*/*/*/*"}, want: []string{idCX600, idAastra, idHP4120}},
		{selectors: []string{"ucphone/polycom/CX6??/*/enu"}, want: []string{idCX600}},
		{selectors: []string{"*/*/*/*/ENU", idCX600}, want: []string{idCX600, idAastra}},
		{selectors: []string{"6b1"}, wantErr: `selector "6b1": want an id, an id prefix of at least 4 characters or an identity pattern`},
		{selectors: []string{"ffff"}, wantErr: `selector "ffff" matches no rule`},
		{selectors: []string{"UCPhone/*/*/*/FRA"}, wantErr: `selector "UCPhone/*/*/*/FRA" matches no rule`},
		{selectors: []string{"UCPhone/*/*/*"}, wantErr: `selector "UCPhone/*/*/*": want an id, an id prefix or a DeviceType/Brand/Model/Revision/Locale pattern`},
		{selectors: []string{"UCPhone/[/*/*/*"}, wantErr: `selector "UCPhone/[/*/*/*": malformed pattern "["`},
		{selectors: []string{"ffff", "eeee"}, wantErr: "selector \"ffff\" matches no rule\nselector \"eeee\" matches no rule"},
		{selectors: nil, wantErr: "no rule selected"},
	}
	for _, tt := range tests {
		rules, err := d.Select(tt.selectors...)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("Select(%q) error = %v, want %s", tt.selectors, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Select(%q): %v", tt.selectors, err)
			continue
		}
		var got []string
		for _, r := range rules {
			got = append(got, r.ID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Select(%q) mismatch (-want +got):\n%s", tt.selectors, diff)
		}
	}
}

func TestSelectAmbiguous(t *testing.T) {
	a, b := "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b", "6b1d3f2e-0000-4000-8000-000000000000"
	d, err := ParseDoc("policy.yaml", []byte("rules:\n"+
		"  - {id: "+a+", identity: UCPhone/Polycom/CX600/A/ENU, update_type: CPE}\n"+
		"  - {id: "+b+", identity: UCPhone/Polycom/CX700/A/ENU, update_type: CPE}\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Select("6b1d3f2e")
	want := `selector "6b1d3f2e" is ambiguous: it matches 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b (UCPhone/Polycom/CX600/A/ENU CPE), 6b1d3f2e-0000-4000-8000-000000000000 (UCPhone/Polycom/CX700/A/ENU CPE)`
	if err == nil || err.Error() != want {
		t.Errorf("Select error = %v, want %s", err, want)
	}
	if rules, err := d.Select("6b1d3f2e-4"); err != nil || len(rules) != 1 || rules[0].ID != a {
		t.Errorf("Select(6b1d3f2e-4) = %v, %v", rules, err)
	}
}

// TestSnapshots checks that Select and Policy results do not change with
// later edits, and that changing them does not change the Doc.
func TestSnapshots(t *testing.T) {
	d := loadDoc(t, "full")
	rules, err := d.Select(idCX600)
	if err != nil {
		t.Fatal(err)
	}
	p := d.Policy()
	p.Rules[0].Approved[3] = 1
	if _, err := d.Approve(idCX600); err != nil {
		t.Fatal(err)
	}
	if got := rules[0].Pending; got == nil || got.String() != "4.0.7577.4398" {
		t.Errorf("selected rule changed: pending %v", got)
	}
	if got := d.Policy().Rules[0].Restore.String(); got != "4.0.7577.4363" {
		t.Errorf("restore = %s, want 4.0.7577.4363", got)
	}
}

// TestApproveKeepsRestore checks that approving a rule with nothing
// approved keeps its restore version, and where the new key goes.
func TestApproveKeepsRestore(t *testing.T) {
	src := "rules:\n  - id: " + idCX600 + "\n    identity: UCPhone/Polycom/CX600/A/ENU\n    update_type: CPE\n" +
		"    restore: 1.0.0.1 # kept\n    pending: 1.0.0.2\n    note: n\n"
	d, err := ParseDoc("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	desc, err := d.Approve(idCX600)
	if err != nil {
		t.Fatal(err)
	}
	if want := "approved UCPhone/Polycom/CX600/A/ENU CPE: 1.0.0.2 (nothing was approved before)"; desc != want {
		t.Errorf("description = %q, want %q", desc, want)
	}
	got, _ := d.Bytes()
	want := "rules:\n  - id: " + idCX600 + "\n    identity: UCPhone/Polycom/CX600/A/ENU\n    update_type: CPE\n" +
		"    restore: 1.0.0.1 # kept\n    approved: 1.0.0.2\n    note: n\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want ErrNotExist", err)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte("rules: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if want := path + ":1:8: rules: want a sequence, got integer"; err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
	big := bytes.Repeat([]byte("# padding\n"), policySizeLimit/10+1)
	if err := os.WriteFile(path, big, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := path + ":1:1: policy is larger than 16 MiB"; err == nil || err.Error() != want {
		t.Errorf("Load error = %v, want %s", err, want)
	}
}

// TestEditThenWrite is the round trip the CLI makes.
func TestEditThenWrite(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := durable.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Approve("6b1d"); err == nil {
		t.Error("Approve accepted an id prefix; prefixes are for Select")
	}
	rules, err := d.Select("*/*/*/*/DEU")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if _, err := d.Approve(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := d.Bytes()
	if err := durable.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	d2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d.Policy(), d2.Policy(), byContent()); diff != "" {
		t.Errorf("policy after write mismatch (-want +got):\n%s", diff)
	}
	if got := d2.Policy().Rules[2].Approved.String(); got != "4.0.7577.4398" {
		t.Errorf("approved = %s", got)
	}
}
