// Package site defines the static tree duws builds and the responder
// serves: its layout, the lookup tables that map what a device reports to
// a precomputed answer, the test-device table, the manifest, and the bytes
// of the answers. It holds no policy: the builder decides what the tables
// say, the responder only follows them.
//
// # Layout
//
//	manifest.json                 every other file with size and SHA-256; the inputs' digest
//	manifest.sig                  Ed25519 signature of manifest.json (optional)
//	devices.json                  test devices: normalised MAC / serial -> scope
//	service.json                  the networks counted as inside, the trusted proxies
//	index.html                    the site for people
//	answers/<sha256>.xml          each distinct answer, named by its hash
//	lookup/<dt>~<brand>~<model>~<revision>~<locale>~<type>.json
//	                              what devices of one identity are told, per audience and version
//	files/<DeviceType>/<Brand>/<Model>/<Revision>/<Locale>/<Version>/<UpdateType>/<file>
//	                              the update files the answers offer
//
// Lookup paths are lower case, so a request's identity is matched ignoring
// case; file paths keep the case of the package. Every path is plain
// relative UTF-8 with "/" separators, so any static host can serve the
// tree with plain GETs.
package site

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/duws/duws/builder/device"
)

// Format is the version of the tree layout; the responder refuses others.
const Format = 1

// Names in a tree.
const (
	ManifestName  = "manifest.json"
	ServiceName   = "service.json"
	SignatureName = "manifest.sig"
	DevicesName   = "devices.json"
	IndexName     = "index.html"
	AnswersDir    = "answers"
	LookupDir     = "lookup"
	FilesDir      = "files"
)

// Names in a site directory, which holds several trees and says which one
// is live.
const (
	// CurrentName is the symbolic link to the live tree, switched by one
	// rename.
	CurrentName = "current"
	// TreesDir holds the trees, each named by its manifest's SHA-256.
	TreesDir = "trees"
	// HistoryName lists the trees in the order they were published.
	HistoryName = "history.json"
)

// Audience is who a lookup table is for.
type Audience string

// The audiences: every device, and test devices, which get pending
// versions.
const (
	Production Audience = "production"
	Test       Audience = "test"
)

// LookupPath returns the path of the lookup table for an identity and
// update type: lookup/ and the six fields lower-cased, each with every
// byte but [a-z0-9._-] percent-encoded, joined by "~", so that one flat
// directory holds every table and no two keys share a name.
func LookupPath(id device.Identity, updateType string) string {
	var b strings.Builder
	b.WriteString(LookupDir + "/")
	for i, part := range []string{id.DeviceType, id.Brand, id.Model, id.Revision, id.Locale, updateType} {
		if i > 0 {
			b.WriteByte('~')
		}
		for _, c := range []byte(strings.ToLower(part)) {
			if 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-' {
				b.WriteByte(c)
			} else {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		}
	}
	b.WriteString(".json")
	return b.String()
}

// Lookup is what devices of one identity are told about one update type.
type Lookup struct {
	Identity   string `json:"identity"`
	UpdateType string `json:"update_type"`
	Production Table  `json:"production"`
	Test       Table  `json:"test"`
}

// Table maps the version a device reports to the path of its answer.
// Answers are named once in Answers and referred to by index, so that a
// table of many versions stays small.
type Table struct {
	// Target is the version devices are brought to, "" for none.
	Target string `json:"target,omitempty"`
	// Answers lists the paths of the answers the table refers to.
	Answers []string `json:"answers"`
	// Versions holds the answer (an index into Answers) for each version
	// the packages know.
	Versions map[string]int `json:"versions"`
	// Older and Newer hold the answers for any other version, older or
	// newer than Target (both the same when there is no target).
	Older int `json:"older"`
	Newer int `json:"newer"`
}

// Ref returns the index of an answer path in t.Answers, adding it.
func (t *Table) Ref(answer string) int {
	for i, a := range t.Answers {
		if a == answer {
			return i
		}
	}
	t.Answers = append(t.Answers, answer)
	return len(t.Answers) - 1
}

// Path returns the answer path at index i, "" when i is out of range.
func (t *Table) Path(i int) string {
	if i < 0 || i >= len(t.Answers) {
		return ""
	}
	return t.Answers[i]
}

// Answer returns the path of the answer for a reported version, "" for a
// table that does not say (a malformed tree).
func (t *Table) Answer(v device.Version) string {
	return t.AnswerFor(v.String(), v)
}

// AnswerFor is Answer with the version's text already at hand.
func (t *Table) AnswerFor(text string, v device.Version) string {
	if i, ok := t.Versions[text]; ok {
		return t.Path(i)
	}
	if t.Target != "" {
		if target, err := device.ParseVersion(t.Target); err == nil && v.Compare(target) > 0 {
			return t.Path(t.Newer)
		}
	}
	return t.Path(t.Older)
}

// For returns the table of an audience.
func (l *Lookup) For(a Audience) *Table {
	if a == Test {
		return &l.Test
	}
	return &l.Production
}

// Devices is the test-device table: normalised MAC addresses and serial
// numbers (see package device) mapped to the scope they test in, "global"
// or a topology site.
type Devices struct {
	MACs    map[string]string `json:"macs"`
	Serials map[string]string `json:"serials"`
}

// IsTest reports whether a device with this normalised MAC or serial is a
// test device for a responder at site (empty for none).
func (d *Devices) IsTest(mac, serial, site string) bool {
	in := func(scope string, ok bool) bool {
		return ok && (scope == device.ScopeGlobal || (site != "" && scope == site))
	}
	if mac != "" {
		if scope, ok := d.MACs[mac]; in(scope, ok) {
			return true
		}
	}
	if serial != "" {
		if scope, ok := d.Serials[serial]; in(scope, ok) {
			return true
		}
	}
	return false
}

// Service is what the responder needs of the policy's network settings.
type Service struct {
	InternalURL    string         `json:"internal_url"`
	ExternalURL    string         `json:"external_url"`
	Inside         []netip.Prefix `json:"inside"`
	TrustedProxies []netip.Prefix `json:"trusted_proxies"`
	TopologySites  []string       `json:"topology_sites"`
}

// Manifest lists every file of a tree but itself and its signature.
type Manifest struct {
	Format int `json:"format"`
	// Built is when the inputs were last changed (SOURCE_DATE_EPOCH, or
	// the newest input), RFC 3339 in UTC; never the clock of the build.
	Built    string `json:"built"`
	Inputs   Inputs `json:"inputs"`
	NoUpdate string `json:"no_update"` // path of the downloads=0 answer
	Files    []File `json:"files"`     // sorted by path
}

// Inputs identifies what a tree was built from.
type Inputs struct {
	// Digest is the SHA-256 over the policy's and the packages' hashes.
	Digest   string   `json:"digest"`
	Policy   string   `json:"policy_sha256"`
	Packages []string `json:"packages"` // store names, which are hashes
}

// File is one file of a tree.
type File struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// EncodeLookup writes a lookup table as JSON, the versions in the order
// given (any version of a table not in order follows, sorted), so that
// the output is the same for the same table.
func EncodeLookup(l *Lookup, order []device.Version) []byte {
	var b strings.Builder
	str := func(s string) {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f || c == '<' || c == '>' || c == '&' {
				q, _ := json.Marshal(s)
				b.Write(q)
				return
			}
		}
		b.WriteByte('"')
		b.WriteString(s)
		b.WriteByte('"')
	}
	b.WriteString("{\n  \"identity\": ")
	str(l.Identity)
	b.WriteString(",\n  \"update_type\": ")
	str(l.UpdateType)
	for _, aud := range []Audience{Production, Test} {
		t := l.For(aud)
		fmt.Fprintf(&b, ",\n  %q: {\n", aud)
		if t.Target != "" {
			b.WriteString("    \"target\": ")
			str(t.Target)
			b.WriteString(",\n")
		}
		b.WriteString("    \"answers\": [")
		for i, a := range t.Answers {
			if i > 0 {
				b.WriteString(", ")
			}
			str(a)
		}
		b.WriteString("],\n    \"versions\": {")
		seen := make(map[string]bool, len(t.Versions))
		first := true
		entry := func(v string) {
			if first {
				b.WriteString("\n      ")
			} else {
				b.WriteString(",\n      ")
			}
			first = false
			str(v)
			b.WriteString(": ")
			b.WriteString(strconv.Itoa(t.Versions[v]))
		}
		for _, v := range order {
			vs := v.String()
			if _, ok := t.Versions[vs]; ok && !seen[vs] {
				seen[vs] = true
				entry(vs)
			}
		}
		var rest []string
		for v := range t.Versions {
			if !seen[v] {
				rest = append(rest, v)
			}
		}
		slices.Sort(rest)
		for _, v := range rest {
			entry(v)
		}
		if !first {
			b.WriteString("\n    ")
		}
		fmt.Fprintf(&b, "},\n    \"older\": %d,\n    \"newer\": %d", t.Older, t.Newer)
		b.WriteString("\n  }")
	}
	b.WriteString("\n}\n")
	return []byte(b.String())
}
