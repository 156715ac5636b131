package htpasswd

import (
	"container/list"
	"net"
	"net/netip"
	"sync"
	"time"
)

// DefaultMaxKeys is how many user names, and separately how many
// addresses, a [Limiter] tracks unless told otherwise. A key costs about
// 200 bytes plus 24 per failure its limit allows, so with limits of 5 and
// 20 the default bounds a Limiter at about 10 MiB however many names and
// addresses are tried.
const DefaultMaxKeys = 10000

// A Limiter slows down password guessing by counting failed attempts per
// user name and per client address, independently, over a sliding
// window: once a user name, or an address, has failed as many times as
// its limit within the last window, [Limiter.Allow] refuses it until the
// oldest of those failures is a window old. Successful logins and refused
// attempts count for nothing, so a phone that keeps retrying with an old
// password does not keep its user locked out forever.
//
// Its methods are safe for concurrent use. It never hashes, so its lock
// is held only for map updates.
//
// # Limits
//
// The per-user limit lets anyone who can reach the responder lock a known
// user out for a window by failing on purpose; that is the price of
// making guesses at one account slow from many addresses. Counts live in
// memory, per process, and are lost on restart. When more than MaxKeys
// names or addresses are tracked the one that failed longest ago is
// forgotten, so an attacker who fails with MaxKeys other names can reset
// a name's count; the per-address limit still holds then. IPv6 clients
// are counted per /64, the block one subscriber usually holds.
type Limiter struct {
	// Now returns the current time; tests replace it. Change it, and
	// MaxKeys, before first use.
	Now func() time.Time
	// MaxKeys bounds how many user names, and separately how many
	// addresses, are tracked. NewLimiter sets it to DefaultMaxKeys.
	MaxKeys int

	window time.Duration
	mu     sync.Mutex
	users  failureTable
	addrs  failureTable
}

// NewLimiter returns a Limiter that allows at most perUser failures per
// user name and perAddr failures per client address within window. A
// limit of 0 or less turns that count off, and so does a window of 0 or
// less for both.
func NewLimiter(perUser, perAddr int, window time.Duration) *Limiter {
	return &Limiter{
		Now:     time.Now,
		MaxKeys: DefaultMaxKeys,
		window:  window,
		users:   failureTable{limit: perUser, keys: make(map[string]*list.Element)},
		addrs:   failureTable{limit: perAddr, keys: make(map[string]*list.Element)},
	}
}

// Allow reports whether an attempt to log in as user from addr may have
// its password checked: false when either the user name or the address
// has used up its failures. addr is a client IP address, with or without
// a port; an empty user is not counted.
func (l *Limiter) Allow(user, addr string) bool {
	if l.window <= 0 {
		return true
	}
	now := l.Now()
	key := addrKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.users.blocked(user, now, l.window) && !l.addrs.blocked(key, now, l.window)
}

// Failed records a failed password check for user from addr. Call it only
// for attempts that Allow let through.
func (l *Limiter) Failed(user, addr string) {
	if l.window <= 0 {
		return
	}
	now := l.Now()
	key := addrKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users.record(user, now, l.window, l.MaxKeys)
	l.addrs.record(key, now, l.window, l.MaxKeys)
}

// addrKey reduces addr to what is counted: the host without the port, so
// that changing source port does not help, an IPv4-mapped IPv6 address
// as IPv4, and an IPv6 address to its /64.
func addrKey(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// A failureTable counts recent failures per key, in least recently
// failed order.
type failureTable struct {
	limit int
	keys  map[string]*list.Element // of *failures
	order list.List                // front: most recent failure
}

// failures are the times of a key's most recent failures, oldest first,
// at most limit of them: that is all it takes to tell whether limit
// failures happened within the window.
type failures struct {
	key   string
	times []time.Time
}

// blocked reports whether key has failed limit times within window.
func (t *failureTable) blocked(key string, now time.Time, window time.Duration) bool {
	if t.limit <= 0 || key == "" {
		return false
	}
	e := t.keys[key]
	if e == nil {
		return false
	}
	f := e.Value.(*failures)
	return len(f.times) >= t.limit && now.Sub(f.times[0]) < window
}

// record adds a failure of key at now, forgetting keys whose failures are
// all older than window and then, beyond maxKeys, the least recently
// failed.
func (t *failureTable) record(key string, now time.Time, window time.Duration, maxKeys int) {
	if t.limit <= 0 || key == "" {
		return
	}
	for e := t.order.Back(); e != nil; e = t.order.Back() {
		f := e.Value.(*failures)
		if now.Sub(f.times[len(f.times)-1]) < window {
			break
		}
		t.forget(e)
	}
	e := t.keys[key]
	if e == nil {
		e = t.order.PushFront(&failures{key: key})
		t.keys[key] = e
	} else {
		t.order.MoveToFront(e)
	}
	f := e.Value.(*failures)
	if len(f.times) == t.limit {
		copy(f.times, f.times[1:])
		f.times = f.times[:t.limit-1]
	}
	f.times = append(f.times, now)
	for len(t.keys) > max(maxKeys, 1) {
		t.forget(t.order.Back())
	}
}

func (t *failureTable) forget(e *list.Element) {
	delete(t.keys, e.Value.(*failures).key)
	t.order.Remove(e)
}

// len returns how many keys are tracked, for tests.
func (t *failureTable) len() int {
	return len(t.keys)
}
