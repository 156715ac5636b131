package responder

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// metrics are the responder's counters, exposed in the Prometheus text
// format on the admin listener. Written by hand: a few counters and one
// histogram do not justify a client library.
type metrics struct {
	mu             sync.Mutex
	outcomes       map[string]*atomic.Int64
	denials        atomic.Int64
	authFailures   atomic.Int64
	bytesServed    atomic.Int64
	reloadFailures atomic.Int64
	// Authentication.
	cacheHits         atomic.Int64
	verifications     atomic.Int64
	rateLimited       atomic.Int64
	lockouts          atomic.Int64
	verifyBusy        atomic.Int64
	sourceUnavailable atomic.Int64
	buckets           [len(latencyBounds) + 1]atomic.Int64
	latencySum        atomic.Int64 // nanoseconds
	latencyCount      atomic.Int64
}

// latencyBounds are the histogram's upper bounds, in seconds.
var latencyBounds = [...]float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5}

func newMetrics() *metrics {
	m := &metrics{outcomes: map[string]*atomic.Int64{}}
	for _, o := range []string{OutcomeUpdate, OutcomeNoUpdate, OutcomeDenied, OutcomeUnauthorized, OutcomeRateLimited, OutcomeBadRequest, OutcomeUnavailable, OutcomeError} {
		m.outcomes[o] = new(atomic.Int64)
	}
	return m
}

func (m *metrics) checks(outcome string) {
	if c := m.outcomes[outcome]; c != nil {
		c.Add(1)
	}
}

func (m *metrics) observe(d time.Duration) {
	s := d.Seconds()
	i := sort.SearchFloat64s(latencyBounds[:], s)
	m.buckets[i].Add(1)
	m.latencySum.Add(int64(d))
	m.latencyCount.Add(1)
}

// AdminHandler serves /metrics and /healthz for the admin listener.
func (r *Responder) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok %s\n", r.tree.Load().ID)
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		m := r.metrics
		t := r.tree.Load()
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		fmt.Fprintln(w, "# HELP duws_checks_total Device checks answered, by outcome.")
		fmt.Fprintln(w, "# TYPE duws_checks_total counter")
		names := make([]string, 0, len(m.outcomes))
		for o := range m.outcomes {
			names = append(names, o)
		}
		sort.Strings(names)
		for _, o := range names {
			fmt.Fprintf(w, "duws_checks_total{outcome=%q} %d\n", o, m.outcomes[o].Load())
		}
		counter := func(name, help string, v int64) {
			fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
		}
		counter("duws_denials_total", "Checks from outside refused for want of a signed-in user.", m.denials.Load())
		counter("duws_auth_failures_total", "Requests from outside with missing or wrong credentials, or rate-limited.", m.authFailures.Load())
		counter("duws_bytes_served_total", "Bytes of update files sent.", m.bytesServed.Load())
		counter("duws_reload_failures_total", "New trees that failed to load.", m.reloadFailures.Load())
		counter("duws_credential_cache_hits_total", "Requests from outside accepted on credentials verified a moment before.", m.cacheHits.Load())
		counter("duws_verifications_total", "Credentials verified by an account source.", m.verifications.Load())
		counter("duws_rate_limited_total", "Requests from outside refused (429) for too many failed attempts.", m.rateLimited.Load())
		counter("duws_lockouts_total", "Failed-attempt counts (user at an address, address, user) used up: lockouts begun.", m.lockouts.Load())
		counter("duws_verify_busy_total", "Requests from outside refused (503) for want of a free verification slot.", m.verifyBusy.Load())
		counter("duws_account_source_unavailable_total", "Verifications the account source could not decide (503).", m.sourceUnavailable.Load())
		if r.cfg.AuditDropped != nil {
			counter("duws_audit_rows_dropped_total", "Audit rows not written: the day's files were full, or a write failed.", r.cfg.AuditDropped())
		}
		fmt.Fprintln(w, "# HELP duws_request_duration_seconds Time to answer a request.")
		fmt.Fprintln(w, "# TYPE duws_request_duration_seconds histogram")
		var cum int64
		for i, b := range latencyBounds {
			cum += m.buckets[i].Load()
			fmt.Fprintf(w, "duws_request_duration_seconds_bucket{le=\"%g\"} %d\n", b, cum)
		}
		cum += m.buckets[len(latencyBounds)].Load()
		fmt.Fprintf(w, "duws_request_duration_seconds_bucket{le=\"+Inf\"} %d\n", cum)
		fmt.Fprintf(w, "duws_request_duration_seconds_sum %g\n", time.Duration(m.latencySum.Load()).Seconds())
		fmt.Fprintf(w, "duws_request_duration_seconds_count %d\n", m.latencyCount.Load())
		fmt.Fprintln(w, "# HELP duws_tree_info The tree being served.")
		fmt.Fprintln(w, "# TYPE duws_tree_info gauge")
		fmt.Fprintf(w, "duws_tree_info{tree=%q,inputs=%q} 1\n", t.ID, t.Manifest.Inputs.Digest)
		fmt.Fprintln(w, "# HELP duws_tree_age_seconds Seconds since the served tree's inputs changed.")
		fmt.Fprintln(w, "# TYPE duws_tree_age_seconds gauge")
		fmt.Fprintf(w, "duws_tree_age_seconds %g\n", time.Since(t.Built).Seconds())
	})
	return mux
}
