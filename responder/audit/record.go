package audit

import (
	"strings"
	"time"
	"unicode/utf8"
)

// A Record is one update check as the responder answered it.
type Record struct {
	// Time is when the check was answered. A zero Time is replaced by the
	// time of [Log.Write]. It is written in UTC with whole seconds.
	Time time.Time
	// Client is the address the request came from.
	Client string

	// The device as it described itself, unchecked: a request refused as
	// malformed is audited with whatever it carried.
	DeviceType, MAC, Serial, Vendor, Model, Revision, Locale string

	// RequestModules are the modules the device reported installed;
	// ResponseModules the modules it was sent an update for, with the
	// version it was sent.
	RequestModules, ResponseModules []Module

	// User is the signed-in user the device reported, if any.
	User string
	// Outcome is how the check ended: "update", "no-update", "denied",
	// "unauthorized", "bad-request", "rate-limited" or another short word
	// the responder chooses.
	Outcome string
}

// A Module is a module file and its version, as in CPE.nbt at 4.0.7577.4363.
type Module struct{ Name, Version string }

// UpdateType returns the update type of a module as the responder derives
// it by default: its name without the extension, so "CPE" for "CPE.nbt".
func (m Module) UpdateType() string {
	if i := strings.LastIndexByte(m.Name, '.'); i >= 0 {
		return m.Name[:i]
	}
	return m.Name
}

// The columns of the log, in the order they are written.
const (
	colTime = iota
	colClient
	colDeviceType
	colMAC
	colSerial
	colVendor
	colModel
	colRevision
	colLocale
	colRequestModules
	colResponseModules
	colUser
	colOutcome
	numColumns
)

// header is the header row, naming the columns in order.
var header = [numColumns]string{
	colTime:            "time",
	colClient:          "client",
	colDeviceType:      "device_type",
	colMAC:             "mac",
	colSerial:          "serial",
	colVendor:          "vendor",
	colModel:           "model",
	colRevision:        "revision",
	colLocale:          "locale",
	colRequestModules:  "request_modules",
	colResponseModules: "response_modules",
	colUser:            "user",
	colOutcome:         "outcome",
}

// timeLayout is how times are written: RFC 3339, whole seconds, and since
// they are UTC, ending in "Z".
const timeLayout = time.RFC3339

// appendRow appends r's fields to row, in column order, made safe for a
// line as the package documentation describes.
func appendRow(row []string, r Record) []string {
	row = append(row,
		r.Time.UTC().Format(timeLayout),
		clean(r.Client),
		clean(r.DeviceType),
		clean(r.MAC),
		clean(r.Serial),
		clean(r.Vendor),
		clean(r.Model),
		clean(r.Revision),
		clean(r.Locale),
		formatModules(r.RequestModules),
		formatModules(r.ResponseModules),
		clean(r.User),
		clean(r.Outcome),
	)
	return row
}

// formatModules writes modules as name:version joined by ";".
func formatModules(ms []Module) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(cleanModule(m.Name))
		b.WriteByte(':')
		b.WriteString(cleanModule(m.Version))
	}
	return b.String()
}

// parseModules reads what formatModules wrote. It is lenient with what
// formatModules never writes: empty entries are ignored and an entry
// without ":" is a name without a version.
func parseModules(s string) []Module {
	if s == "" {
		return nil
	}
	var ms []Module
	for e := range strings.SplitSeq(s, ";") {
		if e == "" {
			continue
		}
		name, version, _ := strings.Cut(e, ":")
		ms = append(ms, Module{Name: name, Version: version})
	}
	return ms
}

// clean replaces with U+FFFD what must not reach a line: control
// characters, line and paragraph separators and invalid UTF-8.
func clean(s string) string {
	return cleanFunc(s, unsafeRune)
}

// cleanModule is clean that also replaces the module list separators.
func cleanModule(s string) string {
	return cleanFunc(s, func(r rune) bool { return r == ':' || r == ';' || unsafeRune(r) })
}

func unsafeRune(r rune) bool {
	return r < 0x20 || (0x7f <= r && r <= 0x9f) || r == '\u2028' || r == '\u2029'
}

// cleanFunc replaces each rune for which bad is true, and each byte of
// invalid UTF-8, with U+FFFD. It returns s itself when there is nothing to
// replace, which is nearly always.
func cleanFunc(s string, bad func(rune) bool) string {
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || bad(r) {
			break
		}
		i += n
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || bad(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}
