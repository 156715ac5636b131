package policy

import (
	"errors"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// byContent compares policies by content, ignoring positions.
func byContent() cmp.Option {
	return cmp.Options{
		cmpopts.IgnoreUnexported(Policy{}, Rule{}),
		cmpopts.EquateComparable(netip.Prefix{}),
	}
}

func ver(s string) *Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return &v
}

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("full.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		Packages: "packages",
		Service: Service{
			InternalURL: "https://ucupdates-r2.contoso.com",
			ExternalURL: "https://ucupdates-r2.contoso.com:4443",
		},
		Network: Network{
			Inside: []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("192.168.0.0/16"),
				netip.MustParsePrefix("fd00::/8"),
			},
			TrustedProxies: []netip.Prefix{
				netip.MustParsePrefix("127.0.0.1/32"),
				netip.MustParsePrefix("::1/128"),
			},
		},
		TopologySites: []string{"Redmond", "Dublin"},
		Rules: []Rule{
			{
				ID:         "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b",
				Identity:   Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"},
				UpdateType: "CPE",
				Approved:   ver("4.0.7577.4363"),
				Pending:    ver("4.0.7577.4398"),
				Restore:    ver("4.0.7577.4100"),
				Note:       "CX600 rollout: wait for the Dublin lab sign-off",
			},
			{
				ID:         "0f4a2b6c-1d3e-4f50-8a9b-0c1d2e3f4a5b",
				Identity:   Identity{DeviceType: "UCPhone", Brand: "Aastra", Model: "6725ip", Revision: "Rev1", Locale: "ENU"},
				UpdateType: "CPE",
				Approved:   ver("4.0.7577.4363"),
				KeepNewer:  boolPtr(true),
			},
			{
				ID:         "3c2b1a09-8f7e-4d6c-b5a4-93827160fedc",
				Identity:   Identity{DeviceType: "UCPhone", Brand: "HP", Model: "4120", Revision: "A", Locale: "DEU"},
				UpdateType: "CPE",
				Pending:    ver("4.0.7577.4398"),
			},
		},
		TestDevices: []TestDevice{
			{Name: "lab-cx600", MAC: "0004f2123456", Scope: "global"},
			{Name: "dublin-4120", Serial: "64167F123456", Scope: "Dublin"},
		},
	}
	if diff := cmp.Diff(want, got, byContent()); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

func TestParseMinimal(t *testing.T) {
	got, err := Parse("policy.yaml", []byte("rules: []\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{Packages: DefaultPackages}
	if diff := cmp.Diff(want, got, byContent(), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

// rule0 is the start of a valid rule, for error cases to extend.
const rule0 = `rules:
  - id: 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b
    identity: UCPhone/Polycom/CX600/A/ENU
    update_type: CPE
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", []string{
			"policy.yaml:1:1: empty policy",
		}},
		{"only comments", "# nothing here\n\n", []string{
			"policy.yaml:1:1: empty policy",
		}},
		{"null document", "~\n", []string{
			"policy.yaml:1:1: empty policy",
		}},
		{"second document", "rules: []\n---\nrules: []\n", []string{
			"policy.yaml:2:1: second YAML document; a policy is one document",
		}},
		{"syntax error", "rules:\n\t- id: x\n", []string{
			"policy.yaml:2:1: found character that cannot start any token",
		}},
		{"not utf-8", "rules: []\nnote: \xff\n", []string{
			"policy.yaml:2:7: policy is not valid UTF-8",
		}},
		{"control character", "rules: []\npackages: a\x01b\n", []string{
			"policy.yaml:2:12: control characters are not allowed",
		}},
		{"not a mapping", "- rules\n", []string{
			"policy.yaml:1:1: want a mapping, got sequence",
		}},
		{"unknown top-level key", "rules: []\nrule: []\n", []string{
			`policy.yaml:2:1: unknown key "rule"`,
		}},
		{"unknown rule key", rule0 + "    aproved: 4.0.7577.4363\n", []string{
			`policy.yaml:5:5: rules[0]: unknown key "aproved"`,
		}},
		{"unknown nested keys", "service:\n  url: https://x\nnetwork:\n  outside: []\n", []string{
			`policy.yaml:2:3: service: unknown key "url"`,
			`policy.yaml:4:3: network: unknown key "outside"`,
		}},
		{"malformed version", rule0 + "    approved: 4.0.7577\n", []string{
			`policy.yaml:5:15: rules[0].approved: malformed version "4.0.7577": want four dotted numbers`,
		}},
		{"versions", rule0 + "    approved: 4.0.7577.70000\n    pending: 4.0.07577.1\n    restore: 4.0.-1.2\n", []string{
			`policy.yaml:5:15: rules[0].approved: malformed version "4.0.7577.70000": 70000 is out of range 0..65535`,
			`policy.yaml:6:14: rules[0].pending: malformed version "4.0.07577.1": leading zero in "07577"`,
			`policy.yaml:7:14: rules[0].restore: malformed version "4.0.-1.2": want four dotted numbers`,
		}},
		{"version as number", rule0 + "    approved: 4.0\n", []string{
			`policy.yaml:5:15: rules[0].approved: malformed version "4.0": want four dotted numbers`,
		}},
		{"approved equals pending", rule0 + "    approved: 4.0.7577.4363\n    pending: 4.0.7577.4363\n", []string{
			"policy.yaml:6:14: rules[0].pending: pending version 4.0.7577.4363 is already approved; remove pending",
		}},
		{"wrong types", "packages: [a]\nservice: x\nnetwork:\n  inside: 10.0.0.0/8\ntopology_sites: {a: b}\nrules: {}\ntest_devices: 1\n", []string{
			"policy.yaml:1:11: packages: want a string, got sequence",
			"policy.yaml:2:10: service: want a mapping, got string",
			"policy.yaml:4:11: network.inside: want a sequence, got string",
			"policy.yaml:5:17: topology_sites: want a sequence, got mapping",
			"policy.yaml:6:8: rules: want a sequence, got mapping",
			"policy.yaml:7:15: test_devices: want a sequence, got integer",
		}},
		{"removed key allow_downgrade", rule0 + "    approved: 4.0.7577.4363\n    allow_downgrade: true\n", []string{
			`policy.yaml:6:5: rules[0]: key "allow_downgrade" was removed: devices are now sent their target whatever version they run; to leave devices on a newer version alone, set keep_newer: true`,
		}},
		{"keep_newer not a boolean", "keep_newer: sometimes\n", []string{
			"policy.yaml:1:13: keep_newer: want true or false, got string",
		}},
		{"wrong rule types", rule0 + "    approved: true\n    keep_newer: \"yes\"\n    note: [a]\n  - just a string\n", []string{
			"policy.yaml:5:15: rules[0].approved: want a string, got boolean",
			"policy.yaml:6:17: rules[0].keep_newer: want true or false, got string",
			"policy.yaml:7:11: rules[0].note: want a string, got sequence",
			"policy.yaml:8:5: rules[1]: want a mapping, got string",
		}},
		{"null values", rule0 + "    approved:\n    note: ~\n", []string{
			"policy.yaml:5:14: rules[0].approved: want a string, got null",
			"policy.yaml:6:11: rules[0].note: want a string, got null",
		}},
		{"missing rule keys", "rules:\n  - approved: 4.0.7577.4363\n  - {}\n", []string{
			`policy.yaml:2:5: rules[0]: missing key "id"`,
			`policy.yaml:2:5: rules[0]: missing key "identity"`,
			`policy.yaml:2:5: rules[0]: missing key "update_type"`,
			`policy.yaml:3:5: rules[1]: missing key "id"`,
			`policy.yaml:3:5: rules[1]: missing key "identity"`,
			`policy.yaml:3:5: rules[1]: missing key "update_type"`,
		}},
		{"duplicate keys", "rules: []\npackages: a\nrules: []\n" + "test_devices:\n  - name: a\n    mac: 000000000001\n    name: b\n", []string{
			`policy.yaml:3:1: duplicate key "rules" (first at line 1)`,
			`policy.yaml:7:5: test_devices[0]: duplicate key "name" (first at line 5)`,
		}},
		{"duplicate rules", rule0 + `  - id: 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b
    identity: UCPhone/Polycom/CX700/A/ENU
    update_type: CPE
  - id: 00000000-0000-0000-0000-000000000001
    identity: ucphone/polycom/cx600/a/enu
    update_type: cpe
  - id: 00000000-0000-0000-0000-000000000002
    identity: UCPhone/Polycom/CX600/A/ENU
    update_type: Firmware
`, []string{
			`policy.yaml:5:9: rules[1].id: duplicate rule id "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b" (first in rules[0] at line 2)`,
			`policy.yaml:9:15: rules[2].identity: duplicate rule for "ucphone/polycom/cx600/a/enu cpe" (first in rules[0] at line 3)`,
		}},
		{"rule ids", `rules:
  - id: 6B1D3F2E-4A0C-5E8B-9F11-2C3D4E5F6A7B
    identity: UCPhone/Polycom/CX600/A/ENU
    update_type: CPE
  - id: 6b1d3f2e4a0c5e8b9f112c3d4e5f6a7b
    identity: UCPhone/Polycom/CX700/A/ENU
    update_type: CPE
  - id: 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7g
    identity: UCPhone/Polycom/CX800/A/ENU
    update_type: CPE
`, []string{
			`policy.yaml:2:9: rules[0].id: rule id "6B1D3F2E-4A0C-5E8B-9F11-2C3D4E5F6A7B" is not in canonical form; want "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b"`,
			`policy.yaml:5:9: rules[1].id: malformed rule id "6b1d3f2e4a0c5e8b9f112c3d4e5f6a7b": want a GUID like 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b`,
			`policy.yaml:8:9: rules[2].id: malformed rule id "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7g": want a GUID like 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b`,
		}},
		{"identities", `rules:
  - id: 00000000-0000-0000-0000-000000000001
    identity: UCPhone/Polycom/CX600/ENU
    update_type: C/PE
  - id: 00000000-0000-0000-0000-000000000002
    identity: UCPhone/Polycom//A/ENU
    update_type: ".."
  - id: 00000000-0000-0000-0000-000000000003
    identity: UCPhone/Polycom/../A/ENU
    update_type: CPE
  - id: 00000000-0000-0000-0000-000000000004
    identity: "UCPhone/Polycom/CX\t600/A/ENU"
    update_type: CPE
  - id: 00000000-0000-0000-0000-000000000005
    identity: 'UCPhone/Polycom/CX\600/A/ENU'
    update_type: CPE
  - id: 00000000-0000-0000-0000-000000000006
    identity: "UCPhone/Polycom/CX600/A/ ENU"
    update_type: CPE
`, []string{
			`policy.yaml:3:15: rules[0].identity: malformed identity "UCPhone/Polycom/CX600/ENU": want DeviceType/Brand/Model/Revision/Locale`,
			`policy.yaml:4:18: rules[0].update_type: malformed update type "C/PE": contains "/" or "\"`,
			`policy.yaml:6:15: rules[1].identity: malformed identity "UCPhone/Polycom//A/ENU": Model is empty`,
			`policy.yaml:7:18: rules[1].update_type: malformed update type "..": contains ".."`,
			`policy.yaml:9:15: rules[2].identity: malformed identity "UCPhone/Polycom/../A/ENU": Model contains ".."`,
			`policy.yaml:12:15: rules[3].identity: malformed identity "UCPhone/Polycom/CX\t600/A/ENU": Model contains a control character`,
			`policy.yaml:15:15: rules[4].identity: malformed identity "UCPhone/Polycom/CX\\600/A/ENU": Model contains "/" or "\"`,
			`policy.yaml:18:15: rules[5].identity: malformed identity "UCPhone/Polycom/CX600/A/ ENU": Locale has surrounding spaces`,
		}},
		{"empty second document", `service:
  internal_url: ftp://ucupdates.contoso.com
  external_url: https://ucupdates.contoso.com:4443/?x=1
---
`, []string{
			"policy.yaml:4:1: second YAML document; a policy is one document",
		}},
		{"urls", `service:
  internal_url: ftp://ucupdates.contoso.com
  external_url: https://ucupdates.contoso.com:4443/?x=1
network:
  inside: [10.0.0.0/8]
rules: []
test_devices: []
topology_sites: []
packages: x
`, []string{
			`policy.yaml:2:17: service.internal_url: malformed URL "ftp://ucupdates.contoso.com": want scheme https or http`,
			`policy.yaml:3:17: service.external_url: malformed URL "https://ucupdates.contoso.com:4443/?x=1": must not have a query or fragment`,
		}},
		{"more urls", "service:\n  internal_url: https://user@x/\n  external_url: https:///path\n", []string{
			`policy.yaml:2:17: service.internal_url: malformed URL "https://user@x/": must not contain user information`,
			`policy.yaml:3:17: service.external_url: malformed URL "https:///path": want a host`,
		}},
		{"url syntax", "service:\n  internal_url: \"https://x:port/\"\n  external_url: 'https://x/#top'\n", []string{
			`policy.yaml:2:17: service.internal_url: malformed URL "https://x:port/": invalid port ":port" after host`,
			`policy.yaml:3:17: service.external_url: malformed URL "https://x/#top": must not have a query or fragment`,
		}},
		{"cidrs", "network:\n  inside: [10.0.0.1/8, 10.0.0.1, 300.0.0.0/8, \"fd00::/8\"]\n  trusted_proxies:\n    - 127.0.0.1/33\n", []string{
			`policy.yaml:2:12: network.inside[0]: malformed CIDR "10.0.0.1/8": host bits set; want "10.0.0.0/8"`,
			`policy.yaml:2:24: network.inside[1]: malformed CIDR "10.0.0.1": want address/prefix-length`,
			`policy.yaml:2:34: network.inside[2]: malformed CIDR "300.0.0.0/8": want address/prefix-length`,
			`policy.yaml:4:7: network.trusted_proxies[0]: malformed CIDR "127.0.0.1/33": want address/prefix-length`,
		}},
		{"sites", "topology_sites: [Redmond, redmond, Global, '', 3]\n", []string{
			`policy.yaml:1:27: topology_sites[1]: duplicate site "redmond" (first at line 1)`,
			`policy.yaml:1:36: topology_sites[2]: site name "Global" is reserved for the global scope`,
			`policy.yaml:1:44: topology_sites[3]: malformed site name "": empty or surrounded by spaces`,
		}},
		{"packages", "packages: ''\n", []string{
			"policy.yaml:1:11: packages: empty directory name",
		}},
		{"test devices", `topology_sites: [Dublin]
test_devices:
  - name: a
    mac: 00-04-F2-12-34-56
  - name: A
    mac: 0004f2123456
  - name: c
    mac: 00-04-f2:12-34-56
  - name: d
    serial: "ab cd"
  - name: e
    serial: AB12
  - name: f
    serial: ab12
    scope: dublin
  - name: g
  - mac: 00-04-F2-12-34-57
    serial: x
  - name: " i"
    serial: y
    scope: Dublin
`, []string{
			`policy.yaml:5:11: test_devices[1].name: duplicate test device "A" (first in test_devices[0] at line 3)`,
			`policy.yaml:6:10: test_devices[1].mac: duplicate MAC address "0004f2123456" (first in test_devices[0] at line 4)`,
			`policy.yaml:8:10: test_devices[2].mac: malformed MAC address "00-04-f2:12-34-56": want six pairs of hex digits, plain or separated by "-" or ":"`,
			`policy.yaml:10:13: test_devices[3].serial: malformed serial number "ab cd": want printable ASCII without spaces`,
			`policy.yaml:14:13: test_devices[5].serial: duplicate serial number "ab12" (first in test_devices[4] at line 12)`,
			`policy.yaml:15:12: test_devices[5].scope: unknown scope "dublin": want "global" or one of topology_sites`,
			`policy.yaml:16:5: test_devices[6]: missing key "mac" or "serial"`,
			`policy.yaml:17:5: test_devices[7]: missing key "name"`,
			`policy.yaml:18:5: test_devices[7]: both "mac" and "serial"; give one`,
			`policy.yaml:19:11: test_devices[8].name: malformed name " i": empty or surrounded by spaces`,
		}},
		{"numeric mac and serial", "test_devices:\n  - name: a\n    mac: 000412345678\n  - name: b\n    serial: 1234\n  - name: c\n    mac: 1e5\n", []string{
			`policy.yaml:7:10: test_devices[2].mac: malformed MAC address "1e5": want six pairs of hex digits, plain or separated by "-" or ":"`,
		}},
		{"anchors, aliases and tags", "packages: &p x\nrules: *p\ntest_devices: !custom []\n", []string{
			"policy.yaml:1:11: packages: anchors are not supported",
			"policy.yaml:2:8: rules: aliases are not supported",
			`policy.yaml:3:15: test_devices: unsupported tag "!custom"`,
		}},
		{"everything at once", `packages: packages
rules:
  - id: 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b
    identity: UCPhone/Polycom/CX600/A/ENU
    update_type: CPE
    aproved: 4.0.7577.4363
    pending: 4.0.7577
test_devices:
  - name: lab
    mac: 00-04-F2-12-34-5
    colour: red
extra: 1
`, []string{
			`policy.yaml:6:5: rules[0]: unknown key "aproved"`,
			`policy.yaml:7:14: rules[0].pending: malformed version "4.0.7577": want four dotted numbers`,
			`policy.yaml:10:10: test_devices[0].mac: malformed MAC address "00-04-F2-12-34-5": want six pairs of hex digits, plain or separated by "-" or ":"`,
			`policy.yaml:11:5: test_devices[0]: unknown key "colour"`,
			`policy.yaml:12:1: unknown key "extra"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("policy.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", p)
			}
			if p != nil {
				t.Errorf("Parse returned a policy with an error")
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T, want *Errors: %v", err, err)
			}
			got := strings.Split(err.Error(), "\n")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors mismatch (-want +got):\n%s", diff)
			}
			if len(errs.List) != len(got) {
				t.Errorf("%d errors in List, %d lines", len(errs.List), len(got))
			}
		})
	}
}

func TestErrorsAs(t *testing.T) {
	_, err := Parse("p.yaml", []byte("rules: 1\n"))
	var e Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(%v, *Error) failed", err)
	}
	want := Error{File: "p.yaml", Line: 1, Col: 8, Path: "rules", Msg: "want a sequence, got integer"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Errorf("Error mismatch (-want +got):\n%s", diff)
	}
}

func TestCheckVersions(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse("policy.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	available := func(id string, identity Identity, updateType string) []Version {
		switch identity.Model {
		case "CX600":
			return []Version{*ver("4.0.7577.4363"), *ver("4.0.7577.4398")}
		case "4120":
			return []Version{*ver("4.0.7577.4398")}
		}
		return nil
	}
	err = p.CheckVersions(available)
	want := []string{
		`policy.yaml:43:14: rules[0].restore: version 4.0.7577.4100 of "UCPhone/Polycom/CX600/A/ENU CPE" is in no imported package`,
		`policy.yaml:50:15: rules[1].approved: version 4.0.7577.4363 of "UCPhone/Aastra/6725ip/Rev1/ENU CPE" is in no imported package`,
	}
	if err == nil {
		t.Fatal("CheckVersions succeeded")
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("errors mismatch (-want +got):\n%s", diff)
	}

	all := func(string, Identity, string) []Version {
		return []Version{*ver("4.0.7577.4363"), *ver("4.0.7577.4398"), *ver("4.0.7577.4100")}
	}
	if err := p.CheckVersions(all); err != nil {
		t.Errorf("CheckVersions with every version: %v", err)
	}
}

func boolPtr(b bool) *bool { return &b }
