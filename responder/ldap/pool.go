package ldap

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// A pool holds at most size connections, lent one operation at a time.
type pool struct {
	dial func(context.Context) (*goldap.Conn, error)
	sem  chan struct{} // one token per connection lent or being dialled
	mu   sync.Mutex
	idle []idleConn // most recently returned last
	// dials and ops count connections made and operations run, for
	// tests of the bound and of the dummy bind.
	dials, ops atomic.Int64
}

type idleConn struct {
	c     *goldap.Conn
	since time.Time
}

func newPool(size int, dial func(context.Context) (*goldap.Conn, error)) *pool {
	return &pool{dial: dial, sem: make(chan struct{}, size)}
}

// do runs op on a connection with timeout (or what is left of ctx, if
// less). A connection that came from the idle list and fails with a
// network error was probably dropped by the directory while it idled:
// op is tried once more on a new one. A connection whose op failed with
// a network error or ran out of time is closed.
func (p *pool) do(ctx context.Context, timeout time.Duration, op func(*goldap.Conn) error) error {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return errors.Join(errPoolWait, ctx.Err())
	}
	defer func() { <-p.sem }()
	for attempt := 0; ; attempt++ {
		c, reused := p.take()
		if c == nil {
			var err error
			p.dials.Add(1)
			if c, err = p.dial(ctx); err != nil {
				return err
			}
		}
		t := timeout
		if dl, ok := ctx.Deadline(); ok {
			t = min(t, time.Until(dl))
		}
		if t <= 0 {
			p.put(c)
			return context.DeadlineExceeded
		}
		c.SetTimeout(t)
		// An ended context closes the connection, which ends op at once.
		stop := context.AfterFunc(ctx, func() { c.Close() })
		p.ops.Add(1)
		err := op(c)
		if !stop() {
			return errors.Join(err, ctx.Err())
		}
		if broken(err) {
			c.Close()
			if reused && attempt == 0 && ctx.Err() == nil {
				continue
			}
			return err
		}
		p.put(c)
		return err
	}
}

var errPoolWait = errors.New("no free directory connection")

// broken says whether err leaves the connection unusable.
func broken(err error) bool {
	return goldap.IsErrorWithCode(err, goldap.ErrorNetwork) || goldap.IsErrorWithCode(err, goldap.LDAPResultUnavailable) ||
		goldap.IsErrorWithCode(err, goldap.LDAPResultBusy) || errors.Is(err, context.DeadlineExceeded)
}

// take returns an idle connection, or nil.
func (p *pool) take() (*goldap.Conn, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.idle) > 0 {
		ic := p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if time.Since(ic.since) < maxIdle && !ic.c.IsClosing() {
			return ic.c, true
		}
		go ic.c.Close()
	}
	return nil, false
}

func (p *pool) put(c *goldap.Conn) {
	if c.IsClosing() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// The list never outgrows the tokens: a connection is put back only
	// by the holder of one.
	p.idle = append(p.idle, idleConn{c, time.Now()})
}

func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.mu.Unlock()
	for _, ic := range idle {
		ic.c.Close()
	}
}
