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
	var hex string
	switch len(s) {
	case 12:
		hex = s
	case 17:
		sep := s[2]
		if sep != '-' && sep != ':' {
			return bad()
		}
		var b strings.Builder
		for i := 0; i < len(s); i += 3 {
			if i+2 < len(s) && s[i+2] != sep {
				return bad()
			}
			b.WriteString(s[i : i+2])
		}
		hex = b.String()
	default:
		return bad()
	}
	out := make([]byte, len(hex))
	for i := range len(hex) {
		c := hex[i]
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
			out[i] = c
		case 'A' <= c && c <= 'F':
			out[i] = c + 'a' - 'A'
		default:
			return bad()
		}
	}
	return string(out), nil
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
