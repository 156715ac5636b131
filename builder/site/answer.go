package site

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
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

// ParseAnswer reads an answer.
func ParseAnswer(b []byte) (*ParsedAnswer, error) {
	var a ParsedAnswer
	if err := xml.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("site: answer: %w", err)
	}
	return &a, nil
}
