package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
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
	// Settings maps the service and network settings every answer or
	// decision depends on ("service.internal_url", "network.inside", …)
	// to their values in words.
	Settings map[string]string
}

const (
	otherOlder = "any other older version"
	otherNewer = "any other newer version"
)

func newView() *View {
	return &View{Told: map[string]map[site.Audience]map[string]string{}, Settings: map[string]string{}}
}

// addService records the settings of a tree's service.json.
func (v *View) addService(s *site.Service) {
	list := func(xs []string) string {
		if len(xs) == 0 {
			return "(none)"
		}
		return strings.Join(xs, ", ")
	}
	prefixes := func(ps []netip.Prefix) string {
		xs := make([]string, len(ps))
		for i, p := range ps {
			xs[i] = p.String()
		}
		return list(xs)
	}
	url := func(u string) string {
		if u == "" {
			return "(not set)"
		}
		return u
	}
	v.Settings[settingInternalURL] = url(s.InternalURL)
	v.Settings[settingExternalURL] = url(s.ExternalURL)
	v.Settings["network.inside"] = prefixes(s.Inside)
	v.Settings["network.trusted_proxies"] = prefixes(s.TrustedProxies)
	v.Settings["topology_sites"] = list(s.TopologySites)
}

const (
	settingInternalURL = "service.internal_url"
	settingExternalURL = "service.external_url"
)

// settingEffect says what a change of a setting does to devices.
func settingEffect(name string) string {
	switch name {
	case settingInternalURL, settingExternalURL:
		return "every update answer gives devices new URLs"
	case "network.inside", "network.trusted_proxies":
		return "which clients count as inside changes"
	}
	return "which test devices test where changes"
}

func (v *View) add(l *site.Lookup, describe func(answer string) string) {
	key := l.Identity + " " + l.UpdateType
	v.Told[key] = map[site.Audience]map[string]string{}
	for _, aud := range []site.Audience{site.Production, site.Test} {
		t := l.For(aud)
		said := answerTexts(t, describe)
		m := map[string]string{}
		for ver, i := range t.Versions {
			m[ver] = markDowngrade(ver, said(i))
		}
		m[otherOlder] = said(t.Older)
		m[otherNewer] = markDowngrade(otherNewer, said(t.Newer))
		v.Told[key][aud] = m
	}
}

// answerTexts returns what each answer of t says, describing each once: a
// table refers to a few answers from many versions, and describing one
// parses it.
func answerTexts(t *site.Table, describe func(answer string) string) func(i int) string {
	texts := make([]string, len(t.Answers))
	done := make([]bool, len(t.Answers))
	return func(i int) string {
		if i < 0 || i >= len(texts) {
			return describe(t.Path(i))
		}
		if !done[i] {
			texts[i], done[i] = describe(t.Path(i)), true
		}
		return texts[i]
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
	if o := p.Files[site.ServiceName]; o != nil {
		var s site.Service
		if json.Unmarshal(o.Data, &s) == nil {
			v.addService(&s)
		}
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
	var svc site.Service
	if b, err := fs.ReadFile(fsys, path.Join(dir, site.ServiceName)); err == nil {
		if err := json.Unmarshal(b, &svc); err != nil {
			return nil, fmt.Errorf("%s: %w", site.ServiceName, err)
		}
		v.addService(&svc)
	}
	return v, nil
}

// Change is one difference in what devices are told, or in a setting
// (then Rule is the setting's name, such as "service.internal_url", and
// Audience and Reported are empty).
type Change struct {
	Rule     string        `json:"rule"` // identity and update type, or a setting
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
	var names []string
	// With no tree before, every answer is new already: settings are
	// compared between two trees (or plans).
	if len(before.Settings) == 0 || len(after.Settings) == 0 {
		before, after = &View{Told: before.Told}, &View{Told: after.Told}
	}
	for k := range before.Settings {
		names = append(names, k)
	}
	for k := range after.Settings {
		if _, ok := before.Settings[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	for _, k := range names {
		b, a := before.Settings[k], after.Settings[k]
		if b == "" {
			b = "(not in the tree)"
		}
		if a == "" {
			a = "(not in the tree)"
		}
		if b != a {
			out = append(out, Change{Rule: k, Before: b, After: a})
		}
	}
	settings := len(out)
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
	slices.SortFunc(out[settings:], func(x, y Change) int {
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
		if c := changes[i]; c.Audience == "" {
			out = append(out, fmt.Sprintf("%s: %s -> %s: %s", c.Rule, c.Before, c.After, settingEffect(c.Rule)))
			i++
			continue
		}
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
	if !hasAnswers(changes) {
		return
	}
	fmt.Fprintln(w)
	for _, c := range changes {
		if c.Audience != "" {
			fmt.Fprintf(w, "%s  %-10s %-24s %s -> %s\n", c.Rule, c.Audience, c.Reported, c.Before, c.After)
		}
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
	if !hasAnswers(changes) {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| Device | Audience | Reporting | Before | After |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	for _, c := range changes {
		if c.Audience == "" {
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", esc(c.Rule), c.Audience, esc(c.Reported), esc(c.Before), esc(c.After))
	}
}

// hasAnswers says whether changes has a change of an answer, not only of
// settings.
func hasAnswers(changes []Change) bool {
	for _, c := range changes {
		if c.Audience != "" {
			return true
		}
	}
	return false
}
