package plan

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/site"
)

// The page for people: in the spirit of the original Control Panel's
// Pending Updates and Deployed Updates tabs. Self-contained: no scripts,
// no external assets. It reads from a phone-sized 400 px to 1920 px:
// below 900 px every table row becomes a card whose cells carry their
// column's name, and wider tables scroll inside their own box rather than
// widening the page.
var pageTemplate = template.Must(template.New("index").Funcs(template.FuncMap{"breakable": breakable}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>duws — device updates</title>
<style>
*, *::before, *::after { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 90em; padding: 0 1em; color: #1b1f24; background: #fff; overflow-wrap: break-word; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 2px solid #2f6f9f; padding-bottom: .2em; }
.table { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; width: 100%; margin: .5em 0 1em; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #d6dde4; vertical-align: top; }
th { background: #eef3f7; white-space: nowrap; }
code { font-family: ui-monospace, monospace; font-size: .92em; }
td code { white-space: nowrap; }
.ver { white-space: nowrap; font-variant-numeric: tabular-nums; }
.state-pending { color: #9a5b00; font-weight: 600; }
.state-approved { color: #1f7a3a; font-weight: 600; }
.state-none { color: #6b7580; }
.meta { color: #4a5560; }
details { border: 1px solid #d6dde4; border-radius: 4px; margin: .4em 0; padding: 0 .6em; }
details[open] { padding-bottom: .4em; }
summary { cursor: pointer; padding: .4em 0; }
summary .told { color: #4a5560; }
@media (max-width: 900px) {
  body { margin: 1em auto; padding: 0 .6em; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr:first-child { display: none; }
  tr { border: 1px solid #d6dde4; border-radius: 4px; margin: 0 0 .6em; }
  td { border: 0; padding: .15em .6em; }
  td::before { content: attr(data-label) ": "; color: #4a5560; font-weight: 600; }
}
</style>
</head>
<body>
<h1>Device updates</h1>
<p class="meta">Built {{.Built}} (the newest input's time, or SOURCE_DATE_EPOCH) from policy <code>{{.PolicyShort}}</code> and {{.Packages}} package(s). {{.Rules}} rule(s), {{.Pending}} pending, {{.TestDevices}} test device(s).</p>

<h2>Pending updates</h2>
{{if .PendingRules}}<div class="table"><table>
<tr><th>Rule</th><th>Device</th><th>Type</th><th>Pending</th><th>Approved</th><th>Restore</th><th>Newer devices</th><th>Note</th></tr>
{{range .PendingRules}}<tr><td data-label="Rule"><code title="{{.ID}}">{{printf "%.8s" .ID}}</code></td><td data-label="Device">{{breakable .Identity}}</td><td data-label="Type">{{.Type}}</td><td data-label="Pending" class="ver state-pending">{{.Pending}}</td><td data-label="Approved" class="ver">{{.Approved}}</td><td data-label="Restore" class="ver">{{.Restore}}</td><td data-label="Newer devices">{{.Downgrade}}</td><td data-label="Note">{{.Note}}</td></tr>
{{end}}</table></div>{{else}}<p>Nothing is pending.</p>{{end}}

<h2>Deployed updates</h2>
{{if .DeployedRules}}<div class="table"><table>
<tr><th>Rule</th><th>Device</th><th>Type</th><th>State</th><th>Approved</th><th>Restore</th><th>Newer devices</th><th>Note</th></tr>
{{range .DeployedRules}}<tr><td data-label="Rule"><code title="{{.ID}}">{{printf "%.8s" .ID}}</code></td><td data-label="Device">{{breakable .Identity}}</td><td data-label="Type">{{.Type}}</td><td data-label="State" class="state-{{.State}}">{{.State}}</td><td data-label="Approved" class="ver">{{.Approved}}</td><td data-label="Restore" class="ver">{{.Restore}}</td><td data-label="Newer devices">{{.Downgrade}}</td><td data-label="Note">{{.Note}}</td></tr>
{{end}}</table></div>{{else}}<p>Nothing is deployed{{if .PendingRules}} yet: every rule is pending, above{{end}}.</p>{{end}}

<h2>Test devices</h2>
{{if .Devices}}<div class="table"><table>
<tr><th>Name</th><th>MAC</th><th>Serial</th><th>Scope</th></tr>
{{range .Devices}}<tr><td data-label="Name">{{.Name}}</td><td data-label="MAC"><code>{{.MAC}}</code></td><td data-label="Serial"><code>{{.Serial}}</code></td><td data-label="Scope">{{.Scope}}</td></tr>
{{end}}</table></div>{{else}}<p>No test devices.</p>{{end}}

<h2>What devices are told</h2>
{{if .Told}}<p class="meta">Per device and update type; open one for every reported version.</p>
{{.Told}}{{else}}<p>No rules, so every device is told downloads=0.</p>{{end}}
</body>
</html>
`))

type pageRule struct {
	ID, Identity, Type, State, Approved, Pending, Restore, Downgrade, Note string
}

type page struct {
	Built, PolicyShort                    string
	Packages, Rules, Pending, TestDevices int
	PendingRules, DeployedRules           []pageRule // each rule in one of them
	Devices                               []struct{ Name, MAC, Serial, Scope string }
	Told                                  template.HTML // written directly: there may be tens of thousands of rows
}

func renderHTML(p *Plan) []byte {
	pg := page{
		Built:       humanTime(p.Manifest.Built),
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
			continue
		case r.Approved != nil:
			pr.State = "approved"
		}
		pg.DeployedRules = append(pg.DeployedRules, pr)
	}
	for _, td := range p.Policy.TestDevices {
		pg.Devices = append(pg.Devices, struct{ Name, MAC, Serial, Scope string }{td.Name, orDash(td.MAC), orDash(td.Serial), td.Scope})
	}
	var rows strings.Builder
	open := len(p.toldRows) <= toldOpenLimit
	for _, r := range p.toldRows {
		if open {
			r = strings.Replace(r, "<details>", "<details open>", 1)
		}
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
// are told, downgrades named as such. known are the versions the table
// lists, sorted: each is parsed once for the whole plan, not once per
// table and row.
func told(p *Plan, t *site.Table, known []policy.Version) [][2]string {
	said := answerTexts(t, func(a string) string { return describeAnswer(p, a) })
	// The version each answer offers, parsed once per answer.
	type offer struct {
		v        policy.Version
		ok, done bool
	}
	offered := make([]offer, len(t.Answers))
	offersOlder := func(i int, than policy.Version) bool {
		if i < 0 || i >= len(offered) {
			return false
		}
		o := &offered[i]
		if !o.done {
			o.done = true
			if to, ok := strings.CutPrefix(said(i), updatePrefix); ok {
				v, err := policy.ParseVersion(to)
				o.v, o.ok = v, err == nil
			}
		}
		return o.ok && o.v.Compare(than) < 0
	}
	byTold := map[string][]policy.Version{}
	var labels []string
	for _, v := range known {
		i, ok := t.Versions[p.str(v)]
		if !ok {
			continue
		}
		d := said(i)
		if to, ok := strings.CutPrefix(d, updatePrefix); ok && offersOlder(i, v) {
			d = downgradePrefix + to
		}
		if _, seen := byTold[d]; !seen {
			labels = append(labels, d)
		}
		byTold[d] = append(byTold[d], v) // in version order, as known is
	}
	var rows [][2]string
	slices.Sort(labels)
	for _, d := range labels {
		rows = append(rows, [2]string{versionList(p, byTold[d]), d})
	}
	older := said(t.Older)
	newer := markDowngrade(otherNewer, said(t.Newer))
	if older == newer {
		rows = append(rows, [2]string{"any other version", older})
	} else {
		rows = append(rows, [2]string{"other versions older than " + t.Target, older},
			[2]string{"other versions newer than " + t.Target, newer})
	}
	return rows
}

// versionList names a few versions, or counts many: a fleet's page lists
// every identity, and fifty versions each would bury it. vs is sorted.
func versionList(p *Plan, vs []policy.Version) string {
	if len(vs) <= 6 {
		texts := make([]string, len(vs))
		for i, v := range vs {
			texts[i] = p.str(v)
		}
		return strings.Join(texts, ", ")
	}
	return fmt.Sprintf("%d versions, %s to %s", len(vs), p.str(vs[0]), p.str(vs[len(vs)-1]))
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

// toldOpenLimit is how many devices' "what devices are told" sections
// are shown open: a small fleet reads at a glance, a large one is a list
// of summaries to open one by one.
const toldOpenLimit = 8

// toldRows renders the "what devices are told" section of one lookup: a
// <details> whose summary says what production devices are mostly told,
// holding the table of every reported version.
func toldRows(p *Plan, lp *LookupPlan) string {
	var rows strings.Builder
	n := 0
	for _, aud := range []site.Audience{site.Production, site.Test} {
		for _, row := range told(p, lp.Lookup.For(aud), lp.Known) {
			rows.WriteString("<tr>")
			for i, cell := range []string{string(aud), row[0], row[1]} {
				rows.WriteString(`<td data-label="`)
				rows.WriteString([]string{"Audience", "Reporting", "Told"}[i])
				rows.WriteString(`">`)
				rows.WriteString(html.EscapeString(cell))
				rows.WriteString("</td>")
			}
			rows.WriteString("</tr>\n")
			n++
		}
	}
	prod := lp.Lookup.For(site.Production)
	var b strings.Builder
	b.WriteString("<details><summary><strong>")
	b.WriteString(string(breakable(lp.Lookup.Identity)))
	b.WriteString("</strong> ")
	b.WriteString(html.EscapeString(lp.Lookup.UpdateType))
	b.WriteString(` <span class="told">— production target `)
	b.WriteString(html.EscapeString(orDash(prod.Target)))
	fmt.Fprintf(&b, ", %d row(s)</span></summary>\n", n)
	b.WriteString(`<div class="table"><table>` + "\n<tr><th>Audience</th><th>Reporting</th><th>Told</th></tr>\n")
	b.WriteString(rows.String())
	b.WriteString("</table></div></details>\n")
	return b.String()
}

// breakable lets a long identity wrap after its slashes, and nowhere else.
func breakable(s string) template.HTML {
	parts := strings.Split(s, "/")
	for i, p := range parts {
		parts[i] = html.EscapeString(p)
	}
	return template.HTML(strings.Join(parts, "/<wbr>"))
}

// humanTime writes an RFC 3339 time for people: 2013-07-30 12:00 UTC.
func humanTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
