package device

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
