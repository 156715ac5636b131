// Package responder is the edge of duws: it serves a built site tree to
// Lync Phone Edition devices and does only two things at run time —
// decide whether a request comes from inside or outside the firewall, and
// authenticate the user when it comes from outside. Every decision about
// versions was made when the tree was built; the responder computes a key
// from the request and reads the answer. It imports only the site format
// (packages site and device), never the policy or the cabinet code; a
// test guards that.
//
// # Under hostile clients
//
// Memory does not grow with what clients send: identities and update
// types the tree does not know are answered from the manifest's list of
// lookup tables, and every table kept (the credential cache, the
// failed-attempt counts) is bounded. Credentials are verified through an
// [account.Source], at most [Config.MaxVerifications] at a time, each
// attempt counted against [Limits] before it is verified, and successes
// remembered for [Config.CacheTTL]. docs/PROTOCOL.md lists every limit.
package responder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/duws/duws/builder/site"
	"github.com/duws/duws/responder/account"
)

// Event is what the responder reports of each check and each download,
// for the audit log.
type Event struct {
	Time   time.Time
	Kind   string // EventCheck or EventDownload
	Client string
	// Listener is the kind of listener the request arrived on.
	Listener string
	Request  *Request // a check's body; nil when it did not parse
	Offered  []string // per module: "UpdateType:version", or ""
	Path     string   // a download's path under files/, as requested
	User     string   // the signed-in user the device reports
	// Account and Source name the account the request's credentials
	// verified and the account source that verified it; empty when the
	// request needed none or carried none that were valid.
	Account, Source string
	Outcome         string
	External        bool
}

// Kinds of Event.
const (
	EventCheck    = "check"
	EventDownload = "download"
)

// Outcomes of a check.
const (
	OutcomeUpdate       = "update"
	OutcomeNoUpdate     = "no-update"
	OutcomeDenied       = "denied"
	OutcomeUnauthorized = "unauthorized"
	OutcomeRateLimited  = "rate-limited"
	OutcomeBadRequest   = "bad-request"
	OutcomeUnavailable  = "unavailable" // busy, or the account source could not tell
	OutcomeError        = "error"
	// Downloads.
	OutcomeServed   = "served"
	OutcomeNotFound = "not-found"
)

// Config says how a Responder behaves.
type Config struct {
	// Site is the site directory whose current tree is served; it is
	// watched for a new tree.
	Site string
	// TopologySite is the Lync topology site this responder serves, for
	// site-scoped test devices; empty for none.
	TopologySite string
	// InternalInsideOnly limits the internal listener to the inside
	// networks of the tree: other clients reaching it are treated as
	// outside.
	InternalInsideOnly bool
	// Accounts verifies credentials from outside; with nil, nobody
	// outside authenticates. Chain several sources with account.Chain.
	Accounts account.Source
	// Limits bound password guessing; the zero value means
	// DefaultLimits.
	Limits Limits
	// CacheTTL is how long successful verifications are remembered:
	// zero means DefaultCacheTTL, a negative value turns the cache off.
	CacheTTL time.Duration
	// MaxVerifications bounds the verifications in progress at once, so
	// that checks from inside are not starved of CPU by password hashing;
	// zero means half the CPUs, at least one.
	MaxVerifications int
	// Audit receives every check and every download; it must not block
	// for long.
	Audit func(Event)
	// AuditDropped, if set, counts the audit rows that were not written,
	// for the metrics.
	AuditDropped func() int64
	Logger       *slog.Logger
}

// Responder serves the live tree of a site.
type Responder struct {
	cfg     Config
	tree    atomic.Pointer[Tree]
	metrics *metrics
	log     *slog.Logger
	limiter *limiter
	cache   *credCache
	slots   chan struct{} // one per verification in progress
	tarpit  chan struct{} // one per refusal being delayed
}

// New loads the site's live tree.
func New(cfg Config) (*Responder, error) {
	if cfg.Limits == (Limits{}) {
		cfg.Limits = DefaultLimits
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.MaxVerifications <= 0 {
		cfg.MaxVerifications = max(1, runtime.GOMAXPROCS(0)/2)
	}
	r := &Responder{cfg: cfg, metrics: newMetrics(), log: cfg.Logger, limiter: newLimiter(cfg.Limits),
		cache: newCredCache(cfg.CacheTTL), slots: make(chan struct{}, cfg.MaxVerifications),
		tarpit: make(chan struct{}, refusalDelaySlots)}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	t, err := LoadTree(cfg.Site)
	if err != nil {
		return nil, err
	}
	r.tree.Store(t)
	return r, nil
}

// Tree returns the tree being served.
func (r *Responder) Tree() *Tree { return r.tree.Load() }

// Reload loads the site's live tree if it is not the one being served,
// and swaps it in. Requests in flight finish with the tree they started
// with; a tree that fails to load leaves the old one serving.
func (r *Responder) Reload() (bool, error) {
	target, err := filepath.EvalSymlinks(filepath.Join(r.cfg.Site, site.CurrentName))
	if err != nil {
		if _, serr := os.Stat(filepath.Join(r.cfg.Site, site.ManifestName)); serr == nil {
			return false, nil // a bare tree: nothing to follow
		}
		return false, err
	}
	if filepath.Base(target) == r.tree.Load().ID {
		return false, nil
	}
	t, err := LoadTree(r.cfg.Site)
	if err != nil {
		r.metrics.reloadFailures.Add(1)
		return false, fmt.Errorf("responder: new tree: %w", err)
	}
	r.tree.Swap(t).release() // closes the old tree's files when its downloads end
	r.log.Info("serving new tree", "tree", t.ID, "built", t.Manifest.Built)
	return true, nil
}

// acquireTree returns the tree being served with a reference taken for a
// request; release it when done.
func (r *Responder) acquireTree() *Tree {
	for {
		if t := r.tree.Load(); t.acquire() {
			return t
		}
		// Swapped and closed between the load and the acquire: the new
		// tree is in place now.
	}
}

// Watch reloads the tree whenever the site's current link changes, until
// ctx ends.
func (r *Responder) Watch(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if _, err := r.Reload(); err != nil && !errors.Is(err, context.Canceled) {
				r.log.Error("reload", "err", err)
			}
		}
	}
}
