package responder

import (
	"container/list"
	"net/netip"
	"sync"
	"time"
)

// Limits bound password guessing: at most so many verifications that fail
// may be attempted in a sliding window, per user name from one address,
// per address, and per user name from anywhere. An attempt is counted
// before its password is verified, so that concurrent guesses cannot slip
// past the limit, and is taken back when the password proves right or the
// account source cannot tell.
//
// The per-user limit across addresses exists to slow down a guesser with
// many addresses; it is set well above the others, since anyone can use
// it up to lock a user out. Credentials verified within the credential
// cache's lifetime are accepted even then.
type Limits struct {
	// PerUserAddr is how many attempts one user name may fail from one
	// address.
	PerUserAddr int
	// PerAddr is how many attempts may fail from one address, for any
	// user names. IPv6 addresses count per /64, the block one subscriber
	// usually holds.
	PerAddr int
	// PerUser is how many attempts one user name may fail from all
	// addresses together.
	PerUser int
	// Window is how long a failure counts.
	Window time.Duration
	// MaxKeys bounds how many keys each count tracks; beyond it, the key
	// that failed longest ago is forgotten.
	MaxKeys int
}

// DefaultLimits are the limits of a Config that sets none: a phone
// retrying with an old password stays well under them; a password guesser
// does not. A key costs about 200 bytes plus 24 per failure its limit
// allows, so the three counts stay under 10 MiB however many names and
// addresses are tried.
var DefaultLimits = Limits{PerUserAddr: 5, PerAddr: 20, PerUser: 100, Window: time.Minute, MaxKeys: 10000}

// limiter counts attempts; its lock is held only for map updates.
type limiter struct {
	lim    Limits
	now    func() time.Time
	mu     sync.Mutex
	counts [3]attemptTable // user+address, address, user
}

func newLimiter(lim Limits) *limiter {
	l := &limiter{lim: lim, now: time.Now}
	for i, n := range []int{lim.PerUserAddr, lim.PerAddr, lim.PerUser} {
		l.counts[i] = attemptTable{limit: n, keys: map[string]*list.Element{}}
	}
	return l
}

// reservation is an attempt counted by reserve, to be taken back by
// refund when it did not fail.
type reservation struct {
	keys [3]string
	at   time.Time
}

// reserve counts an attempt of user from addr. It refuses, with how long
// until the attempt would be allowed, when a count is used up; locked
// names the counts this attempt used up (a lockout begins), for the log.
func (l *limiter) reserve(user string, addr netip.Addr) (res reservation, retry time.Duration, locked []string, ok bool) {
	if l.lim.Window <= 0 {
		return reservation{}, 0, nil, true
	}
	a := addrKey(addr)
	res = reservation{keys: [3]string{user + "\x00" + a, a, user}, at: l.now()}
	if user == "" {
		res.keys[0], res.keys[2] = "", ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.counts {
		if d := l.counts[i].wait(res.keys[i], res.at, l.lim.Window); d > retry {
			retry = d
		}
	}
	if retry > 0 {
		return reservation{}, retry, nil, false
	}
	for i := range l.counts {
		if l.counts[i].record(res.keys[i], res.at, l.lim.Window, l.lim.MaxKeys) {
			locked = append(locked, [...]string{"user-address", "address", "user"}[i])
		}
	}
	return res, 0, locked, true
}

// refund takes back an attempt that did not fail.
func (l *limiter) refund(res reservation) {
	if res.at.IsZero() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.counts {
		l.counts[i].remove(res.keys[i], res.at)
	}
}

// addrKey reduces addr to what is counted: an IPv4-mapped IPv6 address as
// IPv4, an IPv6 address as its /64, and an unknown address as "unknown".
func addrKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// An attemptTable counts recent attempts per key, in least recently
// attempted order.
type attemptTable struct {
	limit int
	keys  map[string]*list.Element // of *attempts
	order list.List                // front: most recent attempt
}

// attempts are the times of a key's most recent attempts, oldest first,
// at most limit of them: that is all it takes to tell whether limit
// attempts happened within the window.
type attempts struct {
	key   string
	times []time.Time
}

// wait returns how long until key may attempt again, 0 if it may now.
func (t *attemptTable) wait(key string, now time.Time, window time.Duration) time.Duration {
	if t.limit <= 0 || key == "" {
		return 0
	}
	e := t.keys[key]
	if e == nil {
		return 0
	}
	a := e.Value.(*attempts)
	if len(a.times) < t.limit {
		return 0
	}
	return max(0, a.times[0].Add(window).Sub(now))
}

// record adds an attempt of key at now, forgetting keys whose attempts are
// all older than window and then, beyond maxKeys, the least recently
// attempted. It reports whether key has now used up its limit.
func (t *attemptTable) record(key string, now time.Time, window time.Duration, maxKeys int) bool {
	if t.limit <= 0 || key == "" {
		return false
	}
	for e := t.order.Back(); e != nil; e = t.order.Back() {
		a := e.Value.(*attempts)
		if now.Sub(a.times[len(a.times)-1]) < window {
			break
		}
		t.forget(e)
	}
	e := t.keys[key]
	if e == nil {
		e = t.order.PushFront(&attempts{key: key})
		t.keys[key] = e
	} else {
		t.order.MoveToFront(e)
	}
	a := e.Value.(*attempts)
	if len(a.times) == t.limit {
		copy(a.times, a.times[1:])
		a.times = a.times[:t.limit-1]
	}
	a.times = append(a.times, now)
	for len(t.keys) > max(maxKeys, 1) {
		t.forget(t.order.Back())
	}
	return len(a.times) == t.limit && now.Sub(a.times[0]) < window
}

// remove takes back the attempt of key at time at, if it is still counted.
func (t *attemptTable) remove(key string, at time.Time) {
	e := t.keys[key]
	if t.limit <= 0 || e == nil {
		return
	}
	a := e.Value.(*attempts)
	for i := len(a.times) - 1; i >= 0; i-- {
		if a.times[i].Equal(at) {
			a.times = append(a.times[:i], a.times[i+1:]...)
			break
		}
	}
	if len(a.times) == 0 {
		t.forget(e)
	}
}

func (t *attemptTable) forget(e *list.Element) {
	delete(t.keys, e.Value.(*attempts).key)
	t.order.Remove(e)
}
