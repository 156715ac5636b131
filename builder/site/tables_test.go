package site

import (
	"testing"

	"github.com/duws/duws/builder/device"
)

// TestAppendLookupPathIsLookupPath: the allocation-free form names the
// same file as LookupPath, for any bytes.
func TestAppendLookupPathIsLookupPath(t *testing.T) {
	for _, id := range []device.Identity{
		{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"},
		{DeviceType: "uc phone", Brand: "Ü", Model: "%%", Revision: "a~b", Locale: "x/y"},
		{Locale: "\xff\x00"},
	} {
		for _, typ := range []string{"CPE", "", "Ü~"} {
			if got, want := string(AppendLookupPath(nil, id, typ)), LookupPath(id, typ); got != want {
				t.Errorf("%v %q: %q, want %q", id, typ, got, want)
			}
		}
	}
}
