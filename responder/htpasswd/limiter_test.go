package htpasswd

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// A step is one action on a Limiter: advance the clock, record a failure,
// or check Allow.
type step struct {
	advance    time.Duration
	fail       bool // record a failure of user at addr
	user, addr string
	allow      bool // when !fail: the expected Allow
}

func fail(user, addr string) step  { return step{fail: true, user: user, addr: addr} }
func allow(user, addr string) step { return step{user: user, addr: addr, allow: true} }
func deny(user, addr string) step  { return step{user: user, addr: addr} }
func wait(d time.Duration) step    { return step{advance: d} }

func TestLimiter(t *testing.T) {
	const window = time.Minute
	tests := []struct {
		name             string
		perUser, perAddr int
		steps            [][]step
	}{
		{
			name: "per-user limit, from any address", perUser: 3, perAddr: 100,
			steps: [][]step{
				{allow("alice", "192.0.2.1"), fail("alice", "192.0.2.1"), fail("alice", "192.0.2.2")},
				{allow("alice", "192.0.2.3"), fail("alice", "192.0.2.3")},
				{deny("alice", "192.0.2.1"), deny("alice", "198.51.100.7"), allow("bob", "192.0.2.1")},
			},
		},
		{
			name: "per-address limit, for any user", perUser: 100, perAddr: 2,
			steps: [][]step{
				{fail("alice", "192.0.2.1"), fail("bob", "192.0.2.1:4444")},
				{deny("carol", "192.0.2.1"), deny("carol", "192.0.2.1:5555"), allow("carol", "192.0.2.2")},
			},
		},
		{
			name: "sliding window: the oldest failure ages out first", perUser: 2, perAddr: 100,
			steps: [][]step{
				{fail("alice", "a"), wait(30 * time.Second), fail("alice", "b"), deny("alice", "c")},
				{wait(30*time.Second - time.Nanosecond), deny("alice", "c")},
				{wait(time.Nanosecond), allow("alice", "c"), fail("alice", "c"), deny("alice", "c")},
				{wait(30 * time.Second), allow("alice", "c")},
			},
		},
		{
			name: "failures expire", perUser: 1, perAddr: 1,
			steps: [][]step{
				{fail("alice", "192.0.2.1"), deny("alice", "x"), deny("bob", "192.0.2.1")},
				{wait(window), allow("alice", "192.0.2.1")},
			},
		},
		{
			name: "IPv6 counted per /64, mapped IPv4 as IPv4", perUser: 100, perAddr: 2,
			steps: [][]step{
				{fail("a", "[2001:db8:1:2::1]:443"), fail("b", "2001:db8:1:2:ffff::9")},
				{deny("c", "2001:db8:1:2::77"), allow("c", "2001:db8:1:3::1")},
				{fail("a", "::ffff:192.0.2.9"), fail("b", "192.0.2.9:1")},
				{deny("c", "192.0.2.9")},
			},
		},
		{
			name: "empty user not counted", perUser: 1, perAddr: 100,
			steps: [][]step{
				{fail("", "a"), fail("", "b"), allow("", "c")},
			},
		},
		{
			name: "limit 0 turns a count off", perUser: 0, perAddr: 1,
			steps: [][]step{
				{fail("alice", "192.0.2.1"), fail("alice", "192.0.2.1"), fail("alice", "192.0.2.1")},
				{allow("alice", "192.0.2.2"), deny("bob", "192.0.2.1")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(tt.perUser, tt.perAddr, window)
			clock := newFakeClock()
			l.Now = clock.Now
			n := 0
			for _, group := range tt.steps {
				for _, s := range group {
					n++
					switch {
					case s.advance != 0:
						clock.Advance(s.advance)
					case s.fail:
						l.Failed(s.user, s.addr)
					default:
						if got := l.Allow(s.user, s.addr); got != s.allow {
							t.Errorf("step %d: Allow(%q, %q) = %v, want %v", n, s.user, s.addr, got, s.allow)
						}
					}
				}
			}
		})
	}
}

// TestLimiterBound: however many keys fail, at most MaxKeys are tracked,
// the least recently failed go first, and expired ones are dropped.
func TestLimiterBound(t *testing.T) {
	l := NewLimiter(1, 1, time.Minute)
	l.MaxKeys = 100
	clock := newFakeClock()
	l.Now = clock.Now
	for i := range 1000 {
		l.Failed(fmt.Sprint("user", i), fmt.Sprint("10.0.", i/256, ".", i%256))
	}
	if n, m := l.users.len(), l.addrs.len(); n != 100 || m != 100 {
		t.Errorf("tracked %d users, %d addresses, want 100 each", n, m)
	}
	if l.Allow("user0", "192.0.2.1") != true || l.Allow("user999", "192.0.2.1") != false {
		t.Error("eviction did not keep the most recent failures")
	}
	clock.Advance(time.Minute)
	l.Failed("late", "192.0.2.1")
	if n, m := l.users.len(), l.addrs.len(); n != 1 || m != 1 {
		t.Errorf("after expiry tracked %d users, %d addresses, want 1 each", n, m)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter(5, 20, time.Minute)
	l.MaxKeys = 50
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				user, addr := fmt.Sprint("u", i%70), fmt.Sprint("192.0.2.", g)
				if l.Allow(user, addr) {
					l.Failed(user, addr)
				}
			}
		}()
	}
	wg.Wait()
	if n := l.users.len(); n > 50 {
		t.Errorf("tracked %d users, want at most 50", n)
	}
}
