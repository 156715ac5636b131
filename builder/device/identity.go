package device

import (
	"fmt"
	"strings"
)

// ScopeGlobal is the scope of a test device that tests everywhere (rather
// than at one topology site).
const ScopeGlobal = "global"

// An Identity names a kind of device, as the path
// DeviceType/Brand/Model/Revision/Locale, for example
// UCPhone/Polycom/CX600/A/ENU. The components name folders of the store,
// so none is empty, "." or contains "/", "\", "..", control characters or
// surrounding spaces.
type Identity struct {
	DeviceType string
	Brand      string
	Model      string
	Revision   string
	Locale     string
}

// String returns the identity in the form ParseIdentity accepts.
func (id Identity) String() string {
	return strings.Join(id.Parts(), "/")
}

// Key returns the identity and an update type as one case-folded string:
// how the updates of a rule are found among packages, ignoring case.
func (id Identity) Key(updateType string) string {
	return strings.ToLower(id.String() + " " + updateType)
}

// Parts returns the five components, DeviceType first.
func (id Identity) Parts() []string {
	return []string{id.DeviceType, id.Brand, id.Model, id.Revision, id.Locale}
}

// identityField names component i of an identity in messages.
func identityField(i int) string {
	return [...]string{"DeviceType", "Brand", "Model", "Revision", "Locale"}[i]
}

// ParseIdentity parses DeviceType/Brand/Model/Revision/Locale.
func ParseIdentity(s string) (Identity, error) {
	parts := strings.Split(s, "/")
	if len(parts) != 5 {
		return Identity{}, fmt.Errorf("malformed identity %q: want DeviceType/Brand/Model/Revision/Locale", s)
	}
	for i, p := range parts {
		if problem := ComponentProblem(p); problem != "" {
			return Identity{}, fmt.Errorf("malformed identity %q: %s %s", s, identityField(i), problem)
		}
	}
	return Identity{parts[0], parts[1], parts[2], parts[3], parts[4]}, nil
}

// Check reports the first problem with id's components, if any. Identities
// built by hand (rather than parsed) should be checked before use.
func (id Identity) Check() error {
	for i, p := range id.Parts() {
		if problem := ComponentProblem(p); problem != "" {
			return fmt.Errorf("malformed identity %q: %s %s", id.String(), identityField(i), problem)
		}
	}
	return nil
}

// ComponentProblem says what is wrong with one identity component or
// update type (both name folders of the store), or returns "".
func ComponentProblem(s string) string {
	switch {
	case s == "":
		return "is empty"
	case s == ".":
		return `is "."`
	case strings.Contains(s, ".."):
		return `contains ".."`
	case strings.ContainsAny(s, `/\`):
		return `contains "/" or "\"`
	case strings.TrimSpace(s) != s:
		return "has surrounding spaces"
	case HasControl(s):
		return "contains a control character"
	}
	return ""
}

// HasControl reports whether s holds a control character (C0, DEL or
// C1), which no name in a policy or a store may.
func HasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}

// CanonicalRuleID checks a rule GUID and returns its canonical form: 32 hex
// digits grouped 8-4-4-4-12 by hyphens, lower case. It accepts upper-case
// digits and surrounding braces, as packages may write them.
func CanonicalRuleID(s string) (string, error) {
	t := s
	if len(t) == 38 && t[0] == '{' && t[37] == '}' {
		t = t[1:37]
	}
	if len(t) != 36 {
		return "", fmt.Errorf("malformed rule id %q: want a GUID like 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b", s)
	}
	out := make([]byte, len(t))
	for i := range len(t) {
		c := t[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", fmt.Errorf("malformed rule id %q: want a GUID like 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b", s)
			}
		case '0' <= c && c <= '9', 'a' <= c && c <= 'f':
		case 'A' <= c && c <= 'F':
			c += 'a' - 'A'
		default:
			return "", fmt.Errorf("malformed rule id %q: want a GUID like 6b1d3f2e-4a0c-5e8b-9f11-2c3d4e5f6a7b", s)
		}
		out[i] = c
	}
	return string(out), nil
}
