package responder_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/publish"
	"github.com/duws/duws/builder/update"
	"github.com/duws/duws/responder"
)

// The versions of the convergence matrix: the rule's restore, approved
// and pending versions are packaged, 4000 and 4500 are versions no
// package has (factory firmware older and newer than anything known).
const (
	vOlder    = "4.0.7577.4000"
	vRestore  = "4.0.7577.4100"
	vApproved = "4.0.7577.4363"
	vPending  = "4.0.7577.4398"
	vNewer    = "4.0.7577.4500"
)

// wantTold is docs/PROTOCOL.md's rule, written out independently of the
// builder: the target is the approved version, for a test device the
// pending one where the rule has one; a device on the target, or any
// device without a rule or target, is told downloads=0; any other device
// is sent the target, older or newer, unless keep_newer is in effect for
// the rule and the device runs a version newer than the target.
func wantTold(hasRule bool, approved, pending string, test, keepNewer bool, reported string) string {
	if !hasRule {
		return ""
	}
	target := approved
	if test && pending != "" {
		target = pending
	}
	if target == "" || target == reported {
		return ""
	}
	rv, _ := device.ParseVersion(reported)
	tv, _ := device.ParseVersion(target)
	if keepNewer && rv.Compare(tv) > 0 {
		return ""
	}
	return target
}

// convergeSite builds and publishes a one-rule tree for the CX600 and
// returns a handler for the internal listener.
func convergeSite(t *testing.T, head, rule string) http.Handler {
	t.Helper()
	id, _ := policy.ParseIdentity(cx600)
	files := map[plan.Source][]byte{}
	pkg := plan.Package{Name: "p.cab"}
	for _, vs := range []string{vRestore, vApproved, vPending} {
		v, _ := policy.ParseVersion(vs)
		u := update.Update{RuleID: update.DerivedRuleID(id, "CPE"), Identity: id, UpdateType: "CPE", Version: v}
		for _, name := range []string{"CPE.cat", "CPE.nbt"} {
			data := []byte("image " + vs + " " + name)
			sum := sha256.Sum256(data)
			file := update.File{Name: name, Path: u.Dir() + "/" + name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
			u.Files = append(u.Files, file)
			files[plan.Source{Package: pkg.Name, Path: file.Path}] = data
		}
		pkg.Updates = append(pkg.Updates, u)
	}
	src := "packages: packages\nservice:\n  internal_url: https://ucupdates-r2.contoso.com\n  external_url: https://ucupdates-r2.contoso.com:4443\n" + head
	if rule != "" {
		src += fmt.Sprintf("rules:\n  - id: %s\n    identity: %s\n    update_type: CPE\n%s", update.DerivedRuleID(id, "CPE"), cx600, rule)
	}
	src += "test_devices:\n  - name: lab\n    mac: 00-04-F2-00-00-01\n"
	pol, err := policy.Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.MakePlan(&plan.Input{Policy: pol, PolicyBytes: []byte(src), Packages: []plan.Package{pkg}, Built: time.Date(2013, 7, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	w := &publish.Writer{Dir: dir, Keep: 1, Open: func(s plan.Source) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(files[s])), nil
	}}
	st, err := w.Write(pl)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Publish(st.ID); err != nil {
		t.Fatal(err)
	}
	r, err := responder.New(responder.Config{Site: dir})
	if err != nil {
		t.Fatal(err)
	}
	return r.Handler(responder.Internal)
}

var offeredVersion = regexp.MustCompile(`<Version>([0-9.]+)</Version>`)

// TestConvergenceMatrix walks {approved, pending, restore, older, newer
// version reported, no rule} x {production, test device} x {default,
// keep_newer} through the builder and the responder, and checks every
// answer against wantTold.
func TestConvergenceMatrix(t *testing.T) {
	type state struct {
		name                       string
		approved, pending, restore string
		ruleKeep                   string // the rule's own keep_newer, "" for none
		noRule                     bool
	}
	states := []state{
		{name: "approved, pending and restore", approved: vApproved, pending: vPending, restore: vRestore},
		{name: "approved only", approved: vApproved},
		{name: "after a restore", approved: vRestore, ruleKeep: "false"},
		{name: "after a reset", approved: vApproved, restore: vRestore, ruleKeep: "false"},
		{name: "pending only", pending: vPending},
		{name: "rule keeps newer", approved: vApproved, pending: vPending, ruleKeep: "true"},
		{name: "no rule", noRule: true},
	}
	reported := []string{vApproved, vPending, vRestore, vOlder, vNewer}
	for _, global := range []bool{false, true} {
		head := ""
		if global {
			head = "keep_newer: true\n"
		}
		for _, st := range states {
			rule := ""
			if !st.noRule {
				for _, kv := range [][2]string{{"approved", st.approved}, {"pending", st.pending}, {"restore", st.restore}, {"keep_newer", st.ruleKeep}} {
					if kv[1] != "" {
						rule += "    " + kv[0] + ": " + kv[1] + "\n"
					}
				}
			}
			keep := global
			if st.ruleKeep != "" {
				keep = st.ruleKeep == "true"
			}
			h := convergeSite(t, head, rule)
			for _, test := range []bool{false, true} {
				mac := "00-04-F2-99-99-99"
				if test {
					mac = "00-04-F2-00-00-01"
				}
				for _, v := range reported {
					name := fmt.Sprintf("keep_newer=%v/%s/test=%v/on %s", global, st.name, test, v)
					req := httptest.NewRequest("POST", "/RequestHandler/ucdevice.upx", strings.NewReader(checkBody(mac, "", v)))
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != 200 {
						t.Errorf("%s: status %d: %s", name, rec.Code, rec.Body)
						continue
					}
					got := ""
					if m := offeredVersion.FindStringSubmatch(rec.Body.String()); m != nil {
						got = m[1]
					} else if !strings.Contains(rec.Body.String(), "downloads=0") {
						t.Errorf("%s: neither an update nor downloads=0:\n%s", name, rec.Body)
					}
					if want := wantTold(!st.noRule, st.approved, st.pending, test, keep, v); got != want {
						t.Errorf("%s: sent %q, want %q", name, got, want)
					}
				}
			}
		}
	}
}
