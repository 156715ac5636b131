package site

import "testing"

// TestAppendLookupPathIsLookupPath: the allocation-free form names the
// same file as LookupPath, for any bytes.
func TestAppendLookupPathIsLookupPath(t *testing.T) {
	for _, id := range []Identity{
		{"UCPhone", "Polycom", "CX600", "A", "ENU"},
		{"uc phone", "Ü", "%%", "a~b", "x/y"},
		{"", "", "", "", "\xff\x00"},
	} {
		for _, typ := range []string{"CPE", "", "Ü~"} {
			if got, want := string(AppendLookupPath(nil, id, typ)), LookupPath(id, typ); got != want {
				t.Errorf("%v %q: %q, want %q", id, typ, got, want)
			}
		}
	}
}
