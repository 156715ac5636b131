package plan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/internal/plantest"
	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/site"
)

// The fleets of package plantest, by the names these tests had when they
// lived in one package with them.
var (
	testInput   = plantest.Input
	fakePackage = plantest.Package
	ruleYAML    = plantest.RuleYAML
	parsePolicy = plantest.ParsePolicy
	mustPlan    = plantest.Plan
)

type fakeFiles = plantest.Files

const policyHead = plantest.PolicyHead

// toldVersion returns the version a table sends a device on v, "" for none.
func toldVersion(t *testing.T, p *plan.Plan, tab *site.Table, v string) string {
	t.Helper()
	pv, err := device.ParseVersion(v)
	if err != nil {
		t.Fatal(err)
	}
	d := plan.DescribeAnswer(p, tab.Answer(pv))
	if strings.HasPrefix(d, "downloads=0") {
		return ""
	}
	return strings.TrimPrefix(d, "update to ")
}

// TestDecisions walks the rule of docs/PROTOCOL.md: the target is the
// approved version (for test devices the pending one where set); a device
// on the target, or any device when there is no target, is told
// downloads=0; a device on any other version is sent the target, older or
// newer, unless keep_newer is in effect for the rule, which leaves devices
// on a version newer than the target alone.
func TestDecisions(t *testing.T) {
	files := fakeFiles{}
	id := "UCPhone/Polycom/CX600/A/ENU"
	pkg := fakePackage(files, "p.cab", []string{id}, "1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4")
	const keep = "keep_newer: true\n"
	tests := []struct {
		name string
		head string // added to the policy's top level
		kv   []string
		// what production and test devices on 1.0.0.1 .. 1.0.0.4 and on
		// unknown 1.0.0.0 and 9.0.0.0 are sent
		prod, test [6]string
	}{
		{"nothing approved", "", nil, [6]string{}, [6]string{}},
		{"approved", "", []string{"approved", "1.0.0.2"},
			[6]string{"1.0.0.2", "", "1.0.0.2", "1.0.0.2", "1.0.0.2", "1.0.0.2"}, [6]string{"1.0.0.2", "", "1.0.0.2", "1.0.0.2", "1.0.0.2", "1.0.0.2"}},
		{"approved and pending", "", []string{"approved", "1.0.0.2", "pending", "1.0.0.3"},
			[6]string{"1.0.0.2", "", "1.0.0.2", "1.0.0.2", "1.0.0.2", "1.0.0.2"}, [6]string{"1.0.0.3", "1.0.0.3", "", "1.0.0.3", "1.0.0.3", "1.0.0.3"}},
		{"pending only", "", []string{"pending", "1.0.0.3"},
			[6]string{}, [6]string{"1.0.0.3", "1.0.0.3", "", "1.0.0.3", "1.0.0.3", "1.0.0.3"}},
		{"restore held", "", []string{"approved", "1.0.0.2", "restore", "1.0.0.1"},
			[6]string{"1.0.0.2", "", "1.0.0.2", "1.0.0.2", "1.0.0.2", "1.0.0.2"}, [6]string{"1.0.0.2", "", "1.0.0.2", "1.0.0.2", "1.0.0.2", "1.0.0.2"}},
		{"keep_newer: approved", keep, []string{"approved", "1.0.0.2"},
			[6]string{"1.0.0.2", "", "", "", "1.0.0.2", ""}, [6]string{"1.0.0.2", "", "", "", "1.0.0.2", ""}},
		{"keep_newer: approved and pending", keep, []string{"approved", "1.0.0.2", "pending", "1.0.0.3"},
			[6]string{"1.0.0.2", "", "", "", "1.0.0.2", ""}, [6]string{"1.0.0.3", "1.0.0.3", "", "", "1.0.0.3", ""}},
		{"keep_newer: a restore held does not send newer devices back", keep, []string{"approved", "1.0.0.2", "restore", "1.0.0.1"},
			[6]string{"1.0.0.2", "", "", "", "1.0.0.2", ""}, [6]string{"1.0.0.2", "", "", "", "1.0.0.2", ""}},
		{"keep_newer: after a restore (the rule's keep_newer: false)", keep, []string{"approved", "1.0.0.1", "keep_newer", "false"},
			[6]string{"", "1.0.0.1", "1.0.0.1", "1.0.0.1", "1.0.0.1", "1.0.0.1"}, [6]string{"", "1.0.0.1", "1.0.0.1", "1.0.0.1", "1.0.0.1", "1.0.0.1"}},
		{"the rule's keep_newer: true alone", "", []string{"approved", "1.0.0.2", "keep_newer", "true"},
			[6]string{"1.0.0.2", "", "", "", "1.0.0.2", ""}, [6]string{"1.0.0.2", "", "", "", "1.0.0.2", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := policyHead + tt.head + "rules:\n" + ruleYAML(id, tt.kv...)
			in := &plan.Input{PolicyBytes: []byte(src), Packages: []plan.Package{pkg}}
			var err error
			if in.Policy, err = parsePolicy(src); err != nil {
				t.Fatal(err)
			}
			p := mustPlan(t, in)
			for ai, aud := range []site.Audience{site.Production, site.Test} {
				want := [][6]string{tt.prod, tt.test}[ai]
				var got [6]string
				for i, v := range []string{"1.0.0.1", "1.0.0.2", "1.0.0.3", "1.0.0.4", "1.0.0.0", "9.0.0.0"} {
					got[i] = toldVersion(t, p, p.Lookups[0].Lookup.For(aud), v)
				}
				if got != want {
					t.Errorf("%s: devices on 1..4, 0, 9 are sent %q, want %q", aud, got, want)
				}
			}
		})
	}
}

func TestInvariants(t *testing.T) {
	in, _ := testInput(t)
	for _, tt := range []struct {
		name   string
		breakP func(p *plan.Plan)
		want   string
	}{
		{"URL to a missing file", func(p *plan.Plan) {
			for name := range p.Files {
				if strings.HasSuffix(name, "4.0.7577.4398/CPE/CPE.nbt") && strings.Contains(name, "CX600") {
					delete(p.Files, name)
				}
			}
		}, "is not in the tree"},
		{"file with another hash", func(p *plan.Plan) {
			for name, o := range p.Files {
				if strings.HasSuffix(name, "CPE.cat") {
					o.SHA256 = strings.Repeat("0", 64)
				}
			}
		}, "the answer says"},
		{"answer of another identity", func(p *plan.Plan) {
			cx, hp := p.Lookups[2], p.Lookups[1] // sorted by path: aastra, hp, polycom
			cx.Lookup.Test.Older = cx.Lookup.Test.Ref(hp.Lookup.Test.Path(hp.Lookup.Test.Older))
			p.Lookups[2] = cx
		}, "an update of another identity"},
		{"downgrade where keep_newer is in effect", func(p *plan.Plan) {
			l := &p.Lookups[0] // Aastra: approved 4363, 4399 known
			yes := true
			l.Rule.KeepNewer = &yes
			l.Lookup.Production.Versions["4.0.7577.4399"] = l.Lookup.Production.Older
		}, "offered the older 4.0.7577.4363"},
		{"newer versions downgraded where keep_newer is in effect", func(p *plan.Plan) {
			l := &p.Lookups[0]
			yes := true
			l.Rule.KeepNewer = &yes
			l.Lookup.Production.Newer = l.Lookup.Production.Older
		}, "versions newer than 4.0.7577.4363 are offered"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := mustPlan(t, in)
			if err := p.Check(); err != nil {
				t.Fatalf("good plan fails its check: %v", err)
			}
			tt.breakP(p)
			err := p.Check()
			if !errors.Is(err, plan.ErrInvariant) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want ErrInvariant with %q", err, tt.want)
			}
		})
	}
}

// No changes are an empty array for scripts, not null; changes keep their
// field names.
func TestWriteJSON(t *testing.T) {
	var b strings.Builder
	if err := plan.WriteJSON(&b, nil); err != nil || b.String() != "[]\n" {
		t.Errorf("no changes: %q, %v", b.String(), err)
	}
	b.Reset()
	plan.WriteJSON(&b, []plan.Change{{Rule: "UCPhone/HP/4120/A/ENU CPE", Audience: site.Test, Reported: "1.0.0.1", Before: "x", After: "y"}})
	for _, want := range []string{`"rule": "UCPhone/HP/4120/A/ENU CPE"`, `"audience": "test"`, `"reported": "1.0.0.1"`, `"before": "x"`, `"after": "y"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("JSON lacks %s:\n%s", want, b.String())
		}
	}
}
