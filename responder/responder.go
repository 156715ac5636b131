// Package responder is the edge of duws: it serves a built site tree to
// Lync Phone Edition devices and does only two things at run time —
// decide whether a request comes from inside or outside the firewall, and
// authenticate the user when it comes from outside. Every decision about
// versions was made when the tree was built; the responder computes a key
// from the request and reads the answer. It imports only the site format
// (packages site and device), never the policy or the cabinet code; a
// test guards that.
package responder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/duws/duws/builder/site"
)

// Authenticator checks a user's credentials.
type Authenticator interface {
	Check(user, password string) bool
}

// Limiter slows down password guessing.
type Limiter interface {
	Allow(user, addr string) bool
	Failed(user, addr string)
}

// Event is what the responder reports of each check, for the audit log.
type Event struct {
	Time     time.Time
	Client   string
	Request  *Request // nil when the body did not parse
	Offered  []string // per module: "UpdateType:version", or ""
	User     string   // the signed-in user the device reports
	Outcome  string
	External bool
}

// Outcomes of a check.
const (
	OutcomeUpdate       = "update"
	OutcomeNoUpdate     = "no-update"
	OutcomeDenied       = "denied"
	OutcomeUnauthorized = "unauthorized"
	OutcomeRateLimited  = "rate-limited"
	OutcomeBadRequest   = "bad-request"
	OutcomeError        = "error"
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
	// Users checks credentials from outside; with nil, nobody outside
	// authenticates.
	Users   Authenticator
	Limiter Limiter
	// Audit receives every check; it must not block for long.
	Audit  func(Event)
	Logger *slog.Logger
}

// Responder serves the live tree of a site.
type Responder struct {
	cfg     Config
	tree    atomic.Pointer[Tree]
	metrics *metrics
	log     *slog.Logger
}

// New loads the site's live tree.
func New(cfg Config) (*Responder, error) {
	r := &Responder{cfg: cfg, metrics: newMetrics(), log: cfg.Logger}
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
	r.tree.Store(t)
	r.log.Info("serving new tree", "tree", t.ID, "built", t.Manifest.Built)
	return true, nil
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
