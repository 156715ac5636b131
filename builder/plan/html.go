package plan

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/site"
)

// The page for people: in the spirit of the original Control Panel's
// Pending Updates and Deployed Updates tabs. Self-contained: no scripts,
// no external assets.
var pageTemplate = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>duws — device updates</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1b1f24; background: #fff; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 2px solid #2f6f9f; padding-bottom: .2em; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #d6dde4; vertical-align: top; }
th { background: #eef3f7; }
code { font-family: ui-monospace, monospace; font-size: .92em; }
td code { white-space: nowrap; }
.state-pending { color: #9a5b00; font-weight: 600; }
.state-approved { color: #1f7a3a; font-weight: 600; }
.state-none { color: #6b7580; }
.meta { color: #4a5560; }
</style>
</head>
<body>
<h1>Device updates</h1>
<p class="meta">Built {{.Built}} from policy <code>{{.PolicyShort}}</code> and {{.Packages}} package(s). {{.Rules}} rule(s), {{.Pending}} pending, {{.TestDevices}} test device(s).</p>

<h2>Pending updates</h2>
{{if .PendingRules}}<table>
<tr><th>Rule</th><th>Device</th><th>Type</th><th>Pending</th><th>Approved</th><th>Note</th></tr>
{{range .PendingRules}}<tr><td><code>{{.ID}}</code></td><td>{{.Identity}}</td><td>{{.Type}}</td><td class="state-pending">{{.Pending}}</td><td>{{.Approved}}</td><td>{{.Note}}</td></tr>
{{end}}</table>{{else}}<p>Nothing is pending.</p>{{end}}

<h2>Deployed updates</h2>
<table>
<tr><th>Rule</th><th>Device</th><th>Type</th><th>State</th><th>Approved</th><th>Pending</th><th>Restore</th><th>Newer devices</th></tr>
{{range .AllRules}}<tr><td><code>{{.ID}}</code></td><td>{{.Identity}}</td><td>{{.Type}}</td><td class="state-{{.State}}">{{.State}}</td><td>{{.Approved}}</td><td>{{.Pending}}</td><td>{{.Restore}}</td><td>{{.Downgrade}}</td></tr>
{{end}}</table>

<h2>Test devices</h2>
{{if .Devices}}<table>
<tr><th>Name</th><th>MAC</th><th>Serial</th><th>Scope</th></tr>
{{range .Devices}}<tr><td>{{.Name}}</td><td><code>{{.MAC}}</code></td><td><code>{{.Serial}}</code></td><td>{{.Scope}}</td></tr>
{{end}}</table>{{else}}<p>No test devices.</p>{{end}}

<h2>What devices are told</h2>
<table>
<tr><th>Device</th><th>Type</th><th>Audience</th><th>Reporting</th><th>Told</th></tr>
{{.Told}}</table>
</body>
</html>
`))

type pageRule struct {
	ID, Identity, Type, State, Approved, Pending, Restore, Downgrade, Note string
}

type page struct {
	Built, PolicyShort                    string
	Packages, Rules, Pending, TestDevices int
	PendingRules, AllRules                []pageRule
	Devices                               []struct{ Name, MAC, Serial, Scope string }
	Told                                  template.HTML // rows, written directly: there may be tens of thousands
}

func renderHTML(p *Plan) []byte {
	pg := page{
		Built:       p.Manifest.Built,
		PolicyShort: p.Manifest.Inputs.Policy[:12],
		Packages:    len(p.Manifest.Inputs.Packages),
		Rules:       len(p.Policy.Rules),
		TestDevices: len(p.Policy.TestDevices),
	}
	ver := func(v interface{ String() string }, isNil bool) string {
		if isNil {
			return "—"
		}
		return v.String()
	}
	for _, r := range p.Policy.Rules {
		pr := pageRule{
			ID: r.ID, Identity: r.Identity.String(), Type: r.UpdateType, Note: r.Note,
			Approved: ver(r.Approved, r.Approved == nil), Pending: ver(r.Pending, r.Pending == nil), Restore: ver(r.Restore, r.Restore == nil),
			State: "none", Downgrade: "left alone",
		}
		if !p.Policy.KeepsNewer(&r) {
			pr.Downgrade = "sent back"
		}
		switch {
		case r.Pending != nil:
			pr.State = "pending"
			pg.Pending++
			pg.PendingRules = append(pg.PendingRules, pr)
		case r.Approved != nil:
			pr.State = "approved"
		}
		pg.AllRules = append(pg.AllRules, pr)
	}
	for _, td := range p.Policy.TestDevices {
		pg.Devices = append(pg.Devices, struct{ Name, MAC, Serial, Scope string }{td.Name, orDash(td.MAC), orDash(td.Serial), td.Scope})
	}
	var rows strings.Builder
	for _, r := range p.toldRows {
		rows.WriteString(r)
	}
	pg.Told = template.HTML(rows.String())
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, pg); err != nil {
		panic(err) // the template and its data are fixed: a failure is a bug
	}
	return b.Bytes()
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// told summarises a table in a few rows: the versions grouped by what they
// are told, downgrades named as such.
func told(p *Plan, t *site.Table) [][2]string {
	byTold := map[string][]string{}
	for v, i := range t.Versions {
		d := markDowngrade(v, describeAnswer(p, t.Path(i)))
		byTold[d] = append(byTold[d], v)
	}
	var rows [][2]string
	labels := make([]string, 0, len(byTold))
	for d := range byTold {
		labels = append(labels, d)
	}
	slices.Sort(labels)
	for _, d := range labels {
		rows = append(rows, [2]string{versionList(byTold[d]), d})
	}
	older := describeAnswer(p, t.Path(t.Older))
	newer := markDowngrade(otherNewer, describeAnswer(p, t.Path(t.Newer)))
	if older == newer {
		rows = append(rows, [2]string{"any other version", older})
	} else {
		rows = append(rows, [2]string{"other versions older than " + t.Target, older},
			[2]string{"other versions newer than " + t.Target, newer})
	}
	return rows
}

// versionList names a few versions, or counts many: a fleet's page lists
// every identity, and fifty versions each would bury it.
func versionList(vs []string) string {
	type pv struct {
		v    policy.Version
		text string
		ok   bool
	}
	list := make([]pv, len(vs))
	for i, s := range vs {
		v, err := policy.ParseVersion(s)
		list[i] = pv{v, s, err == nil}
	}
	cmp := func(a, b pv) int {
		if !a.ok || !b.ok {
			return strings.Compare(a.text, b.text)
		}
		return a.v.Compare(b.v)
	}
	if len(list) <= 6 {
		slices.SortFunc(list, cmp)
		texts := make([]string, len(list))
		for i, x := range list {
			texts[i] = x.text
		}
		return strings.Join(texts, ", ")
	}
	lo, hi := list[0], list[0]
	for _, x := range list[1:] {
		if cmp(x, lo) < 0 {
			lo = x
		}
		if cmp(x, hi) > 0 {
			hi = x
		}
	}
	return fmt.Sprintf("%d versions, %s to %s", len(list), lo.text, hi.text)
}

// describeAnswer says in words what an answer tells a device.
func describeAnswer(p *Plan, name string) string {
	if name == p.Manifest.NoUpdate {
		return "downloads=0 (nothing to do)"
	}
	o := p.Files[name]
	if o == nil {
		return "?"
	}
	return site.DescribeAnswer(o.Data)
}

// toldRows renders the rows of the "what devices are told" table for one
// lookup.
func toldRows(p *Plan, lp *LookupPlan) string {
	var rows strings.Builder
	for _, aud := range []site.Audience{site.Production, site.Test} {
		for _, row := range told(p, lp.Lookup.For(aud)) {
			rows.WriteString("<tr>")
			for _, cell := range []string{lp.Lookup.Identity, lp.Lookup.UpdateType, string(aud), row[0], row[1]} {
				rows.WriteString("<td>")
				rows.WriteString(html.EscapeString(cell))
				rows.WriteString("</td>")
			}
			rows.WriteString("</tr>\n")
		}
	}
	return rows.String()
}
