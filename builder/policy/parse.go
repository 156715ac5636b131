package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// policySizeLimit bounds the policy file. A policy with thousands of rules
// is well under 1 MiB; anything near the limit is not a policy.
const policySizeLimit = 16 << 20 // 16 MiB

// The keys of each mapping, in the order Doc writes them. These are
// functions so that no caller can change the lists.
func topKeys() []string {
	return []string{"packages", "service", "network", "keep_newer", "topology_sites", "rules", "test_devices"}
}
func serviceKeys() []string { return []string{"internal_url", "external_url"} }
func networkKeys() []string { return []string{"inside", "trusted_proxies"} }
func ruleKeys() []string {
	return []string{"id", "identity", "update_type", "approved", "pending", "restore", "keep_newer", "note"}
}

// removedKeys are keys of earlier versions, with what to write instead.
var removedKeys = map[string]string{
	"allow_downgrade": "devices are now sent their target whatever version they run; to leave devices on a newer version alone, set keep_newer: true",
}

func deviceKeys() []string { return []string{"name", "mac", "serial", "scope"} }

// Parse parses and checks a policy file. name is used in error messages. It
// returns a valid *Policy, or a nil *Policy and an [*Errors] listing every
// problem found.
func Parse(name string, data []byte) (*Policy, error) {
	p, _, err := parse(name, data)
	return p, err
}

// parse is Parse that also returns the YAML document node, for Doc.
func parse(name string, data []byte) (*Policy, *yaml.Node, error) {
	fail := func(line, col int, format string, args ...any) (*Policy, *yaml.Node, error) {
		return nil, nil, sorted([]Error{{File: name, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}})
	}
	if len(data) > policySizeLimit {
		return fail(1, 1, "policy is larger than %d MiB", policySizeLimit>>20)
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		line, col := lineCol(data, off)
		return fail(line, col, "policy is not valid UTF-8")
	}

	doc, extra, err := decode(data)
	if err != nil {
		line, col, msg := syntaxError(data, err)
		return fail(line, col, "%s", msg)
	}
	if doc == nil {
		return fail(1, 1, "empty policy")
	}
	if extra != nil {
		return fail(max(extra.Line, 1), max(extra.Column, 1), "second YAML document; a policy is one document")
	}
	if len(doc.Content) != 1 || isNull(doc.Content[0]) {
		return fail(max(doc.Line, 1), max(doc.Column, 1), "empty policy")
	}

	w := &walker{file: name}
	pol := w.policy(doc.Content[0])
	if err := sorted(w.errs); err != nil {
		return nil, nil, err
	}
	pol.file = name
	return pol, doc, nil
}

// decode returns the first document of data, nil if there is none, and
// the second document if there is one.
func decode(data []byte) (doc, extra *yaml.Node, err error) {
	defer func() {
		// yaml.v3 turns its own failures into errors; anything else
		// escaping it is a bug that must not take the caller down.
		if r := recover(); r != nil {
			doc, extra, err = nil, nil, fmt.Errorf("yaml: internal error: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var first yaml.Node
	if err := dec.Decode(&first); err == io.EOF {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == io.EOF {
		return &first, nil, nil
	} else if err != nil {
		return nil, nil, err
	}
	return &first, &second, nil
}

// syntaxError locates a yaml.v3 error, which carries at most a line number,
// and not always an exact one.
func syntaxError(data []byte, err error) (line, col int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	line, col = 1, 1
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, after, ok := strings.Cut(rest, ": "); ok {
			if n, err := strconv.Atoi(num); err == nil {
				line, msg = n, after
			}
		}
	} else if off := bytes.IndexFunc(data, notYAMLPrintable); off >= 0 {
		line, col = lineCol(data, off)
	}
	line = min(max(line, 1), lineCount(data))
	return line, col, msg
}

// notYAMLPrintable reports the characters YAML does not allow in a stream.
func notYAMLPrintable(r rune) bool {
	switch {
	case r == '\t', r == '\n', r == '\r', r == 0x85:
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r >= 0xd800 && r < 0xe000, r == 0xfffe, r == 0xffff:
		return true
	}
	return false
}

// walker checks a document node by node, collecting every problem.
type walker struct {
	file string
	errs []Error
}

func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	w.errs = append(w.errs, Error{
		File: w.file,
		Line: max(n.Line, 1),
		Col:  max(n.Column, 1),
		Path: path,
		Msg:  fmt.Sprintf(format, args...),
	})
}

// field is one key and its value in a mapping.
type field struct{ key, value *yaml.Node }

// usable reports whether n may be looked at as a value, reporting anchors,
// aliases and unusual tags, which a policy never needs.
func (w *walker) usable(n *yaml.Node, path string) bool {
	switch {
	case n.Kind == yaml.AliasNode:
		w.errorf(n, path, "aliases are not supported")
		return false
	case n.Anchor != "":
		w.errorf(n, path, "anchors are not supported")
		return false
	}
	switch t := n.ShortTag(); t {
	case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!map", "!!seq":
		return true
	default:
		w.errorf(n, path, "unsupported tag %q", t)
		return false
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kind describes n in "want X, got Y" messages.
func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "sequence"
	case yaml.AliasNode:
		return "alias"
	case yaml.DocumentNode:
		return "document"
	}
	switch t := n.ShortTag(); t {
	case "!!str":
		return "string"
	case "!!int":
		return "integer"
	case "!!float":
		return "number"
	case "!!bool":
		return "boolean"
	case "!!null":
		return "null"
	case "!!timestamp":
		return "timestamp"
	default:
		return t
	}
}

// mapping returns the fields of a mapping by key, reporting unknown and
// duplicate keys. A null counts as an empty mapping when nullOK.
func (w *walker) mapping(n *yaml.Node, path string, nullOK bool, known []string) (map[string]field, bool) {
	if !w.usable(n, path) {
		return nil, false
	}
	if nullOK && isNull(n) {
		return map[string]field{}, true
	}
	if n.Kind != yaml.MappingNode {
		w.errorf(n, path, "want a mapping, got %s", kind(n))
		return nil, false
	}
	fields := make(map[string]field)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !w.usable(k, path) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			w.errorf(k, path, "want a string key, got %s", kind(k))
			continue
		}
		name := k.Value
		if first, dup := fields[name]; dup {
			w.errorf(k, path, "duplicate key %q (first at line %d)", name, first.key.Line)
			continue
		}
		isKnown := false
		for _, kn := range known {
			if kn == name {
				isKnown = true
			}
		}
		if !isKnown {
			if hint, ok := removedKeys[name]; ok {
				w.errorf(k, path, "key %q was removed: %s", name, hint)
			} else {
				w.errorf(k, path, "unknown key %q", name)
			}
			// Remember it anyway, so that a repeated unknown key is
			// reported as a duplicate too.
		}
		fields[name] = field{k, v}
	}
	return fields, true
}

// sequence returns the items of a sequence; a null is an empty sequence.
func (w *walker) sequence(n *yaml.Node, path string) ([]*yaml.Node, bool) {
	if !w.usable(n, path) {
		return nil, false
	}
	if isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.SequenceNode {
		w.errorf(n, path, "want a sequence, got %s", kind(n))
		return nil, false
	}
	return n.Content, true
}

// text returns the source text of a scalar. Numbers and timestamps are
// accepted as text, because a serial number or a MAC address may well look
// like one; booleans and nulls are not, because they are almost always a
// mistake.
func (w *walker) text(n *yaml.Node, path string) (string, bool) {
	if !w.usable(n, path) {
		return "", false
	}
	if n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, true
		}
	}
	w.errorf(n, path, "want a string, got %s", kind(n))
	return "", false
}

func (w *walker) boolean(n *yaml.Node, path string) (bool, bool) {
	if !w.usable(n, path) {
		return false, false
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		w.errorf(n, path, "want true or false, got %s", kind(n))
		return false, false
	}
	return strings.EqualFold(n.Value, "true"), true
}

func (w *walker) version(n *yaml.Node, path string) (*Version, bool) {
	s, ok := w.text(n, path)
	if !ok {
		return nil, false
	}
	v, err := ParseVersion(s)
	if err != nil {
		w.errorf(n, path, "%v", err)
		return nil, false
	}
	return &v, true
}

func (w *walker) prefixes(n *yaml.Node, path string) []netip.Prefix {
	items, _ := w.sequence(n, path)
	var out []netip.Prefix
	for i, item := range items {
		p := fmt.Sprintf("%s[%d]", path, i)
		s, ok := w.text(item, p)
		if !ok {
			continue
		}
		prefix, err := parsePrefix(s)
		if err != nil {
			w.errorf(item, p, "%v", err)
			continue
		}
		out = append(out, prefix)
	}
	return out
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		return netip.Prefix{}, fmt.Errorf("malformed CIDR %q: want address/prefix-length", s)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("malformed CIDR %q: want address/prefix-length", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("malformed CIDR %q: host bits set; want %q", s, p.Masked().String())
	}
	return p, nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("malformed URL %q: %v", s, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("malformed URL %q: want scheme https or http", s)
	case u.Opaque != "" || u.Host == "":
		return fmt.Errorf("malformed URL %q: want a host", s)
	case u.User != nil:
		return fmt.Errorf("malformed URL %q: must not contain user information", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return fmt.Errorf("malformed URL %q: must not have a query or fragment", s)
	case u.Hostname() == "":
		return fmt.Errorf("malformed URL %q: want a host", s)
	}
	return nil
}

func (w *walker) policy(root *yaml.Node) *Policy {
	pol := &Policy{Packages: DefaultPackages}
	top, ok := w.mapping(root, "", false, topKeys())
	if !ok {
		return pol
	}

	if f, ok := top["packages"]; ok {
		if s, ok := w.text(f.value, "packages"); ok {
			switch {
			case s == "":
				w.errorf(f.value, "packages", "empty directory name")
			case hasControl(s):
				w.errorf(f.value, "packages", "directory name %q contains a control character", s)
			default:
				pol.Packages = s
			}
		}
	}

	if f, ok := top["service"]; ok {
		if svc, ok := w.mapping(f.value, "service", true, serviceKeys()); ok {
			pol.Service.InternalURL = w.url(svc, "service", "internal_url")
			pol.Service.ExternalURL = w.url(svc, "service", "external_url")
		}
	}

	if f, ok := top["network"]; ok {
		if nw, ok := w.mapping(f.value, "network", true, networkKeys()); ok {
			if f, ok := nw["inside"]; ok {
				pol.Network.Inside = w.prefixes(f.value, "network.inside")
			}
			if f, ok := nw["trusted_proxies"]; ok {
				pol.Network.TrustedProxies = w.prefixes(f.value, "network.trusted_proxies")
			}
		}
	}

	if f, ok := top["keep_newer"]; ok {
		if b, ok := w.boolean(f.value, "keep_newer"); ok {
			pol.KeepNewer = b
		}
	}
	if f, ok := top["topology_sites"]; ok {
		pol.TopologySites = w.sites(f.value)
	}
	if f, ok := top["rules"]; ok {
		pol.Rules = w.rules(f.value)
	}
	if f, ok := top["test_devices"]; ok {
		pol.TestDevices = w.devices(f.value, pol.TopologySites)
	}
	return pol
}

func (w *walker) url(m map[string]field, parent, key string) string {
	f, ok := m[key]
	if !ok {
		return ""
	}
	path := parent + "." + key
	s, ok := w.text(f.value, path)
	if !ok {
		return ""
	}
	if err := checkURL(s); err != nil {
		w.errorf(f.value, path, "%v", err)
		return ""
	}
	return s
}

func (w *walker) sites(n *yaml.Node) []string {
	items, _ := w.sequence(n, "topology_sites")
	var sites []string
	first := make(map[string]*yaml.Node)
	for i, item := range items {
		path := fmt.Sprintf("topology_sites[%d]", i)
		s, ok := w.text(item, path)
		if !ok {
			continue
		}
		switch {
		case s == "" || strings.TrimSpace(s) != s:
			w.errorf(item, path, "malformed site name %q: empty or surrounded by spaces", s)
		case hasControl(s):
			w.errorf(item, path, "malformed site name %q: contains a control character", s)
		case strings.EqualFold(s, ScopeGlobal):
			w.errorf(item, path, "site name %q is reserved for the global scope", s)
		default:
			key := strings.ToLower(s)
			if prev, dup := first[key]; dup {
				w.errorf(item, path, "duplicate site %q (first at line %d)", s, prev.Line)
				continue
			}
			first[key] = item
			sites = append(sites, s)
		}
	}
	return sites
}

func (w *walker) rules(n *yaml.Node) []Rule {
	items, _ := w.sequence(n, "rules")
	type seen struct {
		index int
		line  int
	}
	ids := make(map[string]seen)
	kinds := make(map[string]seen)
	var rules []Rule
	for i, item := range items {
		path := fmt.Sprintf("rules[%d]", i)
		m, ok := w.mapping(item, path, false, ruleKeys())
		if !ok {
			continue
		}
		var r Rule
		for _, key := range []string{"id", "identity", "update_type"} {
			if _, ok := m[key]; !ok {
				w.errorf(item, path, "missing key %q", key)
			}
		}

		if f, ok := m["id"]; ok {
			p := path + ".id"
			if s, ok := w.text(f.value, p); ok {
				id, err := CanonicalID(s)
				prev, dup := ids[id]
				switch {
				case err != nil:
					w.errorf(f.value, p, "%v", err)
				case id != s:
					w.errorf(f.value, p, "rule id %q is not in canonical form; want %q", s, id)
					ids[id] = seen{i, f.value.Line}
				case dup:
					w.errorf(f.value, p, "duplicate rule id %q (first in rules[%d] at line %d)", id, prev.index, prev.line)
				default:
					ids[id] = seen{i, f.value.Line}
					r.ID = id
				}
			}
		}

		identityOK, updateTypeOK := false, false
		if f, ok := m["identity"]; ok {
			p := path + ".identity"
			if s, ok := w.text(f.value, p); ok {
				if id, err := ParseIdentity(s); err != nil {
					w.errorf(f.value, p, "%v", err)
				} else {
					r.Identity, identityOK = id, true
				}
			}
		}
		if f, ok := m["update_type"]; ok {
			p := path + ".update_type"
			if s, ok := w.text(f.value, p); ok {
				if problem := componentProblem(s); problem != "" {
					w.errorf(f.value, p, "malformed update type %q: %s", s, problem)
				} else {
					r.UpdateType, updateTypeOK = s, true
				}
			}
		}
		if identityOK && updateTypeOK {
			f := m["identity"]
			key := strings.ToLower(r.String())
			if prev, dup := kinds[key]; dup {
				w.errorf(f.value, path+".identity", "duplicate rule for %q (first in rules[%d] at line %d)",
					r.String(), prev.index, prev.line)
			} else {
				kinds[key] = seen{i, f.value.Line}
			}
		}

		version := func(key string, dst **Version, at *pos) {
			f, ok := m[key]
			if !ok {
				return
			}
			v, ok := w.version(f.value, path+"."+key)
			if !ok {
				return
			}
			*dst = v
			*at = pos{f.value.Line, f.value.Column}
		}
		version("approved", &r.Approved, &r.pos.approved)
		version("pending", &r.Pending, &r.pos.pending)
		version("restore", &r.Restore, &r.pos.restore)
		if r.Approved != nil && r.Pending != nil && *r.Approved == *r.Pending {
			w.errorf(m["pending"].value, path+".pending",
				"pending version %s is already approved; remove pending", r.Pending)
		}

		if f, ok := m["keep_newer"]; ok {
			if b, ok := w.boolean(f.value, path+".keep_newer"); ok {
				r.KeepNewer = &b
			}
		}
		if f, ok := m["note"]; ok {
			if s, ok := w.text(f.value, path+".note"); ok {
				r.Note = s
			}
		}
		// A rule with problems is kept all the same: the caller
		// discards the policy, and the rule still counts for duplicates.
		rules = append(rules, r)
	}
	return rules
}

func (w *walker) devices(n *yaml.Node, sites []string) []TestDevice {
	items, _ := w.sequence(n, "test_devices")
	type seen struct {
		index int
		line  int
	}
	names := make(map[string]seen)
	macs := make(map[string]seen)
	serials := make(map[string]seen)
	var devices []TestDevice
	for i, item := range items {
		path := fmt.Sprintf("test_devices[%d]", i)
		m, ok := w.mapping(item, path, false, deviceKeys())
		if !ok {
			continue
		}
		d := TestDevice{Scope: ScopeGlobal}

		if f, ok := m["name"]; !ok {
			w.errorf(item, path, "missing key %q", "name")
		} else if s, ok := w.text(f.value, path+".name"); ok {
			key := strings.ToLower(s)
			prev, dup := names[key]
			switch {
			case s == "" || strings.TrimSpace(s) != s:
				w.errorf(f.value, path+".name", "malformed name %q: empty or surrounded by spaces", s)
			case hasControl(s):
				w.errorf(f.value, path+".name", "malformed name %q: contains a control character", s)
			case dup:
				w.errorf(f.value, path+".name", "duplicate test device %q (first in test_devices[%d] at line %d)", s, prev.index, prev.line)
			default:
				names[key] = seen{i, f.value.Line}
				d.Name = s
			}
		}

		mac, hasMAC := m["mac"]
		serial, hasSerial := m["serial"]
		switch {
		case !hasMAC && !hasSerial:
			w.errorf(item, path, "missing key %q or %q", "mac", "serial")
		case hasMAC && hasSerial:
			later := serial.key
			if later.Line < mac.key.Line || later.Line == mac.key.Line && later.Column < mac.key.Column {
				later = mac.key
			}
			w.errorf(later, path, "both %q and %q; give one", "mac", "serial")
		case hasMAC:
			p := path + ".mac"
			if s, ok := w.text(mac.value, p); ok {
				if norm, err := NormalizeMAC(s); err != nil {
					w.errorf(mac.value, p, "%v", err)
				} else if prev, dup := macs[norm]; dup {
					w.errorf(mac.value, p, "duplicate MAC address %q (first in test_devices[%d] at line %d)", s, prev.index, prev.line)
				} else {
					macs[norm] = seen{i, mac.value.Line}
					d.MAC = norm
				}
			}
		case hasSerial:
			p := path + ".serial"
			if s, ok := w.text(serial.value, p); ok {
				if norm, err := NormalizeSerial(s); err != nil {
					w.errorf(serial.value, p, "%v", err)
				} else if prev, dup := serials[norm]; dup {
					w.errorf(serial.value, p, "duplicate serial number %q (first in test_devices[%d] at line %d)", s, prev.index, prev.line)
				} else {
					serials[norm] = seen{i, serial.value.Line}
					d.Serial = norm
				}
			}
		}

		if f, ok := m["scope"]; ok {
			p := path + ".scope"
			if s, ok := w.text(f.value, p); ok {
				if s == ScopeGlobal || containsString(sites, s) {
					d.Scope = s
				} else {
					w.errorf(f.value, p, "unknown scope %q: want %q or one of topology_sites", s, ScopeGlobal)
				}
			}
		}
		devices = append(devices, d)
	}
	return devices
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
