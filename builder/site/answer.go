package site

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html"
	"net/url"
	"strconv"
	"strings"
)

// Update is one update offered in an answer.
type Update struct {
	UpdateType    string
	Version       string
	InternalURL   string
	ExternalURL   string
	SignatureFile string
	Files         []UpdateFile // sorted by name
}

// UpdateFile is a file of an offered update.
type UpdateFile struct {
	Name   string `xml:"Name"`
	Size   int64  `xml:"Size"`
	SHA256 string `xml:"SHA256"`
}

const (
	answerHead = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<DeviceUpdateResponse>\n"
	answerTail = "</DeviceUpdateResponse>\n"
	updateOpen = "  <Update>\n"
)

// NoUpdateAnswer is the answer for a device with nothing to download.
func NoUpdateAnswer() []byte {
	return []byte(answerHead + "  <Status>downloads=0</Status>\n" + answerTail)
}

// RenderAnswer returns the bytes of an answer offering updates, exactly as
// the responder sends them (docs/PROTOCOL.md).
func RenderAnswer(updates []Update) []byte {
	if len(updates) == 0 {
		return NoUpdateAnswer()
	}
	var b bytes.Buffer
	b.WriteString(answerHead)
	fmt.Fprintf(&b, "  <Status>downloads=%d</Status>\n", len(updates))
	for _, u := range updates {
		b.WriteString(updateOpen)
		elem(&b, "UpdateType", u.UpdateType)
		elem(&b, "Version", u.Version)
		elem(&b, "InternalURL", u.InternalURL)
		elem(&b, "ExternalURL", u.ExternalURL)
		elem(&b, "SignatureFile", u.SignatureFile)
		for _, f := range u.Files {
			b.WriteString("    <File><Name>")
			xml.EscapeText(&b, []byte(f.Name))
			fmt.Fprintf(&b, "</Name><Size>%d</Size><SHA256>%s</SHA256></File>\n", f.Size, f.SHA256)
		}
		b.WriteString("  </Update>\n")
	}
	b.WriteString(answerTail)
	return b.Bytes()
}

func elem(b *bytes.Buffer, name, value string) {
	fmt.Fprintf(b, "    <%s>", name)
	xml.EscapeText(b, []byte(value))
	fmt.Fprintf(b, "</%s>\n", name)
}

// MergeAnswers combines the answers for several modules of one device into
// one: the updates of each, in order. Answers offering nothing add
// nothing. It works on the bytes RenderAnswer writes and fails on others.
func MergeAnswers(answers [][]byte) ([]byte, error) {
	var updates [][]byte
	for _, a := range answers {
		s := string(a)
		if !strings.HasPrefix(s, answerHead) || !strings.HasSuffix(s, answerTail) {
			return nil, fmt.Errorf("site: answer not in the expected form")
		}
		body := s[len(answerHead) : len(s)-len(answerTail)]
		_, rest, ok := strings.Cut(body, "</Status>\n")
		if !ok {
			return nil, fmt.Errorf("site: answer without a status")
		}
		for rest != "" {
			end := strings.Index(rest, "  </Update>\n")
			if !strings.HasPrefix(rest, updateOpen) || end < 0 {
				return nil, fmt.Errorf("site: malformed update in answer")
			}
			updates = append(updates, []byte(rest[:end+len("  </Update>\n")]))
			rest = rest[end+len("  </Update>\n"):]
		}
	}
	if len(updates) == 0 {
		return NoUpdateAnswer(), nil
	}
	var b bytes.Buffer
	b.WriteString(answerHead)
	fmt.Fprintf(&b, "  <Status>downloads=%d</Status>\n", len(updates))
	for _, u := range updates {
		b.Write(u)
	}
	b.WriteString(answerTail)
	return b.Bytes(), nil
}

// FilesURL returns the URL of an update's folder under a service base URL
// and a files prefix (DeviceUpdateFiles_Int or _Ext); each path segment
// is escaped.
func FilesURL(base, prefix, dir string) string {
	segs := strings.Split(dir, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.TrimRight(base, "/") + "/" + prefix + "/" + strings.Join(segs, "/")
}

// The URL path prefixes of update files, inside and outside.
const (
	InternalFilesPrefix = "DeviceUpdateFiles_Int"
	ExternalFilesPrefix = "DeviceUpdateFiles_Ext"
)

// ParsedAnswer is an answer read back from its bytes: what a device, or a
// check of the tree, sees in it.
type ParsedAnswer struct {
	Status  string         `xml:"Status"`
	Updates []ParsedUpdate `xml:"Update"`
}

// ParsedUpdate is an update of a ParsedAnswer.
type ParsedUpdate struct {
	UpdateType    string       `xml:"UpdateType"`
	Version       string       `xml:"Version"`
	InternalURL   string       `xml:"InternalURL"`
	ExternalURL   string       `xml:"ExternalURL"`
	SignatureFile string       `xml:"SignatureFile"`
	Files         []UpdateFile `xml:"File"`
}

// ParseAnswer reads an answer. Answers this package rendered are read by
// a direct scan of their elements (a build reads back every answer it
// makes); anything else goes through encoding/xml.
func ParseAnswer(b []byte) (*ParsedAnswer, error) {
	if a, ok := scanAnswer(string(b)); ok {
		return a, nil
	}
	var a ParsedAnswer
	if err := xml.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("site: answer: %w", err)
	}
	return &a, nil
}

// scanAnswer reads an answer in exactly the layout RenderAnswer writes,
// reporting false for anything else.
func scanAnswer(s string) (*ParsedAnswer, bool) {
	body, ok := strings.CutPrefix(s, answerHead)
	if !ok {
		return nil, false
	}
	if body, ok = strings.CutSuffix(body, answerTail); !ok {
		return nil, false
	}
	a := &ParsedAnswer{}
	var line string
	next := func() bool {
		var ok bool
		line, body, ok = strings.Cut(body, "\n")
		return ok
	}
	// value returns the text of <name>…</name> at the start of line.
	value := func(l, name string) (string, string, bool) {
		rest, ok := strings.CutPrefix(l, "<"+name+">")
		if !ok {
			return "", l, false
		}
		v, after, ok := strings.Cut(rest, "</"+name+">")
		if !ok || strings.ContainsAny(v, "<>") {
			return "", l, false
		}
		return html.UnescapeString(v), after, true
	}
	if !next() {
		return nil, false
	}
	if a.Status, _, ok = value(strings.TrimSpace(line), "Status"); !ok {
		return nil, false
	}
	for body != "" {
		if !next() || line != "  <Update>" {
			return nil, false
		}
		var u ParsedUpdate
		for _, f := range [...]struct {
			name string
			dst  *string
		}{{"UpdateType", &u.UpdateType}, {"Version", &u.Version}, {"InternalURL", &u.InternalURL}, {"ExternalURL", &u.ExternalURL}, {"SignatureFile", &u.SignatureFile}} {
			if !next() {
				return nil, false
			}
			if *f.dst, _, ok = value(strings.TrimSpace(line), f.name); !ok {
				return nil, false
			}
		}
		for {
			if !next() {
				return nil, false
			}
			if line == "  </Update>" {
				break
			}
			l, ok := strings.CutPrefix(strings.TrimSpace(line), "<File>")
			if !ok {
				return nil, false
			}
			var f UpdateFile
			var size string
			if f.Name, l, ok = value(l, "Name"); !ok {
				return nil, false
			}
			if size, l, ok = value(l, "Size"); !ok {
				return nil, false
			}
			if f.SHA256, l, ok = value(l, "SHA256"); !ok || l != "</File>" {
				return nil, false
			}
			n, err := strconv.ParseInt(size, 10, 64)
			if err != nil {
				return nil, false
			}
			f.Size = n
			u.Files = append(u.Files, f)
		}
		a.Updates = append(a.Updates, u)
	}
	return a, true
}
