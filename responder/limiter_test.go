package responder

import (
	"net/netip"
	"testing"
	"time"

	"github.com/duws/duws/responder/account"
)

// A step is one action on a limiter: advance the clock, or reserve an
// attempt and say whether it was let through; a let-through attempt fails
// unless refunded.
type step struct {
	advance    time.Duration
	user, addr string
	allow      bool
	refund     bool // the attempt succeeded: take it back
}

func try(user, addr string) step     { return step{user: user, addr: addr, allow: true} }
func succeed(user, addr string) step { return step{user: user, addr: addr, allow: true, refund: true} }
func deny(user, addr string) step    { return step{user: user, addr: addr} }
func wait(d time.Duration) step      { return step{advance: d} }

func TestLimiter(t *testing.T) {
	const window = time.Minute
	tests := []struct {
		name  string
		lim   Limits
		steps []step
	}{
		{
			name: "per user and address", lim: Limits{PerUserAddr: 2, PerAddr: 100, PerUser: 100, Window: window},
			steps: []step{try("alice", "192.0.2.1"), try("alice", "192.0.2.1"), deny("alice", "192.0.2.1"),
				try("alice", "192.0.2.2"), try("bob", "192.0.2.1")},
		},
		{
			name: "per address, for any user", lim: Limits{PerUserAddr: 100, PerAddr: 2, PerUser: 100, Window: window},
			steps: []step{try("alice", "192.0.2.1"), try("bob", "192.0.2.1"), deny("carol", "192.0.2.1"), try("carol", "192.0.2.2")},
		},
		{
			name: "per user from anywhere", lim: Limits{PerUserAddr: 100, PerAddr: 100, PerUser: 2, Window: window},
			steps: []step{try("alice", "192.0.2.1"), try("alice", "192.0.2.2"), deny("alice", "192.0.2.3"), try("bob", "192.0.2.3")},
		},
		{
			name: "successes are taken back", lim: Limits{PerUserAddr: 1, PerAddr: 1, PerUser: 1, Window: window},
			steps: []step{succeed("alice", "192.0.2.1"), succeed("alice", "192.0.2.1"), try("alice", "192.0.2.1"), deny("alice", "192.0.2.1")},
		},
		{
			name: "sliding window: the oldest attempt ages out first", lim: Limits{PerUserAddr: 2, Window: window},
			steps: []step{try("alice", "192.0.2.1"), wait(30 * time.Second), try("alice", "192.0.2.1"), deny("alice", "192.0.2.1"),
				wait(30*time.Second - time.Nanosecond), deny("alice", "192.0.2.1"), wait(time.Nanosecond), try("alice", "192.0.2.1"),
				deny("alice", "192.0.2.1")},
		},
		{
			name: "IPv6 counted per /64, mapped IPv4 as IPv4", lim: Limits{PerAddr: 2, Window: window},
			steps: []step{try("a", "2001:db8:1:2::1"), try("b", "2001:db8:1:2:ffff::9"), deny("c", "2001:db8:1:2::77"), try("c", "2001:db8:1:3::1"),
				try("a", "::ffff:192.0.2.9"), try("b", "192.0.2.9"), deny("c", "192.0.2.9")},
		},
		{
			name: "empty user counted per address only", lim: Limits{PerUserAddr: 1, PerAddr: 3, PerUser: 1, Window: window},
			steps: []step{try("", "192.0.2.1"), try("", "192.0.2.1"), try("", "192.0.2.1"), deny("", "192.0.2.1")},
		},
		{
			name: "zero window turns it off", lim: Limits{PerUserAddr: 1},
			steps: []step{try("alice", "192.0.2.1"), try("alice", "192.0.2.1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			tt.lim.MaxKeys = 100
			l := newLimiter(tt.lim)
			l.now = func() time.Time { return now }
			for i, s := range tt.steps {
				if s.advance != 0 {
					now = now.Add(s.advance)
					continue
				}
				res, retry, _, ok := l.reserve(s.user, netip.MustParseAddr(s.addr))
				if ok != s.allow {
					t.Fatalf("step %d: reserve(%q, %s) = %v, want %v", i, s.user, s.addr, ok, s.allow)
				}
				if !ok && retry <= 0 {
					t.Fatalf("step %d: refused without a retry time", i)
				}
				if ok && s.refund {
					l.refund(res)
				}
			}
		})
	}
}

// TestLimiterBounded: however many names and addresses fail, each count
// tracks at most MaxKeys keys.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(Limits{PerUserAddr: 5, PerAddr: 5, PerUser: 5, Window: time.Hour, MaxKeys: 50})
	for i := range 10000 {
		l.reserve(string(rune('a'+i%26))+string(rune(i)), netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	for i, c := range l.counts {
		if n := len(c.keys); n > 50 {
			t.Errorf("count %d tracks %d keys, want at most 50", i, n)
		}
	}
}

// TestContentTypeFromFixedTable: Content-Type came from the host's MIME
// tables through mime.TypeByExtension.
func TestContentTypeFromFixedTable(t *testing.T) {
	for name, want := range map[string]string{
		"CPE.nbt": "application/octet-stream", "CPE.CAT": "application/octet-stream", "CPE.xml": "text/xml; charset=utf-8",
		"setup.exe": "application/octet-stream", "x.html": "application/octet-stream", "noext": "application/octet-stream",
	} {
		if got := contentType(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
}

// TestCredentialCacheBounded: the cache never holds more than maxCached
// entries, and an entry expires.
func TestCredentialCacheBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newCredCache(time.Minute)
	c.now = func() time.Time { return now }
	for i := range 3 * maxCached {
		c.put(c.sum("user", string(rune(i))), resultFor("user"))
	}
	if n := c.len(); n > maxCached {
		t.Errorf("%d entries, want at most %d", n, maxCached)
	}
	k := c.sum("alice", "pw")
	c.put(k, resultFor("alice"))
	if _, ok := c.get(k); !ok {
		t.Error("fresh entry missing")
	}
	if _, ok := c.get(c.sum("alice", "other")); ok {
		t.Error("another password hit the cache")
	}
	if _, ok := c.get(c.sum("alicepw", "")); ok {
		t.Error("a user name and password split otherwise hit the cache")
	}
	now = now.Add(time.Minute)
	if _, ok := c.get(k); ok {
		t.Error("expired entry served")
	}
}

func resultFor(user string) account.Result { return account.Result{Account: user, Source: "test"} }
