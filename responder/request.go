package responder

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxBody is the largest check request accepted: a device describes
// itself and a handful of modules in well under 4 KiB.
const maxBody = 64 << 10 // 64 KiB

// maxModules bounds the modules of one request, so that a request cannot
// make the responder do unbounded lookups.
const maxModules = 64

// Field length limits, in bytes after trimming. Real values are a few
// characters (UCPhone, Polycom, CX600, A, ENU, CPE, 4.0.7577.4363); the
// limits leave ample room and keep a lookup key, an audit row and a log
// line of one request small.
const (
	// maxField bounds every identity and module field.
	maxField = 64
	// maxUserField bounds the signed-in user, a SIP URI or UPN.
	maxUserField = 256
)

// Request is a device's check, as parsed from its XML body.
type Request struct {
	DeviceType, MAC, Serial, Vendor, Model, Revision, Locale, User string
	Modules                                                        []Module
}

// Module is an installed module the device reports.
type Module struct {
	Name, UpdateType, Version, Timestamp string
}

// errRequest is wrapped by every complaint about a request body.
var errRequest = errors.New("malformed check request")

// ParseRequest reads a check request body (docs/PROTOCOL.md). It is
// tolerant the way the protocol asks: element and attribute names are
// matched ignoring case and namespace prefixes, unknown elements are
// ignored, a field may be an element or an attribute of its parent. It
// refuses a DTD, entity declarations and any entity but the five XML
// predefines and character references, so nothing expands.
//
// It is a small scanner rather than encoding/xml because it runs on every
// check and must cost next to nothing; it accepts only what a device
// plausibly sends and reports anything else as malformed.
func ParseRequest(body []byte) (*Request, error) {
	if len(body) > maxBody {
		return nil, fmt.Errorf("%w: body larger than %d bytes", errRequest, maxBody)
	}
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: not UTF-8", errRequest)
	}
	s := scanner{src: body}
	r := &Request{}
	var mod *Module
	inModule := false
	// seen and modSeen hold a bit per field already given, by an element
	// or an attribute, so that a second one is refused instead of joined.
	var seen, modSeen uint32
	depth := 0
	// current is the element whose text is being gathered.
	var path [16]string
	for {
		tok, err := s.next()
		if err != nil {
			return nil, err
		}
		switch tok.kind {
		case tokEOF:
			if depth != 0 {
				return nil, fmt.Errorf("%w: document ends inside <%s>", errRequest, path[depth-1])
			}
			if inModule {
				return nil, fmt.Errorf("%w: unterminated module", errRequest)
			}
			return r.finish()
		case tokStart:
			if depth == len(path) {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", errRequest, len(path))
			}
			path[depth] = tok.name
			depth++
			if tok.name == "module" {
				if len(r.Modules) == maxModules {
					return nil, fmt.Errorf("%w: more than %d modules", errRequest, maxModules)
				}
				r.Modules = append(r.Modules, Module{})
				mod = &r.Modules[len(r.Modules)-1]
				inModule = true
				modSeen = 0
			}
			mark := func(name string) error {
				bits := &seen
				if inModule {
					bits = &modSeen
				}
				if _, bit := r.field(mod, inModule, name); bit != 0 {
					if *bits&bit != 0 {
						return fmt.Errorf("%w: <%s> given twice", errRequest, name)
					}
					*bits |= bit
				}
				return nil
			}
			if err := mark(tok.name); err != nil {
				return nil, err
			}
			for _, a := range tok.attrs {
				if err := mark(a.name); err != nil {
					return nil, err
				}
				r.set(mod, inModule, a.name, a.value)
			}
			if tok.selfClosing {
				depth--
				if tok.name == "module" {
					inModule = false
				}
			}
		case tokEnd:
			if depth == 0 || path[depth-1] != tok.name {
				return nil, fmt.Errorf("%w: unexpected </%s>", errRequest, tok.name)
			}
			depth--
			if tok.name == "module" {
				inModule = false
			}
		case tokText:
			if depth > 0 {
				r.set(mod, inModule, path[depth-1], tok.text)
			}
		}
	}
}

// set records a field by its lower-case name; text of one element may
// come in several pieces (around comments, say), which are joined.
func (r *Request) set(mod *Module, inModule bool, name, value string) {
	if f, _ := r.field(mod, inModule, name); f != nil && value != "" {
		*f += value
	}
}

// field returns the field a lower-case name sets and a bit that stands for
// it (aliases share one), or nil and 0 for a name that is no field.
func (r *Request) field(mod *Module, inModule bool, name string) (*string, uint32) {
	if inModule {
		switch name {
		case "name", "filename":
			return &mod.Name, 1 << 0
		case "updatetype", "type":
			return &mod.UpdateType, 1 << 1
		case "version":
			return &mod.Version, 1 << 2
		case "timestamp":
			return &mod.Timestamp, 1 << 3
		}
		return nil, 0
	}
	switch name {
	case "devicetype":
		return &r.DeviceType, 1 << 0
	case "mac", "macaddress":
		return &r.MAC, 1 << 1
	case "serial", "serialnumber":
		return &r.Serial, 1 << 2
	case "vendor", "brand":
		return &r.Vendor, 1 << 3
	case "model":
		return &r.Model, 1 << 4
	case "revision", "hardwarerevision":
		return &r.Revision, 1 << 5
	case "locale":
		return &r.Locale, 1 << 6
	case "user", "username":
		return &r.User, 1 << 7
	}
	return nil, 0
}

// finish trims the fields and checks the required ones.
func (r *Request) finish() (*Request, error) {
	for _, f := range []*string{&r.DeviceType, &r.MAC, &r.Serial, &r.Vendor, &r.Model, &r.Revision, &r.Locale, &r.User} {
		*f = strings.TrimSpace(*f)
	}
	for _, need := range []struct{ name, v string }{{"DeviceType", r.DeviceType}, {"Vendor", r.Vendor}, {"Model", r.Model}, {"Revision", r.Revision}, {"Locale", r.Locale}} {
		if need.v == "" {
			return nil, fmt.Errorf("%w: no %s", errRequest, need.name)
		}
	}
	for _, f := range []struct {
		name, v string
		limit   int
	}{{"DeviceType", r.DeviceType, maxField}, {"MAC", r.MAC, maxField}, {"Serial", r.Serial, maxField}, {"Vendor", r.Vendor, maxField},
		{"Model", r.Model, maxField}, {"Revision", r.Revision, maxField}, {"Locale", r.Locale, maxField}, {"User", r.User, maxUserField}} {
		if len(f.v) > f.limit {
			return nil, fmt.Errorf("%w: %s longer than %d bytes", errRequest, f.name, f.limit)
		}
	}
	kept := r.Modules[:0]
	for _, m := range r.Modules {
		m.Name, m.UpdateType, m.Version, m.Timestamp = strings.TrimSpace(m.Name), strings.TrimSpace(m.UpdateType), strings.TrimSpace(m.Version), strings.TrimSpace(m.Timestamp)
		if m.UpdateType == "" {
			m.UpdateType = m.Name
			if i := strings.LastIndexByte(m.UpdateType, '.'); i > 0 {
				m.UpdateType = m.UpdateType[:i]
			}
		}
		if m.Version == "" || m.UpdateType == "" {
			return nil, fmt.Errorf("%w: a module without a name or version", errRequest)
		}
		if max(len(m.Name), len(m.UpdateType), len(m.Version), len(m.Timestamp)) > maxField {
			return nil, fmt.Errorf("%w: a module field longer than %d bytes", errRequest, maxField)
		}
		kept = append(kept, m)
	}
	r.Modules = kept
	if len(r.Modules) == 0 {
		return nil, fmt.Errorf("%w: no module", errRequest)
	}
	return r, nil
}

type tokKind int

const (
	tokEOF tokKind = iota
	tokStart
	tokEnd
	tokText
)

type attr struct{ name, value string }

type token struct {
	kind        tokKind
	name        string // lower-case local name
	attrs       []attr
	selfClosing bool
	text        string
}

type scanner struct {
	src   []byte
	pos   int
	attrs [8]attr
}

func (s *scanner) errf(format string, args ...any) error {
	return fmt.Errorf("%w: byte %d: %s", errRequest, s.pos, fmt.Sprintf(format, args...))
}

func (s *scanner) next() (token, error) {
	for {
		t, skip, err := s.next1()
		if !skip {
			return t, err
		}
	}
}

// next1 reads one token, or reports that it skipped a comment or a
// processing instruction.
func (s *scanner) next1() (t token, skip bool, err error) {
	src := s.src
	if s.pos >= len(src) {
		return token{kind: tokEOF}, false, nil
	}
	if src[s.pos] != '<' {
		end := bytes.IndexByte(src[s.pos:], '<')
		if end < 0 {
			end = len(src) - s.pos
		}
		raw := src[s.pos : s.pos+end]
		s.pos += end
		if isSpace(raw) {
			return token{kind: tokText}, false, nil // layout between elements
		}
		text, err := unescape(raw)
		if err != nil {
			return token{}, false, s.errf("%v", err)
		}
		return token{kind: tokText, text: text}, false, nil
	}
	rest := src[s.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("<?")):
		end := bytes.Index(rest, []byte("?>"))
		if end < 0 {
			return token{}, false, s.errf("unterminated processing instruction")
		}
		s.pos += end + 2
		return token{}, true, nil
	case bytes.HasPrefix(rest, []byte("<!--")):
		end := bytes.Index(rest[4:], []byte("-->"))
		if end < 0 {
			return token{}, false, s.errf("unterminated comment")
		}
		s.pos += 4 + end + 3
		return token{}, true, nil
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		end := bytes.Index(rest[9:], []byte("]]>"))
		if end < 0 {
			return token{}, false, s.errf("unterminated CDATA section")
		}
		text := string(rest[9 : 9+end])
		s.pos += 9 + end + 3
		return token{kind: tokText, text: text}, false, nil
	case bytes.HasPrefix(rest, []byte("<!")):
		return token{}, false, s.errf("DTDs and declarations are not accepted")
	}
	end := bytes.IndexByte(rest, '>')
	if end < 0 {
		return token{}, false, s.errf("unterminated tag")
	}
	tag := rest[1:end]
	s.pos += end + 1
	if len(tag) > 0 && tag[0] == '/' {
		name, after := tagName(tag[1:])
		if name == "" || len(bytes.TrimSpace(after)) != 0 {
			return token{}, false, s.errf("malformed end tag")
		}
		return token{kind: tokEnd, name: name}, false, nil
	}
	t = token{kind: tokStart}
	if len(tag) > 0 && tag[len(tag)-1] == '/' {
		t.selfClosing = true
		tag = tag[:len(tag)-1]
	}
	name, after := tagName(tag)
	if name == "" {
		return token{}, false, s.errf("malformed tag")
	}
	t.name = name
	t.attrs = s.attrs[:0]
	for {
		after = bytes.TrimLeft(after, " \t\r\n")
		if len(after) == 0 {
			break
		}
		eq := bytes.IndexByte(after, '=')
		if eq <= 0 {
			return token{}, false, s.errf("malformed attribute in <%s>", name)
		}
		aname := localName(bytes.TrimSpace(after[:eq]))
		after = bytes.TrimLeft(after[eq+1:], " \t\r\n")
		if len(after) == 0 || (after[0] != '"' && after[0] != '\'') {
			return token{}, false, s.errf("unquoted attribute in <%s>", name)
		}
		q := after[0]
		close := bytes.IndexByte(after[1:], q)
		if close < 0 {
			return token{}, false, s.errf("unterminated attribute in <%s>", name)
		}
		val, err := unescape(after[1 : 1+close])
		if err != nil {
			return token{}, false, s.errf("%v", err)
		}
		after = after[1+close+1:]
		t.attrs = append(t.attrs, attr{aname, val})
	}
	return t, false, nil
}

// tagName returns the lower-case local name at the start of tag and what
// follows it.
func tagName(tag []byte) (string, []byte) {
	i := 0
	for i < len(tag) && !(tag[i] == ' ' || tag[i] == '\t' || tag[i] == '\r' || tag[i] == '\n') {
		i++
	}
	return localName(tag[:i]), tag[i:]
}

// knownName returns the constant for a name a check uses, so that the
// common names cost no allocation; "" for others.
func knownName(b []byte) string {
	switch string(b) { // compiled to comparisons, no allocation
	case "deviceupdaterequest":
		return "deviceupdaterequest"
	case "device":
		return "device"
	case "modules":
		return "modules"
	case "module":
		return "module"
	case "devicetype":
		return "devicetype"
	case "mac":
		return "mac"
	case "macaddress":
		return "macaddress"
	case "serial":
		return "serial"
	case "serialnumber":
		return "serialnumber"
	case "vendor":
		return "vendor"
	case "brand":
		return "brand"
	case "model":
		return "model"
	case "revision":
		return "revision"
	case "hardwarerevision":
		return "hardwarerevision"
	case "locale":
		return "locale"
	case "user":
		return "user"
	case "username":
		return "username"
	case "name":
		return "name"
	case "filename":
		return "filename"
	case "updatetype":
		return "updatetype"
	case "type":
		return "type"
	case "version":
		return "version"
	case "timestamp":
		return "timestamp"
	}
	return ""
}

// localName drops a namespace prefix and lower-cases an XML name; it
// returns "" for what cannot be a name.
func localName(b []byte) string {
	if i := bytes.LastIndexByte(b, ':'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) == 0 || len(b) > 64 {
		return ""
	}
	var buf [64]byte
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '_', c == '-', c == '.', c >= 0x80:
		default:
			return ""
		}
		buf[i] = c
	}
	if n := knownName(buf[:len(b)]); n != "" {
		return n
	}
	return string(buf[:len(b)])
}

// unescape resolves the predefined entities and character references.
func unescape(b []byte) (string, error) {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b), nil
	}
	var out strings.Builder
	for len(b) > 0 {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			out.Write(b)
			break
		}
		out.Write(b[:i])
		b = b[i:]
		semi := bytes.IndexByte(b, ';')
		if semi < 0 || semi > 12 {
			return "", errors.New("malformed entity")
		}
		ent := string(b[1:semi])
		b = b[semi+1:]
		switch ent {
		case "amp":
			out.WriteByte('&')
		case "lt":
			out.WriteByte('<')
		case "gt":
			out.WriteByte('>')
		case "quot":
			out.WriteByte('"')
		case "apos":
			out.WriteByte('\'')
		default:
			if !strings.HasPrefix(ent, "#") {
				return "", fmt.Errorf("entity &%s; not accepted", ent)
			}
			base, digits := 10, ent[1:]
			if strings.HasPrefix(digits, "x") || strings.HasPrefix(digits, "X") {
				base, digits = 16, digits[1:]
			}
			n, err := strconv.ParseUint(digits, base, 32)
			if err != nil || !utf8.ValidRune(rune(n)) || n == 0 {
				return "", fmt.Errorf("malformed character reference &%s;", ent)
			}
			out.WriteRune(rune(n))
		}
	}
	return out.String(), nil
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
