package device

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr string
	}{
		{in: "4.0.7577.4363", want: Version{4, 0, 7577, 4363}},
		{in: "0.0.0.0", want: Version{}},
		{in: "65535.65535.65535.65535", want: Version{65535, 65535, 65535, 65535}},
		{in: "4.0.7577", wantErr: `malformed version "4.0.7577": want four dotted numbers`},
		{in: "4.0.7577.4363.1", wantErr: `malformed version "4.0.7577.4363.1": want four dotted numbers`},
		{in: "", wantErr: `malformed version "": want four dotted numbers`},
		{in: "4..7577.4363", wantErr: `malformed version "4..7577.4363": want four dotted numbers`},
		{in: "4.0.7577.4363.", wantErr: `malformed version "4.0.7577.4363.": want four dotted numbers`},
		{in: " 4.0.7577.4363", wantErr: `malformed version " 4.0.7577.4363": want four dotted numbers`},
		{in: "4.0.7577.4363 ", wantErr: `malformed version "4.0.7577.4363 ": want four dotted numbers`},
		{in: "+4.0.7577.4363", wantErr: `malformed version "+4.0.7577.4363": want four dotted numbers`},
		{in: "4.0.-1.4363", wantErr: `malformed version "4.0.-1.4363": want four dotted numbers`},
		{in: "4.0.0x10.4363", wantErr: `malformed version "4.0.0x10.4363": want four dotted numbers`},
		{in: "4.0.٣.4363", wantErr: `malformed version "4.0.٣.4363": want four dotted numbers`},
		{in: "4.0.65536.4363", wantErr: `malformed version "4.0.65536.4363": 65536 is out of range 0..65535`},
		{in: "4.0.99999999999999999999.1", wantErr: `malformed version "4.0.99999999999999999999.1": 99999999999999999999 is out of range 0..65535`},
		{in: "4.00.7577.4363", wantErr: `malformed version "4.00.7577.4363": leading zero in "00"`},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseVersion(%q) error = %v, want %s", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseVersion(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, want %v", tt.in, got, tt.want)
		}
		if s := got.String(); s != tt.in {
			t.Errorf("ParseVersion(%q).String() = %q", tt.in, s)
		}
	}
}

func TestVersionCompare(t *testing.T) {
	order := []string{"0.0.0.0", "0.0.0.1", "0.0.1.0", "4.0.7577.4100", "4.0.7577.4363", "4.0.7577.4398", "4.1.0.0", "10.0.0.0"}
	for i, a := range order {
		for j, b := range order {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := ver(a).Compare(*ver(b)); got != want {
				t.Errorf("%s.Compare(%s) = %d, want %d", a, b, got, want)
			}
		}
	}
}

func TestVersionText(t *testing.T) {
	var v Version
	if err := v.UnmarshalText([]byte("4.0.7577.4363")); err != nil {
		t.Fatal(err)
	}
	b, err := v.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("4.0.7577.4363", string(b)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := v.UnmarshalText([]byte("4.0")); err == nil {
		t.Error("UnmarshalText(4.0) succeeded")
	}
}

func ver(s string) *Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return &v
}
