package policy

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// This file edits a policy as text: an edit replaces, inserts or deletes
// whole lines (or one value within a line), found through the positions of
// a freshly decoded node tree, so every other byte of the file survives.
// It handles the layouts people write: block mappings and sequences, any
// indentation, comments anywhere, quoted values, CRLF line breaks. For
// anything else it gives up with an error and Doc falls back to
// re-encoding the node tree. Doc also verifies every result by parsing it,
// so a misjudged layout costs formatting, never correctness.

// breakLen returns the length of the line break at b[i], or 0. YAML (as
// yaml.v3 implements it) breaks lines at CR LF, CR, LF, NEL, LS and PS, and
// positions count lines that way, so the editor must too.
func breakLen(b []byte, i int) int {
	switch {
	case b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n':
		return 2
	case b[i] == '\r' || b[i] == '\n':
		return 1
	case b[i] == 0xc2 && i+1 < len(b) && b[i+1] == 0x85:
		return 2
	case b[i] == 0xe2 && i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xa8 || b[i+2] == 0xa9):
		return 3
	}
	return 0
}

// splitLines splits src after each line break.
func splitLines(src []byte) []string {
	var lines []string
	start := 0
	for i := 0; i < len(src); {
		if n := breakLen(src, i); n > 0 {
			i += n
			lines = append(lines, string(src[start:i]))
			start = i
			continue
		}
		i++
	}
	if start < len(src) {
		lines = append(lines, string(src[start:]))
	}
	return lines
}

// lineCount returns the number of the last line of data, as YAML counts.
func lineCount(data []byte) int {
	n := 1
	for i := 0; i < len(data); {
		if b := breakLen(data, i); b > 0 {
			n++
			i += b
			continue
		}
		i++
	}
	return n
}

// lineCol returns the line and character column of byte offset off.
func lineCol(data []byte, off int) (line, col int) {
	line, start := 1, 0
	for i := 0; i < off && i < len(data); {
		if b := breakLen(data, i); b > 0 {
			line++
			i += b
			start = i
			continue
		}
		i++
	}
	return line, utf8.RuneCount(data[start:min(off, len(data))]) + 1
}

// text is a policy file as lines, numbered from 1 like node positions.
type text struct {
	lines []string // each with its line break, if any
	eol   string   // line break for new lines
}

func newText(src []byte) *text {
	t := &text{lines: splitLines(src), eol: "\n"}
	for _, l := range t.lines {
		if strings.HasSuffix(l, "\r\n") {
			t.eol = "\r\n"
			break
		}
		if strings.HasSuffix(l, "\n") {
			break
		}
		if strings.HasSuffix(l, "\r") {
			t.eol = "\r"
			break
		}
	}
	return t
}

func (t *text) bytes() []byte {
	return []byte(strings.Join(t.lines, ""))
}

// content returns line n without its line break.
func (t *text) content(n int) string {
	if n < 1 || n > len(t.lines) {
		return ""
	}
	l := t.lines[n-1]
	return l[:len(l)-breakSuffixLen(l)]
}

func breakSuffixLen(l string) int {
	for i := max(len(l)-3, 0); i < len(l); i++ {
		if n := breakLen([]byte(l), i); n > 0 && i+n == len(l) {
			return n
		}
	}
	return 0
}

// brk returns the line break of line n.
func (t *text) brk(n int) string {
	l := t.lines[n-1]
	return l[len(l)-breakSuffixLen(l):]
}

// set replaces the content of line n, keeping its line break.
func (t *text) set(n int, content string) {
	t.lines[n-1] = content + t.brk(n)
}

func (t *text) blank(n int) bool {
	return strings.TrimSpace(t.content(n)) == ""
}

func (t *text) comment(n int) bool {
	return strings.HasPrefix(strings.TrimLeft(t.content(n), " \t"), "#")
}

// indent returns the number of leading spaces of line n.
func (t *text) indent(n int) int {
	c := t.content(n)
	return len(c) - len(strings.TrimLeft(c, " "))
}

// offset converts a character column of line n to a byte offset in its
// content. yaml.v3 does not count a byte order mark.
func (t *text) offset(n, col int) (int, bool) {
	c := t.content(n)
	off := 0
	if n == 1 {
		off = len(c) - len(strings.TrimPrefix(c, "\uFEFF"))
	}
	for i := 1; i < col; i++ {
		if off >= len(c) {
			return 0, false
		}
		_, size := utf8.DecodeRuneInString(c[off:])
		off += size
	}
	return off, true
}

// replace replaces lines from..to (inclusive; to = from-1 inserts before
// from) with repl, each of which must end in a line break.
func (t *text) replace(from, to int, repl ...string) {
	if from > len(t.lines) && len(t.lines) > 0 {
		// Appending: the old last line needs a break first.
		last := &t.lines[len(t.lines)-1]
		if breakSuffixLen(*last) == 0 {
			*last += t.eol
		}
	}
	lines := make([]string, 0, len(t.lines)+len(repl))
	lines = append(lines, t.lines[:from-1]...)
	lines = append(lines, repl...)
	lines = append(lines, t.lines[min(to, len(t.lines)):]...)
	t.lines = lines
}

// lastContent returns the last line in from..before-1 that is neither
// blank nor a comment, or from.
func (t *text) lastContent(from, before int) int {
	for n := min(before-1, len(t.lines)); n > from; n-- {
		if !t.blank(n) && !t.comment(n) {
			return n
		}
	}
	return from
}

// docEnd returns the line of a document end marker, or one past the last
// line.
func (t *text) docEnd(after int) int {
	for n := after + 1; n <= len(t.lines); n++ {
		c := t.content(n)
		if c == "..." || strings.HasPrefix(c, "... ") || strings.HasPrefix(c, "...\t") {
			return n
		}
	}
	return len(t.lines) + 1
}

// scalarSpan returns the byte range of a single-line scalar in its line.
func (t *text) scalarSpan(v *yaml.Node) (start, end int, ok bool) {
	if v.Kind != yaml.ScalarNode {
		return 0, 0, false
	}
	c := t.content(v.Line)
	start, ok = t.offset(v.Line, v.Column)
	if !ok {
		return 0, 0, false
	}
	switch v.Style {
	case yaml.DoubleQuotedStyle:
		if start >= len(c) || c[start] != '"' {
			return 0, 0, false
		}
		for i := start + 1; i < len(c); i++ {
			switch c[i] {
			case '\\':
				i++
			case '"':
				return start, i + 1, true
			}
		}
	case yaml.SingleQuotedStyle:
		if start >= len(c) || c[start] != '\'' {
			return 0, 0, false
		}
		for i := start + 1; i < len(c); i++ {
			if c[i] == '\'' {
				if i+1 < len(c) && c[i+1] == '\'' {
					i++
					continue
				}
				return start, i + 1, true
			}
		}
	case 0:
		rest := c[start:]
		if i := commentStart(rest); i >= 0 {
			rest = rest[:i]
		}
		rest = strings.TrimRight(rest, " \t")
		if rest != v.Value {
			return 0, 0, false
		}
		return start, start + len(rest), true
	}
	return 0, 0, false
}

// commentStart returns the index of a comment in s, which holds no
// quoted text, or -1.
func commentStart(s string) int {
	for i := range len(s) {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// formatScalar writes s as a YAML scalar, keeping the quoting style of the
// value it replaces where it can.
func formatScalar(s string, style yaml.Style) string {
	printable := !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r >= 0x80 })
	switch {
	case style == yaml.SingleQuotedStyle && printable:
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	case style == yaml.DoubleQuotedStyle && printable:
		return doubleQuote(s)
	}
	out, err := yaml.Marshal(s)
	if err == nil {
		if o := strings.TrimSuffix(string(out), "\n"); !strings.ContainsAny(o, "\r\n") && !strings.HasPrefix(o, "|") && !strings.HasPrefix(o, ">") {
			return o
		}
	}
	return doubleQuote(s)
}

func doubleQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// splicer applies one edit to the text of a policy.
type splicer struct {
	t    *text
	root *yaml.Node // top-level mapping
}

func spliceEdits(src []byte, edits []edit) ([]byte, error) {
	for _, e := range edits {
		doc, extra, err := decode(src)
		if err != nil || doc == nil || extra != nil || len(doc.Content) != 1 {
			return nil, errors.New("not a single YAML document")
		}
		s := &splicer{t: newText(src), root: doc.Content[0]}
		if s.root.Kind != yaml.MappingNode || s.root.Style&yaml.FlowStyle != 0 {
			return nil, errors.New("top level is not a block mapping")
		}
		if err := s.apply(e); err != nil {
			return nil, err
		}
		src = s.t.bytes()
	}
	return src, nil
}

func (s *splicer) apply(e edit) error {
	key, seq, next := s.list(e.list)
	if e.kind == appendItem {
		return s.appendItem(e.list, key, seq, next, e.fields)
	}
	if seq == nil || seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || e.index >= len(seq.Content) {
		return fmt.Errorf("%s is not a block sequence", e.list)
	}
	bound := next
	if e.index+1 < len(seq.Content) {
		n, ok := s.itemStart(seq, e.index+1)
		if !ok {
			return errors.New("cannot find sequence item")
		}
		bound = n
	}
	item := seq.Content[e.index]
	if e.kind == deleteItem {
		return s.deleteItem(seq, e.index, bound)
	}
	if item.Kind != yaml.MappingNode || item.Style&yaml.FlowStyle != 0 {
		return fmt.Errorf("%s[%d] is not a block mapping", e.list, e.index)
	}
	switch e.kind {
	case setField:
		return s.setField(item, bound, e.key, e.value, e.plain, keyOrder(e.list))
	case deleteField:
		return s.deleteField(item, bound, e.key)
	}
	return errors.New("unknown edit")
}

// list finds a top-level sequence by key, and the line where whatever
// follows it starts.
func (s *splicer) list(name string) (key, seq *yaml.Node, next int) {
	c := s.root.Content
	for i := 0; i+1 < len(c); i += 2 {
		if c[i].Value == name && key == nil {
			key, seq = c[i], c[i+1]
			if i+2 < len(c) {
				return key, seq, c[i+2].Line
			}
		}
	}
	return key, seq, s.t.docEnd(s.root.Line)
}

// itemStart returns the line of the "-" of item i of a block sequence,
// which may precede the line of the item's first key.
func (s *splicer) itemStart(seq *yaml.Node, i int) (int, bool) {
	item := seq.Content[i]
	low := seq.Line
	if i > 0 {
		low = seq.Content[i-1].Line
	}
	for n := item.Line; n >= low && n >= 1; n-- {
		c := s.t.content(n)
		off, ok := s.t.offset(n, seq.Column)
		if !ok || off >= len(c) || c[off] != '-' {
			continue
		}
		if strings.TrimLeft(c[:off], " ") == "" && (off+1 == len(c) || c[off+1] == ' ') {
			return n, true
		}
	}
	return 0, false
}

// itemEnd returns the last line of the sequence item whose "-" is on line
// first, given that the next item or whatever follows the sequence starts
// on line bound: its last content line, and the comment lines right after
// it that are indented into the item (its foot comment).
func (s *splicer) itemEnd(seq *yaml.Node, first, bound int) int {
	last := s.t.lastContent(first, bound)
	for last+1 < bound && last+1 <= len(s.t.lines) && s.t.comment(last+1) && s.t.indent(last+1) > seq.Column-1 {
		last++
	}
	return last
}

// entry finds key in a mapping and returns the key and value nodes, the
// index of the pair and the last line of the entry.
func (s *splicer) entry(m *yaml.Node, bound int, key string) (k, v *yaml.Node, i, last int) {
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value != key {
			continue
		}
		next := bound
		if j+2 < len(m.Content) {
			next = m.Content[j+2].Line
		}
		return m.Content[j], m.Content[j+1], j / 2, s.t.lastContent(m.Content[j].Line, next)
	}
	return nil, nil, -1, 0
}

func (s *splicer) setField(m *yaml.Node, bound int, key, value string, plain bool, order []string) error {
	format := func(style yaml.Style) string {
		if plain {
			return value
		}
		return formatScalar(value, style)
	}
	if k, v, _, _ := s.entry(m, bound, key); k != nil {
		if v.Line != k.Line {
			return fmt.Errorf("value of %q is not on its key's line", key)
		}
		start, end, ok := s.t.scalarSpan(v)
		if !ok {
			return fmt.Errorf("value of %q is not a one-line scalar", key)
		}
		c := s.t.content(v.Line)
		repl := format(v.Style)
		if start > 0 && c[start-1] == ':' {
			repl = " " + repl
		}
		s.t.set(v.Line, c[:start]+repl+c[end:])
		return nil
	}

	at := insertAnchor(mappingKeys(m), key, order)
	if at < 0 {
		return fmt.Errorf("no key to insert %q after", key)
	}
	after := m.Content[2*at].Value
	k, _, _, last := s.entry(m, bound, after)
	line := strings.Repeat(" ", k.Column-1) + key + ": " + format(0) + s.t.eol
	s.t.replace(last+1, last, line)
	return nil
}

func (s *splicer) deleteField(m *yaml.Node, bound int, key string) error {
	k, _, i, last := s.entry(m, bound, key)
	if k == nil {
		return fmt.Errorf("no key %q", key)
	}
	c := s.t.content(k.Line)
	off, ok := s.t.offset(k.Line, k.Column)
	if !ok {
		return errors.New("bad key position")
	}
	if strings.Trim(c[:off], " -") != "" {
		return errors.New("key does not start its line")
	}
	if strings.TrimLeft(c[:off], " ") != "" {
		// The key follows the item's "-": move the next key up to
		// take its place, and the comments above that key above the
		// "-". What lies between is the deleted entry.
		if 2*(i+1) >= len(m.Content) {
			return errors.New("cannot delete the only key of an item")
		}
		k2 := m.Content[2*(i+1)]
		off2, ok := s.t.offset(k2.Line, k2.Column)
		if !ok || k2.Column != k.Column {
			return errors.New("bad key position")
		}
		var lines []string
		for n := last + 1; n < k2.Line; n++ {
			if s.t.comment(n) {
				lines = append(lines, s.t.lines[n-1])
			}
		}
		lines = append(lines, c[:off]+s.t.content(k2.Line)[off2:]+s.t.brk(k2.Line))
		s.t.replace(k.Line, k2.Line, lines...)
		return nil
	}
	first := k.Line
	for first > 1 && s.t.comment(first-1) && s.t.indent(first-1) == k.Column-1 {
		first--
	}
	s.t.replace(first, last)
	return nil
}

func (s *splicer) deleteItem(seq *yaml.Node, i, bound int) error {
	first, ok := s.itemStart(seq, i)
	if !ok {
		return errors.New("cannot find sequence item")
	}
	last := s.itemEnd(seq, first, bound)
	for first > 1 && s.t.comment(first-1) && s.t.indent(first-1) == seq.Column-1 {
		first--
	}
	// Where items are separated by blank lines, keep one; and do not
	// leave a blank line between the list's key and its new first item.
	if first > 1 && (s.t.blank(first-1) || i == 0) {
		switch {
		case last+1 <= len(s.t.lines) && s.t.blank(last+1):
			for last+1 <= len(s.t.lines) && s.t.blank(last+1) {
				last++
			}
		case last == len(s.t.lines):
			for first > 1 && s.t.blank(first-1) {
				first--
			}
		}
	}
	s.t.replace(first, last)
	return nil
}

func (s *splicer) appendItem(name string, key, seq *yaml.Node, next int, fields []kv) error {
	dashOff, keyOff := s.listStyle()
	switch {
	case key == nil:
		// No such list yet: add it at the end of the document.
		col := s.root.Column
		end := s.t.docEnd(s.root.Line)
		lines := []string{strings.Repeat(" ", col-1) + name + ":" + s.t.eol}
		lines = append(lines, s.itemLines(col+dashOff, col+dashOff+keyOff, fields)...)
		s.t.replace(end, end-1, lines...)
		return nil

	case seq.Kind == yaml.SequenceNode && seq.Style&yaml.FlowStyle == 0 && len(seq.Content) > 0:
		i := len(seq.Content) - 1
		first, ok := s.itemStart(seq, i)
		if !ok {
			return errors.New("cannot find sequence item")
		}
		keyCol := seq.Column + keyOff
		if item := seq.Content[i]; item.Kind == yaml.MappingNode && item.Style&yaml.FlowStyle == 0 {
			keyCol = item.Column
		}
		if keyCol <= seq.Column {
			return errors.New("odd sequence layout")
		}
		last := s.itemEnd(seq, first, next)
		lines := s.itemLines(seq.Column, keyCol, fields)
		if i > 0 {
			// Separate the new item by a blank line if the last one is.
			above := first - 1
			for above > 1 && s.t.comment(above) && s.t.indent(above) == seq.Column-1 {
				above--
			}
			if s.t.blank(above) {
				lines = append([]string{s.t.eol}, lines...)
			}
		}
		s.t.replace(last+1, last, lines...)
		return nil

	case (isNull(seq) || seq.Kind == yaml.SequenceNode && len(seq.Content) == 0) && seq.Line == key.Line && key.Style == 0:
		// An empty list: drop the null or [] and add the item below.
		c := s.t.content(key.Line)
		off, ok := s.t.offset(key.Line, key.Column)
		if !ok || !strings.HasPrefix(c[off:], key.Value) {
			return errors.New("bad key position")
		}
		colon := off + len(key.Value)
		for colon < len(c) && c[colon] == ' ' {
			colon++
		}
		if colon >= len(c) || c[colon] != ':' {
			return errors.New("bad key position")
		}
		rest := c[colon+1:]
		value, comment := rest, ""
		if i := commentStart(rest); i >= 0 {
			value, comment = rest[:i], rest[i:]
		}
		switch v := strings.TrimSpace(value); {
		case v == "":
		case v == "~", v == "null", v == "Null", v == "NULL",
			strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") && strings.TrimSpace(v[1:len(v)-1]) == "":
			if comment != "" {
				comment = " " + comment
			}
			s.t.set(key.Line, c[:colon+1]+comment)
		default:
			return errors.New("odd empty list")
		}
		s.t.replace(key.Line+1, key.Line, s.itemLines(key.Column+dashOff, key.Column+dashOff+keyOff, fields)...)
		return nil
	}
	return fmt.Errorf("%s is not a block sequence", name)
}

// listStyle returns the indentation of the "-" of list items relative to
// the list's key, and of the item's keys relative to the "-", copied from
// a list of mappings in the file if there is one.
func (s *splicer) listStyle() (dashOff, keyOff int) {
	c := s.root.Content
	for i := 0; i+1 < len(c); i += 2 {
		seq := c[i+1]
		if seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || len(seq.Content) == 0 {
			continue
		}
		item := seq.Content[0]
		if item.Kind != yaml.MappingNode || item.Style&yaml.FlowStyle != 0 || item.Column <= seq.Column || seq.Column < c[i].Column {
			continue
		}
		return seq.Column - c[i].Column, item.Column - seq.Column
	}
	return 2, 2
}

// itemLines formats a new list item with its "-" at column dashCol and its
// keys at keyCol.
func (s *splicer) itemLines(dashCol, keyCol int, fields []kv) []string {
	var lines []string
	for i, f := range fields {
		prefix := strings.Repeat(" ", keyCol-1)
		if i == 0 {
			prefix = strings.Repeat(" ", dashCol-1) + "-" + strings.Repeat(" ", keyCol-dashCol-1)
		}
		lines = append(lines, prefix+f.key+": "+formatScalar(f.value, 0)+s.t.eol)
	}
	return lines
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
