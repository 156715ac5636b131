package build

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

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
		m := map[string]string{}
		for ver, i := range t.Versions {
			m[ver] = describe(t.Path(i))
		}
		m[otherOlder] = describe(t.Path(t.Older))
		m[otherNewer] = describe(t.Path(t.Newer))
		v.Told[key][aud] = m
	}
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

// TreeView returns what a published tree tells devices. dir is a tree or
// a site directory; a site directory without a live tree gives an empty
// view (everything is new).
func TreeView(dir string) (*View, error) {
	if _, err := os.Lstat(filepath.Join(dir, site.CurrentName)); err == nil {
		dir = filepath.Join(dir, site.CurrentName)
	} else if _, err := os.Stat(filepath.Join(dir, site.ManifestName)); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return newView(), nil
		}
	}
	mb, err := os.ReadFile(filepath.Join(dir, site.ManifestName))
	if err != nil {
		return nil, err
	}
	var m site.Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, site.ManifestName), err)
	}
	describe := func(a string) string {
		if a == m.NoUpdate {
			return "downloads=0 (nothing to do)"
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(a)))
		if err != nil {
			return "missing answer " + a
		}
		_, rest, _ := strings.Cut(string(b), "<Version>")
		ver, _, _ := strings.Cut(rest, "</Version>")
		return "update to " + ver
	}
	v := newView()
	for _, f := range m.Files {
		if !strings.HasPrefix(f.Path, site.LookupDir+"/") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return nil, err
		}
		var l site.Lookup
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
		v.add(&l, describe)
	}
	var svc site.Service
	if b, err := os.ReadFile(filepath.Join(dir, site.ServiceName)); err == nil {
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
					out = append(out, Change{Rule: k, Audience: aud, Reported: v, Before: bs, After: as})
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
		for _, c := range changes[i:j] {
			n[c.Audience]++
		}
		out = append(out, fmt.Sprintf("%s: %d production and %d test answer(s) change", changes[i].Rule, n[site.Production], n[site.Test]))
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
