package site

import (
	"strings"

	"github.com/duws/duws/builder/device"
)

// AppendLookupPath appends [LookupPath] of an identity and update type to
// dst, without allocating when dst has room and the fields are ASCII: the
// responder computes it for every module of every check.
func AppendLookupPath(dst []byte, id device.Identity, updateType string) []byte {
	const hex = "0123456789ABCDEF"
	dst = append(dst, LookupDir+"/"...)
	for i, part := range [...]string{id.DeviceType, id.Brand, id.Model, id.Revision, id.Locale, updateType} {
		if i > 0 {
			dst = append(dst, '~')
		}
		for j := 0; j < len(part); j++ {
			if part[j] >= 0x80 {
				// Unicode case folding, as LookupPath does; rare.
				part = strings.ToLower(part)
				break
			}
		}
		for j := 0; j < len(part); j++ {
			c := part[j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' {
				dst = append(dst, c)
			} else {
				dst = append(dst, '%', hex[c>>4], hex[c&15])
			}
		}
	}
	return append(dst, ".json"...)
}
