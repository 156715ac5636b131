package device

import (
	"fmt"
	"strings"
)

// serialLengthLimit bounds a serial number. Phone serials are a dozen or so
// characters; anything much longer is a paste accident.
const serialLengthLimit = 64

// NormalizeMAC checks a MAC address and returns it as 12 lower-case hex
// digits without separators, the form in which duws compares addresses.
//
// It accepts six pairs of hex digits, in either case, written plain
// (0004f2123456) or separated consistently by "-" (00-04-F2-12-34-56) or ":"
// (00:04:f2:12:34:56).
func NormalizeMAC(s string) (string, error) {
	bad := func() (string, error) {
		return "", fmt.Errorf("malformed MAC address %q: want six pairs of hex digits, plain or separated by \"-\" or \":\"", s)
	}
	// The digits start every step-th byte of s, two at a time: one copy
	// and one allocation, since a check carries a MAC.
	step := 2
	switch len(s) {
	case 12:
	case 17:
		step = 3
		sep := s[2]
		if sep != '-' && sep != ':' {
			return bad()
		}
		for i := 2; i < len(s); i += 3 {
			if s[i] != sep {
				return bad()
			}
		}
	default:
		return bad()
	}
	var out [12]byte
	for i := range 6 {
		for j := range 2 {
			c := s[i*step+j]
			switch {
			case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
				out[2*i+j] = c
			case 'A' <= c && c <= 'F':
				out[2*i+j] = c + 'a' - 'A'
			default:
				return bad()
			}
		}
	}
	return string(out[:]), nil
}

// NormalizeSerial checks a device serial number and returns it in the form
// in which duws compares serials: surrounding spaces trimmed and letters
// upper-cased. What remains must be 1 to 64 printable ASCII characters
// without spaces; devices report serials in that alphabet, and the limit
// keeps a pasted paragraph from passing as a serial.
func NormalizeSerial(s string) (string, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", fmt.Errorf("malformed serial number %q: empty", s)
	}
	if len(t) > serialLengthLimit {
		return "", fmt.Errorf("malformed serial number %q: longer than %d characters", s, serialLengthLimit)
	}
	for i := range len(t) {
		if c := t[i]; c <= ' ' || c > '~' {
			return "", fmt.Errorf("malformed serial number %q: want printable ASCII without spaces", s)
		}
	}
	return strings.ToUpper(t), nil
}
