package policy

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// This file is the fallback editor: it applies an edit to the yaml.v3 node
// tree and encodes the whole document again. yaml.v3 keeps comments and key
// order but not the original indentation or quoting, so Doc uses it only
// when splicing text fails.

// editKind says what an edit does.
type editKind int

const (
	setField    editKind = iota // set key of item index of list to value
	deleteField                 // delete key of item index of list
	appendItem                  // append an item with fields to list
	deleteItem                  // delete item index of list
)

// An edit is one change to a list item of a policy document.
type edit struct {
	kind   editKind
	list   string // top-level key: "rules" or "test_devices"
	index  int    // item, for all but appendItem
	key    string // for setField and deleteField
	value  string // for setField
	plain  bool   // for setField: value is a YAML boolean, written unquoted
	fields []kv   // for appendItem, in order
}

type kv struct{ key, value string }

// keyOrder returns the order in which the keys of an item of list are
// written; a new key goes after the last present key that precedes it.
func keyOrder(list string) []string {
	if list == "rules" {
		return ruleKeys()
	}
	return deviceKeys()
}

// mappingKeys returns the keys of a mapping in file order.
func mappingKeys(m *yaml.Node) []string {
	var keys []string
	for i := 0; i+1 < len(m.Content); i += 2 {
		keys = append(keys, m.Content[i].Value)
	}
	return keys
}

// insertAnchor returns the index in keys of the key after which a new key
// goes: a version key goes after the version keys present (the last of
// them in the file), anything else after the last key present that
// precedes it in order. It returns -1 if there is no such key.
func insertAnchor(keys []string, key string, order []string) int {
	isVersion := func(k string) bool { return k == "approved" || k == "pending" || k == "restore" }
	at := -1
	if isVersion(key) {
		for i, k := range keys {
			if isVersion(k) && k != key {
				at = i
			}
		}
		if at >= 0 {
			return at
		}
	}
	rank := indexOf(order, key)
	for i, k := range keys {
		if r := indexOf(order, k); r >= 0 && r < rank {
			at = i
		}
	}
	return at
}

// reencodeEdits applies edits to the node tree of src and encodes it.
func reencodeEdits(src []byte, edits []edit) ([]byte, error) {
	doc, extra, err := decode(src)
	if err != nil || doc == nil || extra != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("not a single YAML document holding a mapping")
	}
	for _, e := range edits {
		if err := treeEdit(doc.Content[0], e); err != nil {
			return nil, err
		}
	}
	return encode(doc)
}

func encode(doc *yaml.Node) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("yaml: internal error: %v", r)
		}
	}()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// valueNode is the node of a setField edit's value.
func valueNode(e edit) *yaml.Node {
	if e.plain {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: e.value}
	}
	return strNode(e.value)
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func treeEdit(root *yaml.Node, e edit) error {
	var key, seq *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == e.list {
			key, seq = root.Content[i], root.Content[i+1]
			break
		}
	}
	if e.kind == appendItem {
		item := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range e.fields {
			item.Content = append(item.Content, strNode(f.key), strNode(f.value))
		}
		switch {
		case key == nil:
			root.Content = append(root.Content, strNode(e.list),
				&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item}})
		case isNull(seq):
			*seq = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{item},
				HeadComment: seq.HeadComment, LineComment: seq.LineComment, FootComment: seq.FootComment}
		case seq.Kind == yaml.SequenceNode:
			seq.Content = append(seq.Content, item)
		default:
			return fmt.Errorf("%s is not a sequence", e.list)
		}
		return nil
	}
	if seq == nil || seq.Kind != yaml.SequenceNode || e.index >= len(seq.Content) {
		return fmt.Errorf("no %s[%d]", e.list, e.index)
	}
	if e.kind == deleteItem {
		seq.Content = slices.Delete(seq.Content, e.index, e.index+1)
		return nil
	}
	m := seq.Content[e.index]
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("%s[%d] is not a mapping", e.list, e.index)
	}
	at := -1
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == e.key {
			at = i
			break
		}
	}
	switch {
	case e.kind == deleteField && at >= 0:
		m.Content = slices.Delete(m.Content, at, at+2)
	case e.kind == deleteField:
		return fmt.Errorf("no key %q", e.key)
	case at >= 0:
		old := m.Content[at+1]
		v := valueNode(e)
		v.Style = old.Style & (yaml.SingleQuotedStyle | yaml.DoubleQuotedStyle)
		v.HeadComment, v.LineComment, v.FootComment = old.HeadComment, old.LineComment, old.FootComment
		m.Content[at+1] = v
	default:
		insert := 2 * (insertAnchor(mappingKeys(m), e.key, keyOrder(e.list)) + 1)
		m.Content = slices.Insert(m.Content, insert, strNode(e.key), valueNode(e))
	}
	return nil
}
