package update

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/duws/duws/builder/device"
)

// Limits on updateInfo.xml: a description of a few hundred updates is a
// few hundred KiB; anything far larger is not a description.
const (
	maxInfoSize     = 4 << 20 // 4 MiB
	maxInfoDepth    = 16
	maxInfoElements = 100000
)

type info struct {
	packageVersion string
	updates        []infoUpdate
}

type infoUpdate struct {
	index  int               // 1-based, for messages
	fields map[string]string // lower-case element or attribute name -> text
	files  []infoFile
}

type infoFile struct {
	name   string
	size   int64 // -1 when not given
	sha256 string
}

// node is an element of the generic tree updateInfo.xml is read into;
// names are lower-cased, so matching ignores case.
type node struct {
	name     string
	attrs    map[string]string
	text     strings.Builder
	children []*node
}

func (n *node) field(name string) string {
	if v, ok := n.attrs[name]; ok {
		return strings.TrimSpace(v)
	}
	for _, c := range n.children {
		if c.name == name {
			return strings.TrimSpace(c.text.String())
		}
	}
	return ""
}

// parseInfo reads updateInfo.xml. Element and attribute names are matched
// ignoring case, unknown ones are ignored; a DTD, an entity other than the
// five predefined ones or a malformed document is an error. UTF-8 and
// UTF-16 (with a byte-order mark) are accepted.
func parseInfo(b []byte) (*info, error) {
	b, err := toUTF8(b)
	if err != nil {
		return nil, err
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "utf-16", "utf16", "unicode":
			return r, nil // already UTF-8 (UTF-16 was converted)
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var stack []*node
	var root *node
	count := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("a DTD is not allowed")
		case xml.StartElement:
			count++
			if count > maxInfoElements {
				return nil, fmt.Errorf("more than %d elements", maxInfoElements)
			}
			if len(stack) >= maxInfoDepth {
				return nil, fmt.Errorf("elements nested deeper than %d", maxInfoDepth)
			}
			n := &node{name: strings.ToLower(t.Name.Local), attrs: map[string]string{}}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				n.attrs[strings.ToLower(a.Name.Local)] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("no root element")
	}
	in := &info{packageVersion: root.field("packageversion")}
	if in.packageVersion == "" {
		in.packageVersion = root.field("version")
	}
	for _, c := range root.children {
		if c.name != "update" {
			continue
		}
		iu := infoUpdate{index: len(in.updates) + 1, fields: map[string]string{}}
		for k, v := range c.attrs {
			iu.fields[k] = strings.TrimSpace(v)
		}
		for _, f := range c.children {
			if f.name != "file" {
				iu.fields[f.name] = strings.TrimSpace(f.text.String())
				continue
			}
			inf := infoFile{name: f.field("name"), size: -1, sha256: strings.ToLower(f.field("sha256"))}
			if inf.name == "" {
				inf.name = strings.TrimSpace(f.text.String())
			}
			if s := f.field("size"); s != "" {
				n, err := strconv.ParseInt(s, 10, 64)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("update %d: file %q: malformed size %q", iu.index, inf.name, s)
				}
				inf.size = n
			}
			if inf.sha256 != "" && !isHex(inf.sha256, 64) {
				return nil, fmt.Errorf("update %d: file %q: malformed SHA-256 %q", iu.index, inf.name, inf.sha256)
			}
			iu.files = append(iu.files, inf)
		}
		in.updates = append(in.updates, iu)
	}
	return in, nil
}

// update turns a listed update into an Update, checking its fields.
func (iu infoUpdate) update() (Update, error) {
	f := iu.fields
	id := device.Identity{DeviceType: f["devicetype"], Brand: f["brand"], Model: f["model"], Revision: f["revision"], Locale: f["locale"]}
	if err := id.Check(); err != nil {
		return Update{}, err
	}
	ut := f["updatetype"]
	if err := checkComponent("update type", ut); err != nil {
		return Update{}, err
	}
	v, err := device.ParseVersion(f["version"])
	if err != nil {
		return Update{}, err
	}
	u := Update{Identity: id, UpdateType: ut, Version: v}
	rid := f["ruleid"]
	if rid == "" {
		rid = f["id"]
	}
	if rid == "" {
		u.RuleID, u.DerivedID = DerivedRuleID(id, ut), true
	} else if u.RuleID, err = device.CanonicalRuleID(rid); err != nil {
		return Update{}, err
	}
	for _, lf := range iu.files {
		if lf.name == "" || strings.ContainsAny(lf.name, `/\`) || lf.name == "." || lf.name == ".." {
			return Update{}, fmt.Errorf("malformed file name %q", lf.name)
		}
	}
	return u, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// toUTF8 converts UTF-16 with a byte-order mark to UTF-8 and drops a UTF-8
// byte-order mark.
func toUTF8(b []byte) ([]byte, error) {
	var big bool
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return b[3:], nil
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
	case bytes.HasPrefix(b, []byte{0xFE, 0xFF}):
		big = true
	default:
		return b, nil
	}
	b = b[2:]
	if len(b)%2 != 0 {
		return nil, errors.New("malformed UTF-16: odd length")
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		if big {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return []byte(string(utf16.Decode(u))), nil
}
