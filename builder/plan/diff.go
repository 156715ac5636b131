package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
)

// View is what every device is told, in words: the common ground on which
// a plan and a published tree are compared.
type View struct {
	// Told maps identity+" "+update type, audience and reported version
	// ("other older" and "other newer" for versions no package has) to
	// what the device is told.
	Told map[string]map[site.Audience]map[string]string
}

const (
	otherOlder = "any other older version"
	otherNewer = "any other newer version"
)

func newView() *View { return &View{Told: map[string]map[site.Audience]map[string]string{}} }

func (v *View) add(l *site.Lookup, describe func(answer string) string) {
	key := l.Identity + " " + l.UpdateType
	v.Told[key] = map[site.Audience]map[string]string{}
	for _, aud := range []site.Audience{site.Production, site.Test} {
		t := l.For(aud)
		m := map[string]string{}
		for ver, i := range t.Versions {
			m[ver] = markDowngrade(ver, describe(t.Path(i)))
		}
		m[otherOlder] = describe(t.Path(t.Older))
		m[otherNewer] = markDowngrade(otherNewer, describe(t.Path(t.Newer)))
		v.Told[key][aud] = m
	}
}

const (
	updatePrefix    = "update to "
	downgradePrefix = "downgrade to "
)

// markDowngrade rewords "update to X" as "downgrade to X" when X is older
// than the reported version: a plan names every downgrade as such.
func markDowngrade(reported, told string) string {
	to, ok := strings.CutPrefix(told, updatePrefix)
	if !ok {
		return told
	}
	if reported == otherNewer {
		return downgradePrefix + to
	}
	rv, err1 := device.ParseVersion(reported)
	tv, err2 := device.ParseVersion(to)
	if err1 == nil && err2 == nil && tv.Compare(rv) < 0 {
		return downgradePrefix + to
	}
	return told
}

// Downgrades lists, one line per rule and audience, the versions whose
// devices the view sends an older version.
func Downgrades(v *View) []string {
	var out []string
	keys := make([]string, 0, len(v.Told))
	for k := range v.Told {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, aud := range []site.Audience{site.Production, site.Test} {
			byTarget := map[string][]string{}
			for reported, told := range v.Told[k][aud] {
				if to, ok := strings.CutPrefix(told, downgradePrefix); ok {
					byTarget[to] = append(byTarget[to], reported)
				}
			}
			targets := make([]string, 0, len(byTarget))
			for to := range byTarget {
				targets = append(targets, to)
			}
			slices.Sort(targets)
			for _, to := range targets {
				from := byTarget[to]
				slices.SortFunc(from, compareReported)
				out = append(out, fmt.Sprintf("%s (%s): devices on %s are sent the older %s", k, aud, strings.Join(from, ", "), to))
			}
		}
	}
	return out
}

// compareReported orders reported versions by version, "any other newer
// version" last.
func compareReported(a, b string) int {
	if (a == otherNewer) != (b == otherNewer) {
		if a == otherNewer {
			return 1
		}
		return -1
	}
	av, err1 := device.ParseVersion(a)
	bv, err2 := device.ParseVersion(b)
	if err1 != nil || err2 != nil {
		return strings.Compare(a, b)
	}
	return av.Compare(bv)
}

// PlanView returns what a plan tells devices.
func PlanView(p *Plan) *View {
	v := newView()
	for i := range p.Lookups {
		v.add(&p.Lookups[i].Lookup, func(a string) string { return describeAnswer(p, a) })
	}
	return v
}

// TreeView returns what a published tree tells devices. fsys is a tree
// or a site directory (see [site.ResolveTree]); one without a tree gives
// an empty view (everything is new).
func TreeView(fsys fs.FS) (*View, error) {
	dir, err := site.ResolveTree(fsys)
	if err != nil {
		return nil, err
	}
	m, _, err := site.ReadManifest(fsys, dir, dir)
	if dir == "." && errors.Is(err, fs.ErrNotExist) {
		return newView(), nil
	}
	if err != nil {
		return nil, err
	}
	describe := func(a string) string {
		if a == m.NoUpdate {
			return "downloads=0 (nothing to do)"
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, a))
		if err != nil {
			return "missing answer " + a
		}
		return site.DescribeAnswer(b)
	}
	v := newView()
	for _, p := range m.LookupPaths() {
		l, err := site.ReadLookup(fsys, path.Join(dir, p))
		if err != nil {
			return nil, err
		}
		v.add(l, describe)
	}
	return v, nil
}

// Change is one difference in what devices are told.
type Change struct {
	Rule     string        `json:"rule"` // identity and update type
	Audience site.Audience `json:"audience"`
	Reported string        `json:"reported"`
	Before   string        `json:"before"`
	After    string        `json:"after"`
	// Downgrade is set when After sends the device an older version.
	Downgrade bool `json:"downgrade"`
}

// NewDowngrade reports whether the change sends devices an older version
// than they run where before it did not: what `duws plan
// --fail-on-downgrade` stops. Moving an existing downgrade's target (the
// "any other newer version" row when a new version is approved) is not.
func (c Change) NewDowngrade() bool {
	return c.Downgrade && !strings.HasPrefix(c.Before, downgradePrefix)
}

// Diff lists what changes from before to after, sorted.
func Diff(before, after *View) []Change {
	var out []Change
	keys := map[string]bool{}
	for k := range before.Told {
		keys[k] = true
	}
	for k := range after.Told {
		keys[k] = true
	}
	for k := range keys {
		for _, aud := range []site.Audience{site.Production, site.Test} {
			b, a := before.Told[k][aud], after.Told[k][aud]
			vers := map[string]bool{}
			for v := range b {
				vers[v] = true
			}
			for v := range a {
				vers[v] = true
			}
			for v := range vers {
				bs, as := b[v], a[v]
				if bs == "" {
					bs = "(not in the tree)"
				}
				if as == "" {
					as = "(not in the tree)"
				}
				if bs != as {
					out = append(out, Change{Rule: k, Audience: aud, Reported: v, Before: bs, After: as, Downgrade: strings.HasPrefix(as, downgradePrefix)})
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y Change) int {
		if c := strings.Compare(x.Rule, y.Rule); c != 0 {
			return c
		}
		if c := strings.Compare(string(x.Audience), string(y.Audience)); c != 0 {
			return c
		}
		return strings.Compare(x.Reported, y.Reported)
	})
	return out
}

// Summaries returns one line per rule with changes.
func Summaries(changes []Change) []string {
	var out []string
	for i := 0; i < len(changes); {
		j := i
		for j < len(changes) && changes[j].Rule == changes[i].Rule {
			j++
		}
		n := map[site.Audience]int{}
		down := 0
		for _, c := range changes[i:j] {
			n[c.Audience]++
			if c.Downgrade {
				down++
			}
		}
		line := fmt.Sprintf("%s: %d production and %d test answer(s) change", changes[i].Rule, n[site.Production], n[site.Test])
		if down > 0 {
			line += fmt.Sprintf(", %d of them to a downgrade", down)
		}
		out = append(out, line)
		i = j
	}
	return out
}

// WriteText writes changes for a terminal.
func WriteText(w io.Writer, changes []Change) {
	if len(changes) == 0 {
		fmt.Fprintln(w, "no changes: every device is told what it is told now")
		return
	}
	for _, s := range Summaries(changes) {
		fmt.Fprintln(w, s)
	}
	fmt.Fprintln(w)
	for _, c := range changes {
		fmt.Fprintf(w, "%s  %-10s %-24s %s -> %s\n", c.Rule, c.Audience, c.Reported, c.Before, c.After)
	}
}

// WriteJSON writes changes as a JSON array (empty, not null, when there
// are none), for scripts.
func WriteJSON(w io.Writer, changes []Change) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if changes == nil {
		changes = []Change{}
	}
	return enc.Encode(changes)
}

// WriteMarkdown writes changes for a pull-request comment.
func WriteMarkdown(w io.Writer, changes []Change) {
	fmt.Fprintln(w, "### duws plan")
	fmt.Fprintln(w)
	if len(changes) == 0 {
		fmt.Fprintln(w, "No changes: every device is told what it is told now.")
		return
	}
	for _, s := range Summaries(changes) {
		fmt.Fprintf(w, "- %s\n", s)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Device | Audience | Reporting | Before | After |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, c := range changes {
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", esc(c.Rule), c.Audience, esc(c.Reported), esc(c.Before), esc(c.After))
	}
}
