package publish

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/duws/duws/builder/internal/plantest"
	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/update"
)

// synthetic returns a fleet of nrules rules, each with nversions versions
// provided by packages (one package per version, holding every rule), with
// a quarter of the rules having a pending version and a tenth a restore
// version. File contents are derived from their paths, so Open needs no
// table.
func synthetic(tb testing.TB, nrules, nversions int) (*plan.Input, func(plan.Source) (io.ReadCloser, error)) {
	tb.Helper()
	var pol strings.Builder
	pol.WriteString(plantest.PolicyHead + "rules:\n")
	ids := make([]policy.Identity, nrules)
	for i := range ids {
		ids[i] = policy.Identity{DeviceType: "UCPhone", Brand: fmt.Sprintf("Brand%d", i%40), Model: fmt.Sprintf("M%d", i), Revision: "A", Locale: "ENU"}
	}
	ver := func(j int) policy.Version { return policy.Version{4, 0, 7577, uint16(4000 + j)} }
	for i, id := range ids {
		kv := []string{"approved", ver(nversions - 3).String()}
		if i%4 == 0 {
			kv = append(kv, "pending", ver(nversions-1).String())
		}
		if i%10 == 0 {
			kv = append(kv, "restore", ver(nversions-5).String())
		}
		pol.WriteString(plantest.RuleYAML(id.String(), kv...))
	}
	src := pol.String()
	p, err := policy.Parse("policy.yaml", []byte(src))
	if err != nil {
		tb.Fatal(err)
	}
	in := &plan.Input{Policy: p, PolicyBytes: []byte(src), Built: time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)}
	// As Sources.Load gives it: every update of every package with its
	// version, and the files, with their hashes, of the versions the
	// policy offers.
	names := []string{"CPE.cat", "CPE.nbt"}
	ruleIDs := make([]string, len(ids))
	for i, id := range ids {
		ruleIDs[i] = update.DerivedRuleID(id, "CPE")
	}
	for j := range nversions {
		pk := plan.Package{Name: fmt.Sprintf("%064x.cab", j), Updates: make([]update.Update, 0, nrules)}
		for i, id := range ids {
			u := update.Update{RuleID: ruleIDs[i], Identity: id, UpdateType: "CPE", Version: ver(j)}
			if j == nversions-3 || (j == nversions-1 && i%4 == 0) {
				dir := u.Dir()
				for _, n := range names {
					sum := sha256.Sum256(plantest.Content(dir, n))
					u.Files = append(u.Files, update.File{Name: n, Path: dir + "/" + n, Size: int64(len(plantest.Content(dir, n))), SHA256: hex.EncodeToString(sum[:])})
				}
			}
			pk.Updates = append(pk.Updates, u)
		}
		in.Packages = append(in.Packages, pk)
	}
	open := func(s plan.Source) (io.ReadCloser, error) {
		i := strings.LastIndexByte(s.Path, '/')
		return io.NopCloser(bytes.NewReader(plantest.Content(s.Path[:i], s.Path[i+1:]))), nil
	}
	return in, open
}

func maxRSS() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024 // KiB on Linux
}

// BenchmarkBuild10k builds a fleet of 10,000 rules with 50 known versions
// each (a million answers in the lookup tables), then rebuilds after one
// approval. Run with -benchtime=1x; it reports seconds per build and the
// process's peak RSS in MiB.
func BenchmarkBuild10k(b *testing.B) {
	// The soft memory limit duws build sets (cmd/duws buildMemoryLimit).
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(448 << 20))
	in, open := synthetic(b, 10000, 50)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "input-heap-MiB")
	b.ResetTimer()
	for range b.N {
		dir := b.TempDir()
		w := &Writer{Dir: dir, Keep: 2, Open: open}
		start := time.Now()
		p, err := plan.MakePlan(in)
		if err != nil {
			b.Fatal(err)
		}
		st, err := w.Write(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Publish(st.ID); err != nil {
			b.Fatal(err)
		}
		full := time.Since(start)
		p = nil // a rebuild is another run of duws build: the first plan is gone
		runtime.GC()

		// Approve the pending version of the first rule.
		r := &in.Policy.Rules[0]
		old := *r
		r.Restore, r.Approved, r.Pending = r.Approved, r.Pending, nil
		in.PolicyBytes = append(in.PolicyBytes, "# approved\n"...)
		start = time.Now()
		p, err = plan.MakePlan(in)
		if err != nil {
			b.Fatal(err)
		}
		st2, err := w.Write(p)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Publish(st2.ID); err != nil {
			b.Fatal(err)
		}
		rebuild := time.Since(start)
		*r = old
		in.PolicyBytes = in.PolicyBytes[:len(in.PolicyBytes)-len("# approved\n")]
		b.ReportMetric(full.Seconds(), "full-s")
		b.ReportMetric(rebuild.Seconds(), "rebuild-s")
		b.ReportMetric(float64(len(p.Files)), "files")
		b.Logf("full build %v (%d files written), rebuild after one approval %v (%d written, %d linked)", full, st.Written, rebuild, st2.Written, st2.Linked)
	}
	b.ReportMetric(maxRSS(), "peak-RSS-MiB")
}
