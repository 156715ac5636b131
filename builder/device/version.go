package device

import (
	"fmt"
	"strconv"
	"strings"
)

// A Version is a Lync Phone Edition firmware version: four dotted numbers,
// as in 4.0.7577.4363, compared component by component from the left.
//
// Each component is a 16-bit number (0..65535): the versions come from
// Windows file version resources, whose four parts are 16 bits each, so a
// wider type would admit versions no device can report.
type Version [4]uint16

// ParseVersion parses the text form of a [Version]: exactly four parts
// separated by dots, each a decimal number in 0..65535 written without a
// sign, without leading zeros (so that every version has one spelling, which
// matters because versions name folders in the store) and without
// surrounding spaces.
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(s, ".")
	if len(parts) != len(v) {
		return Version{}, fmt.Errorf("malformed version %q: want four dotted numbers", s)
	}
	for i, p := range parts {
		if p == "" {
			return Version{}, fmt.Errorf("malformed version %q: want four dotted numbers", s)
		}
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return Version{}, fmt.Errorf("malformed version %q: want four dotted numbers", s)
			}
		}
		if len(p) > 1 && p[0] == '0' {
			return Version{}, fmt.Errorf("malformed version %q: leading zero in %q", s, p)
		}
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil {
			return Version{}, fmt.Errorf("malformed version %q: %s is out of range 0..65535", s, p)
		}
		v[i] = uint16(n)
	}
	return v, nil
}

// String returns the dotted form that [ParseVersion] accepts.
func (v Version) String() string {
	b := make([]byte, 0, 23)
	for i, n := range v {
		if i > 0 {
			b = append(b, '.')
		}
		b = strconv.AppendUint(b, uint64(n), 10)
	}
	return string(b)
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than w.
func (v Version) Compare(w Version) int {
	for i := range v {
		switch {
		case v[i] < w[i]:
			return -1
		case v[i] > w[i]:
			return +1
		}
	}
	return 0
}

// MarshalText implements [encoding.TextMarshaler].
func (v Version) MarshalText() ([]byte, error) {
	return []byte(v.String()), nil
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseVersion].
func (v *Version) UnmarshalText(b []byte) error {
	w, err := ParseVersion(string(b))
	if err != nil {
		return err
	}
	*v = w
	return nil
}
