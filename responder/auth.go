package responder

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duws/duws/responder/account"
)

// Verification limits.
const (
	// DefaultCacheTTL is how long a verified user name and password are
	// accepted without asking the account source again: long enough for
	// a phone's check and the downloads that follow, short enough that a
	// changed password or a removed account stops working soon.
	DefaultCacheTTL = 2 * time.Minute
	// maxCached bounds the credential cache: more phones than that
	// authenticating within one lifetime only cost verifications.
	maxCached = 4096
	// verifyWait is how long a request waits for a free verification
	// slot before it is told to retry (503): long enough to ride out a
	// burst, short enough that a phone's request does not time out.
	verifyWait = time.Second
	// verifyTimeout bounds one verification, for account sources that
	// ask a server.
	verifyTimeout = 5 * time.Second
	// retryAfterBusy is the Retry-After of a 503, in seconds.
	retryAfterBusy = 5
)

// credCache remembers successful verifications for a short time. It keys
// them by an HMAC of the user name and password under a key made at
// start-up, so that neither password nor unsalted hash is ever held, and
// it never remembers a failure.
type credCache struct {
	key     [32]byte
	ttl     time.Duration
	now     func() time.Time
	mu      sync.Mutex
	entries map[[32]byte]cached
}

type cached struct {
	res     account.Result
	expires time.Time
}

func newCredCache(ttl time.Duration) *credCache {
	c := &credCache{ttl: ttl, now: time.Now, entries: map[[32]byte]cached{}}
	rand.Read(c.key[:]) // never fails
	return c
}

func (c *credCache) sum(user, password string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(user)))
	m.Write(n[:])
	m.Write([]byte(user))
	m.Write([]byte(password))
	var s [32]byte
	m.Sum(s[:0])
	return s
}

func (c *credCache) get(k [32]byte) (account.Result, bool) {
	if c.ttl <= 0 {
		return account.Result{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok {
		return account.Result{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.entries, k)
		return account.Result{}, false
	}
	return e.res, true
}

func (c *credCache) put(k [32]byte, res account.Result) {
	if c.ttl <= 0 {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCached {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		for k := range c.entries {
			if len(c.entries) < maxCached {
				break
			}
			delete(c.entries, k) // an arbitrary one: it only costs a verification
		}
	}
	c.entries[k] = cached{res: res, expires: now.Add(c.ttl)}
}

func (c *credCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// A client that is locked out is answered after refusalDelay: a guessing
// loop's connections then wait instead of working, so that a flood of
// wrong passwords from outside costs the processors almost nothing and
// checks from inside keep them. refusalDelaySlots bounds how many
// refusals wait at once (each holds a goroutine); beyond it, refusals are
// answered at once.
const (
	refusalDelay      = time.Second
	refusalDelaySlots = 1024
)

// delayRefusal waits refusalDelay, or until the request is gone, when a
// slot is free.
func (r *Responder) delayRefusal(ctx context.Context) {
	select {
	case r.tarpit <- struct{}{}:
	default:
		return
	}
	defer func() { <-r.tarpit }()
	t := time.NewTimer(refusalDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// authenticate checks the HTTP Basic credentials of a request from
// outside. In order: credentials are accepted only over TLS, or from a
// trusted proxy that says it terminated TLS; credentials verified a moment
// ago are accepted from the cache, even while a lockout lasts; otherwise
// the attempt is counted against the limits before the account source
// is asked, in at most a bounded number of verifications at a time.
func (r *Responder) authenticate(w http.ResponseWriter, req *http.Request, o origin) (account.Result, error) {
	if req.TLS == nil && !(o.proxied && strings.EqualFold(strings.TrimSpace(req.Header.Get("X-Forwarded-Proto")), "https")) {
		r.metrics.authFailures.Add(1)
		return account.Result{}, statusErr(http.StatusForbidden, "credentials are accepted only over HTTPS", nil)
	}
	user, pass, ok := req.BasicAuth()
	if !ok || r.cfg.Accounts == nil {
		return account.Result{}, r.challenge(w)
	}
	k := r.cache.sum(user, pass)
	if res, ok := r.cache.get(k); ok {
		r.metrics.cacheHits.Add(1)
		return res, nil
	}
	res, retry, locked, ok := r.limiter.reserve(user, o.addr)
	if !ok {
		r.metrics.authFailures.Add(1)
		r.metrics.rateLimited.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(int((retry+time.Second-1)/time.Second)))
		r.delayRefusal(req.Context())
		return account.Result{}, statusErr(http.StatusTooManyRequests, "too many failed attempts; try again later", nil)
	}
	if len(locked) > 0 {
		r.metrics.lockouts.Add(int64(len(locked)))
		// The user name is what is attacked; the password is never logged.
		r.log.Warn("login attempts locked out", "user", logName(user), "client", o.String(), "counts", strings.Join(locked, ","), "window", r.limiter.lim.Window)
	}
	timer := time.NewTimer(verifyWait)
	select {
	case r.slots <- struct{}{}:
		timer.Stop()
	case <-timer.C:
		r.limiter.refund(res)
		r.metrics.verifyBusy.Add(1)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
		return account.Result{}, statusErr(http.StatusServiceUnavailable, "busy; try again later", nil)
	case <-req.Context().Done():
		timer.Stop()
		r.limiter.refund(res)
		return account.Result{}, statusErr(http.StatusServiceUnavailable, "request cancelled", req.Context().Err())
	}
	ctx, cancel := context.WithTimeout(req.Context(), verifyTimeout)
	r.metrics.verifications.Add(1)
	got, err := r.cfg.Accounts.Verify(ctx, user, pass)
	cancel()
	<-r.slots
	switch {
	case err == nil:
		r.limiter.refund(res)
		r.cache.put(k, got)
		return got, nil
	case errors.Is(err, account.ErrUnavailable):
		r.limiter.refund(res)
		r.metrics.sourceUnavailable.Add(1)
		r.log.Warn("account source unavailable", "source", r.cfg.Accounts.Name(), "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterBusy))
		return account.Result{}, statusErr(http.StatusServiceUnavailable, "accounts unavailable; try again later", nil)
	}
	r.log.Info("credentials refused", "client", o.String(), "err", err)
	return account.Result{}, r.challenge(w)
}

// maxLoggedName bounds a user name in the log: a client chooses it.
const maxLoggedName = 64

// logName returns a user name as logged, cut to maxLoggedName bytes.
func logName(user string) string {
	if len(user) <= maxLoggedName {
		return user
	}
	return strings.ToValidUTF8(user[:maxLoggedName], "") + "…"
}

// challenge answers 401, the same for an unknown user and a wrong
// password.
func (r *Responder) challenge(w http.ResponseWriter) error {
	r.metrics.authFailures.Add(1)
	w.Header().Set("WWW-Authenticate", `Basic realm="duws", charset="UTF-8"`)
	return statusErr(http.StatusUnauthorized, "credentials required", nil)
}
