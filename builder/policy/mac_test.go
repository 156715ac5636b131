package policy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNormalizeMAC(t *testing.T) {
	good := map[string]string{
		"0004f2123456":      "0004f2123456",
		"0004F2ABCDEF":      "0004f2abcdef",
		"00-04-F2-12-34-56": "0004f2123456",
		"00:04:f2:12:34:56": "0004f2123456",
		"00:04:F2:aB:Cd:eF": "0004f2abcdef",
	}
	for in, want := range good {
		got, err := NormalizeMAC(in)
		if err != nil || got != want {
			t.Errorf("NormalizeMAC(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	bad := []string{
		"", "0004f212345", "0004f21234567", "0004f212345g", "00-04-F2:12-34-56", "00-04-F2-12-34-5",
		"00-04-F2-12-34-567", "0-04-F2-12-34-567", "00.04.f2.12.34.56", " 0004f2123456", "00--4-F2-12-34-56",
		"0004-f212-3456", "00 04 f2 12 34 56",
	}
	for _, in := range bad {
		got, err := NormalizeMAC(in)
		if err == nil {
			t.Errorf("NormalizeMAC(%q) = %q, want error", in, got)
			continue
		}
		want := `malformed MAC address "` + in + `": want six pairs of hex digits, plain or separated by "-" or ":"`
		if diff := cmp.Diff(want, err.Error()); diff != "" {
			t.Errorf("NormalizeMAC(%q) error (-want +got):\n%s", in, diff)
		}
	}
}

func TestNormalizeSerial(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "64167f123456", want: "64167F123456"},
		{in: "  ab-12/x  ", want: "AB-12/X"},
		{in: "~!#", want: "~!#"},
		{in: "", wantErr: `malformed serial number "": empty`},
		{in: "   ", wantErr: `malformed serial number "   ": empty`},
		{in: "ab cd", wantErr: `malformed serial number "ab cd": want printable ASCII without spaces`},
		{in: "ab\tcd", wantErr: `malformed serial number "ab\tcd": want printable ASCII without spaces`},
		{in: "abé", wantErr: `malformed serial number "abé": want printable ASCII without spaces`},
		{in: strings.Repeat("a", 65), wantErr: `malformed serial number "` + strings.Repeat("a", 65) + `": longer than 64 characters`},
	}
	for _, tt := range tests {
		got, err := NormalizeSerial(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
			t.Errorf("NormalizeSerial(%q) = %q, %v; want error %s", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("NormalizeSerial(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCanonicalID(t *testing.T) {
	good := map[string]string{
		"6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b":   "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b",
		"6B1D3F2E-4A0C-5E8B-9F11-2C3D4E5F6A7B":   "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b",
		"{6B1D3F2E-4A0C-5E8B-9F11-2C3D4E5F6A7B}": "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b",
	}
	for in, want := range good {
		if got, err := CanonicalID(in); err != nil || got != want {
			t.Errorf("CanonicalID(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "6b1d3f2e4a0c5e8b9f112c3d4e5f6a7b", "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7", "6b1d3f2e-4a0c-5e8b-9f11_2c3d4e5f6a7b", "{6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b", "6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7x"} {
		if got, err := CanonicalID(in); err == nil {
			t.Errorf("CanonicalID(%q) = %q, want error", in, got)
		}
	}
}

func TestIdentity(t *testing.T) {
	id, err := ParseIdentity("UCPhone/Polycom/CX600/A/ENU")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Identity{"UCPhone", "Polycom", "CX600", "A", "ENU"}, id); diff != "" {
		t.Errorf("ParseIdentity (-want +got):\n%s", diff)
	}
	if got := id.String(); got != "UCPhone/Polycom/CX600/A/ENU" {
		t.Errorf("String() = %q", got)
	}
	if err := id.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	bad := map[string]string{
		"UCPhone/Polycom/CX600/A":        `malformed identity "UCPhone/Polycom/CX600/A": want DeviceType/Brand/Model/Revision/Locale`,
		"UCPhone/Polycom/CX600/A/ENU/x":  `malformed identity "UCPhone/Polycom/CX600/A/ENU/x": want DeviceType/Brand/Model/Revision/Locale`,
		"/Polycom/CX600/A/ENU":           `malformed identity "/Polycom/CX600/A/ENU": DeviceType is empty`,
		"UCPhone/./CX600/A/ENU":          `malformed identity "UCPhone/./CX600/A/ENU": Brand is "."`,
		"UCPhone/Polycom/CX600/a..b/ENU": `malformed identity "UCPhone/Polycom/CX600/a..b/ENU": Revision contains ".."`,
		"UCPhone/Polycom/CX600/A/EN\x7f": `malformed identity "UCPhone/Polycom/CX600/A/EN\x7f": Locale contains a control character`,
	}
	for in, want := range bad {
		_, err := ParseIdentity(in)
		if err == nil || err.Error() != want {
			t.Errorf("ParseIdentity(%q) error = %v, want %s", in, err, want)
		}
	}
	if err := (Identity{"UCPhone", "Polycom", "CX/600", "A", "ENU"}).Check(); err == nil {
		t.Error(`Check accepted a component with "/"`)
	}
}
