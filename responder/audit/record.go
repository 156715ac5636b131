package audit

import (
	"slices"
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
	// the responder chooses; for a download "served", "not-found" and the
	// like.
	Outcome string

	// Request is what was asked: [RequestCheck] or [RequestDownload]. An
	// empty Request is a check (files written before the column existed
	// hold only checks).
	Request string
	// Path is a download's path under files/.
	Path string
	// Account and AccountSource name the account whose credentials the
	// request carried and the source that verified them, when it needed
	// and had valid ones.
	Account, AccountSource string
	// Listener is the listener the request arrived on: "internal" or
	// "external".
	Listener string
	// Cut names the columns whose values were cut to fit the limits of a
	// row, as written by [Log]; it is set by the Reader, ignored by
	// [Log.Write].
	Cut []string
}

// Kinds of request.
const (
	RequestCheck    = "check"
	RequestDownload = "download"
)

// Row limits, so that no request can make the log grow by more than a
// few KiB. Values beyond them are cut, end in "…" and are named in the
// row's cut column.
const (
	// fieldLimit bounds a value, in bytes: real values are well under
	// 100 (a SIP URI is the longest).
	fieldLimit = 256
	// modulesLimit bounds a module list, in bytes: about 40 modules.
	modulesLimit = 1024
	// rowLimit bounds the values of one row together, in bytes.
	rowLimit = 4096
	// cutMark ends a value that was cut.
	cutMark = "…"
)

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
	// Columns added later; the Reader does without them.
	colRequest
	colPath
	colAccount
	colAccountSource
	colListener
	colCut
	numColumns

	// firstOptional is the first column a file may lack.
	firstOptional = colRequest
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
	colRequest:         "request",
	colPath:            "path",
	colAccount:         "account",
	colAccountSource:   "account_source",
	colListener:        "listener",
	colCut:             "cut",
}

// timeLayout is how times are written: RFC 3339, whole seconds, and since
// they are UTC, ending in "Z".
const timeLayout = time.RFC3339

// appendRow appends r's fields to row, in column order, made safe for a
// line and for spreadsheets and cut to the row limits, as the package
// documentation describes.
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
		clean(r.Request),
		clean(r.Path),
		clean(r.Account),
		clean(r.AccountSource),
		clean(r.Listener),
		"",
	)
	fields := row[len(row)-numColumns:]
	var cut []string
	total := 0
	for c := colClient; c < colCut; c++ {
		limit := fieldLimit
		if c == colRequestModules || c == colResponseModules {
			limit = modulesLimit
		}
		if len(fields[c]) > limit {
			fields[c] = cutTo(fields[c], limit)
			cut = append(cut, header[c])
		}
		total += len(fields[c])
	}
	for total > rowLimit {
		// Cut the longest value by the excess, or to a stub.
		long := colClient
		for c := colClient; c < colCut; c++ {
			if len(fields[c]) > len(fields[long]) {
				long = c
			}
		}
		before := len(fields[long])
		fields[long] = cutTo(fields[long], max(32, before-(total-rowLimit)))
		total -= before - len(fields[long])
		if !slices.Contains(cut, header[long]) {
			cut = append(cut, header[long])
		}
	}
	slices.Sort(cut)
	fields[colCut] = strings.Join(cut, ";")
	for c := colClient; c < colCut; c++ {
		fields[c] = defuse(fields[c])
	}
	return row
}

// cutTo cuts s to at most n bytes, on a character boundary, ending in
// cutMark.
func cutTo(s string, n int) string {
	n -= len(cutMark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + cutMark
}

// defuse keeps a spreadsheet from running a value as a formula, as OWASP
// recommends for CSV: a value starting with "=", "+", "-", "@", a tab or
// a carriage return gets a "'" put in front. So does one starting with
// "'", so that the Reader, which takes one leading "'" away, gives back
// exactly what was written.
func defuse(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r'", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// undefuse is what the Reader does: it takes away the "'" defuse added.
func undefuse(s string) string {
	return strings.TrimPrefix(s, "'")
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
