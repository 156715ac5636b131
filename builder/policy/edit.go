package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"reflect"
	"slices"
	"strings"
)

// Errors returned by [Doc] operations, wrapped with the rule concerned.
var (
	ErrNoRule         = errors.New("no such rule")
	ErrNothingPending = errors.New("nothing pending")
	ErrNoRestore      = errors.New("no restore version")
)

// A Doc is a policy file open for editing: its source text and the
// [Policy] it parses to. Operations change both together, and change the
// text the way a careful person with an editor would:
//
//   - a changed version is rewritten in place, keeping its quoting and its
//     line comment;
//   - a new version key goes on its own line after the version keys the
//     rule already has (or after update_type if it has none);
//   - a removed key or list item takes its line comment and the comment
//     lines directly above it at the same indentation (its head comment)
//     with it; when the key removed is the one on the item's "-" line, the
//     next key moves up to that line and comments above it move above the
//     "-";
//   - new rules and test devices are appended to their list, indented like
//     the items already there, separated by a blank line if they are.
//
// Every other line is kept byte for byte, line breaks (LF or CRLF)
// included.
//
// Each operation returns a one-line description of what it changed, for
// the administrator. An operation that fails leaves the Doc unchanged.
//
// A Doc is not safe for concurrent use.
type Doc struct {
	name      string
	src       []byte
	pol       *Policy
	reencoded bool // the last edit had to re-encode the document
}

// Load reads and parses the policy file at path; see [ParseDoc].
func Load(path string) (*Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, policySizeLimit+1))
	if err != nil {
		return nil, err
	}
	return ParseDoc(path, data)
}

// ParseDoc parses a policy for editing. name is used in error messages. A
// policy with problems cannot be edited: the error is the [*Errors] of
// [Parse].
func ParseDoc(name string, data []byte) (*Doc, error) {
	pol, _, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	return &Doc{name: name, src: bytes.Clone(data), pol: pol}, nil
}

// Policy returns a copy of the policy as it stands after the edits so far.
func (d *Doc) Policy() *Policy {
	return d.pol.clone()
}

// Bytes returns the edited file. Its error is always nil today; it is
// there so that a future Doc may produce output lazily.
func (d *Doc) Bytes() ([]byte, error) {
	return bytes.Clone(d.src), nil
}

// apply makes the edits to the text and checks that the result parses to
// want. It returns a note to add to the description if the document had to
// be re-encoded.
func (d *Doc) apply(edits []edit, want *Policy) (string, error) {
	try := func(out []byte, err error) bool {
		if err != nil {
			return false
		}
		got, _, err := parse(d.name, out)
		if err != nil || !samePolicy(got, want) {
			return false
		}
		d.src, d.pol = out, got
		return true
	}
	if try(spliceEdits(d.src, edits)) {
		d.reencoded = false
		return "", nil
	}
	if try(reencodeEdits(d.src, edits)) {
		d.reencoded = true
		return fmt.Sprintf(" (the layout of %s was too unusual to edit in place, so it was re-indented)", d.name), nil
	}
	return "", fmt.Errorf("%s: cannot make this edit to the file; please make it by hand", d.name)
}

func (p *Policy) clone() *Policy {
	q := *p
	q.TopologySites = slices.Clone(p.TopologySites)
	q.Network.Inside = slices.Clone(p.Network.Inside)
	q.Network.TrustedProxies = slices.Clone(p.Network.TrustedProxies)
	q.TestDevices = slices.Clone(p.TestDevices)
	q.Rules = slices.Clone(p.Rules)
	for i := range q.Rules {
		r := &q.Rules[i]
		r.Approved, r.Pending, r.Restore = cloneVersion(r.Approved), cloneVersion(r.Pending), cloneVersion(r.Restore)
	}
	return &q
}

func cloneVersion(v *Version) *Version {
	if v == nil {
		return nil
	}
	w := *v
	return &w
}

// samePolicy compares policies, ignoring positions and the difference
// between empty and nil lists.
func samePolicy(a, b *Policy) bool {
	norm := func(p *Policy) *Policy {
		q := p.clone()
		q.file = ""
		for i := range q.Rules {
			q.Rules[i].pos = rulePos{}
		}
		if len(q.TopologySites) == 0 {
			q.TopologySites = nil
		}
		if len(q.Network.Inside) == 0 {
			q.Network.Inside = nil
		}
		if len(q.Network.TrustedProxies) == 0 {
			q.Network.TrustedProxies = nil
		}
		if len(q.Rules) == 0 {
			q.Rules = nil
		}
		if len(q.TestDevices) == 0 {
			q.TestDevices = nil
		}
		return q
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Select returns the rules matched by any of the selectors, in policy
// order. A selector is a rule id; an unambiguous prefix of one, at least 4
// characters long; or an identity pattern such as
// UCPhone/Polycom/CX600/*/ENU, whose five components are matched against
// the identity's with [path.Match], ignoring case. A selector that matches
// nothing, or a prefix that matches several rules, is an error.
//
// The rules returned are a snapshot: later edits do not change them.
func (d *Doc) Select(selectors ...string) ([]*Rule, error) {
	if len(selectors) == 0 {
		return nil, errors.New("no rule selected")
	}
	rules := d.pol.clone().Rules
	picked := make([]bool, len(rules))
	var errs []error
	for _, sel := range selectors {
		idx, err := selectRules(rules, sel)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, i := range idx {
			picked[i] = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var out []*Rule
	for i := range rules {
		if picked[i] {
			out = append(out, &rules[i])
		}
	}
	return out, nil
}

// idPrefixMin is the shortest id prefix a selector may use: shorter ones
// would too often match by accident.
const idPrefixMin = 4

func selectRules(rules []Rule, sel string) ([]int, error) {
	var idx []int
	if strings.Contains(sel, "/") {
		pats := strings.Split(strings.ToLower(sel), "/")
		if len(pats) != 5 {
			return nil, fmt.Errorf("selector %q: want an id, an id prefix or a DeviceType/Brand/Model/Revision/Locale pattern", sel)
		}
		for _, p := range pats {
			if _, err := path.Match(p, ""); err != nil {
				return nil, fmt.Errorf("selector %q: malformed pattern %q", sel, p)
			}
		}
	next:
		for i, r := range rules {
			for j, part := range r.Identity.Parts() {
				if ok, _ := path.Match(pats[j], strings.ToLower(part)); !ok {
					continue next
				}
			}
			idx = append(idx, i)
		}
		if len(idx) == 0 {
			return nil, fmt.Errorf("selector %q matches no rule", sel)
		}
		return idx, nil
	}

	s := strings.ToLower(sel)
	for i, r := range rules {
		if r.ID == s {
			return []int{i}, nil
		}
	}
	if len(s) < idPrefixMin {
		return nil, fmt.Errorf("selector %q: want an id, an id prefix of at least %d characters or an identity pattern", sel, idPrefixMin)
	}
	var names []string
	for i, r := range rules {
		if strings.HasPrefix(r.ID, s) {
			idx = append(idx, i)
			names = append(names, fmt.Sprintf("%s (%s)", r.ID, r.String()))
		}
	}
	switch len(idx) {
	case 0:
		return nil, fmt.Errorf("selector %q matches no rule", sel)
	case 1:
		return idx, nil
	}
	return nil, fmt.Errorf("selector %q is ambiguous: it matches %s", sel, strings.Join(names, ", "))
}

// rule finds a rule by id.
func (d *Doc) rule(id string) (int, Rule, error) {
	canon, err := CanonicalID(id)
	if err != nil {
		return 0, Rule{}, err
	}
	for i, r := range d.pol.Rules {
		if r.ID == canon {
			return i, r, nil
		}
	}
	return 0, Rule{}, fmt.Errorf("rule %q: %w", id, ErrNoRule)
}

// withRule returns a copy of the policy with rule i replaced.
func (d *Doc) withRule(i int, r Rule) *Policy {
	p := d.pol.clone()
	p.Rules[i] = r
	return p
}

func setVersion(i int, key string, v Version) edit {
	return edit{kind: setField, list: "rules", index: i, key: key, value: v.String()}
}

func deleteVersion(i int, key string) edit {
	return edit{kind: deleteField, list: "rules", index: i, key: key}
}

// Approve approves the pending version of rule id: it becomes the approved
// version, the previously approved version (if any) becomes the restore
// version, and nothing is pending any more.
func (d *Doc) Approve(id string) (string, error) {
	i, r, err := d.rule(id)
	if err != nil {
		return "", err
	}
	if r.Pending == nil {
		return "", fmt.Errorf("rule %q: %w to approve", r.String(), ErrNothingPending)
	}
	edits := []edit{setVersion(i, "approved", *r.Pending)}
	desc := fmt.Sprintf("approved %s: %s (nothing was approved before)", r, r.Pending)
	if r.Approved != nil {
		edits = append(edits, setVersion(i, "restore", *r.Approved))
		desc = fmt.Sprintf("approved %s: %s (was %s, kept as restore)", r, r.Pending, r.Approved)
	}
	edits = append(edits, deleteVersion(i, "pending"))
	n := r
	n.Approved, n.Pending = r.Pending, nil
	if r.Approved != nil {
		n.Restore = r.Approved
	}
	note, err := d.apply(edits, d.withRule(i, n))
	return desc + note, err
}

// Reset drops the pending version of rule id, so that test devices go back
// to the approved version.
func (d *Doc) Reset(id string) (string, error) {
	i, r, err := d.rule(id)
	if err != nil {
		return "", err
	}
	if r.Pending == nil {
		return "", fmt.Errorf("rule %q: %w to reset", r.String(), ErrNothingPending)
	}
	n := r
	n.Pending = nil
	edits := []edit{deleteVersion(i, "pending")}
	desc := fmt.Sprintf("reset %s: dropped pending %s", r, r.Pending)
	if r.Approved != nil && r.Pending.Compare(*r.Approved) > 0 {
		edits, desc = d.sendBack(i, &n, edits, desc, "test devices on "+r.Pending.String()+" go back to "+r.Approved.String())
	}
	note, err := d.apply(edits, d.withRule(i, n))
	return desc + note, err
}

// sendBack adds, where keep_newer is in effect for rule n, the edit that
// sets keep_newer: false on rule i. Reset and Restore move a target down,
// and the devices they take a version from must be sent back, which
// keep_newer would prevent.
func (d *Doc) sendBack(i int, n *Rule, edits []edit, desc, why string) ([]edit, string) {
	if !d.pol.KeepsNewer(n) {
		return edits, desc + "; " + why
	}
	no := false
	n.KeepNewer = &no
	edits = append(edits, edit{kind: setField, list: "rules", index: i, key: "keep_newer", value: "false", plain: true})
	return edits, desc + "; keep_newer: false set: " + why
}

// Restore rolls rule id back: the restore version becomes the approved
// version and the restore version is cleared. If the restored version was
// pending, pending is cleared too. Without a restore version Restore fails,
// unless force is set, in which case it clears the approved version.
func (d *Doc) Restore(id string, force bool) (string, error) {
	i, r, err := d.rule(id)
	if err != nil {
		return "", err
	}
	n := r
	var edits []edit
	var desc string
	switch {
	case r.Restore != nil:
		n.Approved, n.Restore = r.Restore, nil
		edits = append(edits, setVersion(i, "approved", *r.Restore), deleteVersion(i, "restore"))
		was := "nothing was approved before"
		if r.Approved != nil {
			was = "was " + r.Approved.String()
		}
		desc = fmt.Sprintf("restored %s: %s (%s)", r, r.Restore, was)
		if r.Pending != nil && *r.Pending == *r.Restore {
			n.Pending = nil
			edits = append(edits, deleteVersion(i, "pending"))
			desc += "; dropped pending " + r.Pending.String() + ", now approved"
		}
		if r.Approved != nil && r.Restore.Compare(*r.Approved) < 0 {
			edits, desc = d.sendBack(i, &n, edits, desc, "devices on "+r.Approved.String()+" go back to "+r.Restore.String())
		}
	case r.Approved == nil:
		return "", fmt.Errorf("rule %q: %w and nothing approved", r.String(), ErrNoRestore)
	case !force:
		return "", fmt.Errorf("rule %q: %w; use --force to clear the approved version", r.String(), ErrNoRestore)
	default:
		n.Approved = nil
		edits = append(edits, deleteVersion(i, "approved"))
		desc = fmt.Sprintf("cleared approved version of %s (was %s; there was no restore version)", r, r.Approved)
	}
	note, err := d.apply(edits, d.withRule(i, n))
	return desc + note, err
}

// Remove deletes rule id from the policy.
func (d *Doc) Remove(id string) (string, error) {
	i, r, err := d.rule(id)
	if err != nil {
		return "", err
	}
	want := d.pol.clone()
	want.Rules = slices.Delete(want.Rules, i, i+1)
	note, err := d.apply([]edit{{kind: deleteItem, list: "rules", index: i}}, want)
	return fmt.Sprintf("removed %s (id %s)", r, r.ID) + note, err
}

// IDConflict says what an import does when a package names a rule id
// that differs from the id the policy holds for the same identity and
// update type (ids carried over from Lync Server, or a vendor that
// changed them).
type IDConflict int

const (
	// RefuseIDConflict refuses the import, naming the choices.
	RefuseIDConflict IDConflict = iota
	// KeepPolicyID keeps the policy's id; the package's version is
	// recorded on that rule.
	KeepPolicyID
	// AdoptPackageID rewrites the rule's id to the package's.
	AdoptPackageID
)

// ImportOptions refine ImportVersion.
type ImportOptions struct {
	// DerivedID says the package named no rule id: the id given was
	// derived from the identity and update type, and a rule the policy
	// holds for them under another id is that rule.
	DerivedID bool
	// OnIDConflict decides a real conflict of ids.
	OnIDConflict IDConflict
}

// ErrIDConflict is wrapped by the error of an import whose package names
// another id than the policy's for the same rule.
var ErrIDConflict = errors.New("rule id conflict")

// ImportVersion records that an imported package provides version v of
// rule id. A new rule is appended to the rules with v pending. For an
// existing rule, v becomes pending unless it is already approved, pending
// or the restore version, or is older than the approved or pending
// version: importing an old package again never moves a rule backwards
// (roll-backs are what Restore is for). It is an error if the rule exists with another identity or
// update type, or another rule already has this identity and update type
// under another id (see [Doc.ImportVersionWith] for the ways out).
func (d *Doc) ImportVersion(id string, identity Identity, updateType string, v Version) (changed bool, desc string, err error) {
	return d.ImportVersionWith(ImportOptions{}, id, identity, updateType, v)
}

// ImportVersionWith is ImportVersion, with what to do about a rule the
// policy holds under another id.
func (d *Doc) ImportVersionWith(opts ImportOptions, id string, identity Identity, updateType string, v Version) (changed bool, desc string, err error) {
	canon, err := CanonicalID(id)
	if err != nil {
		return false, "", err
	}
	if err := identity.Check(); err != nil {
		return false, "", err
	}
	if problem := componentProblem(updateType); problem != "" {
		return false, "", fmt.Errorf("malformed update type %q: %s", updateType, problem)
	}
	var idNote string
	var idEdits []edit
	for i, r := range d.pol.Rules {
		if r.ID == canon || !strings.EqualFold(r.String(), identity.String()+" "+updateType) {
			continue
		}
		switch {
		case opts.DerivedID:
			idNote = fmt.Sprintf(" (the package names no rule id: kept the policy's %s)", r.ID)
			canon = r.ID
		case opts.OnIDConflict == KeepPolicyID:
			idNote = fmt.Sprintf(" (kept the policy's id %s; the package says %s)", r.ID, canon)
			canon = r.ID
		case opts.OnIDConflict == AdoptPackageID:
			for _, o := range d.pol.Rules {
				if o.ID == canon {
					return false, "", fmt.Errorf("rule %q: cannot adopt the package's id %s: rule %q has it: %w", r.String(), canon, o.String(), ErrIDConflict)
				}
			}
			idNote = fmt.Sprintf(" (id changed from %s to the package's %s)", r.ID, canon)
			idEdits = []edit{{kind: setField, list: "rules", index: i, key: "id", value: canon}}
		default:
			return false, "", fmt.Errorf("rule %q has id %s in the policy but %s in the package: import with --keep-policy-id to keep %s, or with --adopt-package-id to change the rule's id to %s: %w",
				r.String(), r.ID, canon, r.ID, canon, ErrIDConflict)
		}
		break
	}
	if idEdits != nil {
		// Adopt the id first, as its own verified edit, then import as
		// usual under it.
		i := idEdits[0].index
		n := d.pol.Rules[i]
		n.ID = canon
		if _, err := d.apply(idEdits, d.withRule(i, n)); err != nil {
			return false, "", err
		}
		changed = true
	}
	ch, desc, err := d.importVersion(canon, identity, updateType, v)
	if err != nil {
		return false, "", err
	}
	return ch || changed, desc + idNote, nil
}

func (d *Doc) importVersion(canon string, identity Identity, updateType string, v Version) (changed bool, desc string, err error) {
	imported := Rule{ID: canon, Identity: identity, UpdateType: updateType}
	for i, r := range d.pol.Rules {
		sameKind := strings.EqualFold(r.String(), imported.String())
		switch {
		case r.ID == canon && !sameKind:
			return false, "", fmt.Errorf("rule %s is %q in the policy but %q in the package: the package reuses another device's rule id; remove the policy's rule (duws remove %s) or correct the package", canon, r.String(), imported.String(), canon[:8])
		case r.ID != canon && sameKind:
			return false, "", fmt.Errorf("rule %q has id %s in the policy but %s in the package", r.String(), r.ID, canon)
		case r.ID != canon:
			continue
		case r.Approved != nil && *r.Approved == v:
			return false, fmt.Sprintf("%s: %s already approved", r, v), nil
		case r.Pending != nil && *r.Pending == v:
			return false, fmt.Sprintf("%s: %s already pending", r, v), nil
		case r.Restore != nil && *r.Restore == v:
			return false, fmt.Sprintf("%s: %s already kept as the restore version", r, v), nil
		case r.Pending != nil && v.Compare(*r.Pending) < 0:
			return false, fmt.Sprintf("%s: %s is older than the pending %s, so it was not made pending", r, v, r.Pending), nil
		case r.Approved != nil && v.Compare(*r.Approved) < 0:
			return false, fmt.Sprintf("%s: %s is older than the approved %s, so it was not made pending", r, v, r.Approved), nil
		}
		n := r
		n.Pending = &v
		desc := fmt.Sprintf("pending %s: %s", r, v)
		if r.Pending != nil {
			desc += fmt.Sprintf(" (was %s)", r.Pending)
		}
		note, err := d.apply([]edit{setVersion(i, "pending", v)}, d.withRule(i, n))
		if err != nil {
			return false, "", err
		}
		return true, desc + note, nil
	}

	want := d.pol.clone()
	n := imported
	n.Pending = &v
	want.Rules = append(want.Rules, n)
	e := edit{kind: appendItem, list: "rules", fields: []kv{
		{"id", canon},
		{"identity", identity.String()},
		{"update_type", updateType},
		{"pending", v.String()},
	}}
	note, err := d.apply([]edit{e}, want)
	if err != nil {
		return false, "", err
	}
	return true, fmt.Sprintf("added %s (id %s): pending %s", imported, canon, v) + note, nil
}

// AddTestDevice appends a test device. Exactly one of MAC and Serial must
// be set; either is written as given and must not belong to another test
// device. An empty Scope is written as no scope key, meaning global.
func (d *Doc) AddTestDevice(td TestDevice) (string, error) {
	switch {
	case td.Name == "" || strings.TrimSpace(td.Name) != td.Name:
		return "", fmt.Errorf("malformed test device name %q: empty or surrounded by spaces", td.Name)
	case hasControl(td.Name):
		return "", fmt.Errorf("malformed test device name %q: contains a control character", td.Name)
	case (td.MAC == "") == (td.Serial == ""):
		return "", fmt.Errorf("test device %q: want exactly one of MAC address and serial number", td.Name)
	case td.Scope != "" && td.Scope != ScopeGlobal && !containsString(d.pol.TopologySites, td.Scope):
		return "", fmt.Errorf("test device %q: unknown scope %q: want %q or one of topology_sites", td.Name, td.Scope, ScopeGlobal)
	}
	n := TestDevice{Name: td.Name, Scope: td.Scope}
	if n.Scope == "" {
		n.Scope = ScopeGlobal
	}
	fields := []kv{{"name", td.Name}}
	var id string
	if td.MAC != "" {
		mac, err := NormalizeMAC(td.MAC)
		if err != nil {
			return "", fmt.Errorf("test device %q: %w", td.Name, err)
		}
		n.MAC, id = mac, "MAC address "+mac
		fields = append(fields, kv{"mac", td.MAC})
	} else {
		serial, err := NormalizeSerial(td.Serial)
		if err != nil {
			return "", fmt.Errorf("test device %q: %w", td.Name, err)
		}
		n.Serial, id = serial, "serial number "+serial
		fields = append(fields, kv{"serial", td.Serial})
	}
	if td.Scope != "" {
		fields = append(fields, kv{"scope", td.Scope})
	}
	for _, o := range d.pol.TestDevices {
		switch {
		case strings.EqualFold(o.Name, n.Name):
			return "", fmt.Errorf("test device %q already exists", o.Name)
		case n.MAC != "" && o.MAC == n.MAC, n.Serial != "" && o.Serial == n.Serial:
			return "", fmt.Errorf("test device %q already has %s", o.Name, id)
		}
	}
	want := d.pol.clone()
	want.TestDevices = append(want.TestDevices, n)
	note, err := d.apply([]edit{{kind: appendItem, list: "test_devices", fields: fields}}, want)
	return fmt.Sprintf("added test device %q (%s, scope %s)", n.Name, id, n.Scope) + note, err
}

// RemoveTestDevice deletes the test device with the given name, ignoring
// case.
func (d *Doc) RemoveTestDevice(name string) (string, error) {
	for i, o := range d.pol.TestDevices {
		if !strings.EqualFold(o.Name, name) {
			continue
		}
		want := d.pol.clone()
		want.TestDevices = slices.Delete(want.TestDevices, i, i+1)
		note, err := d.apply([]edit{{kind: deleteItem, list: "test_devices", index: i}}, want)
		return fmt.Sprintf("removed test device %q", o.Name) + note, err
	}
	return "", fmt.Errorf("no test device named %q", name)
}
