package policy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

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
	if diff := cmp.Diff(Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}, id); diff != "" {
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
	if err := (Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX/600", Revision: "A", Locale: "ENU"}).Check(); err == nil {
		t.Error(`Check accepted a component with "/"`)
	}
}
