package responder_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duws/duws/responder"
	"github.com/duws/duws/responder/account"
)

// Tests of the defects found by trying the responder as an attacker
// would: each is named after what it guards.

const imagePath = "UCPhone/Polycom/CX600/A/ENU/4.0.7577.4398/CPE/CPE.nbt"

// source is an account source that counts its verifications and can be
// slowed down or made unavailable.
type source struct {
	users
	n           atomic.Int64
	delay       time.Duration
	unavailable bool
}

func (s *source) Verify(ctx context.Context, user, pass string) (account.Result, error) {
	s.n.Add(1)
	if s.delay > 0 {
		select {
		case <-time.After(s.delay):
		case <-ctx.Done():
			return account.Result{}, fmt.Errorf("%w: %v", account.ErrUnavailable, ctx.Err())
		}
	}
	if s.unavailable {
		return account.Result{}, fmt.Errorf("directory down: %w", account.ErrUnavailable)
	}
	return s.users.Verify(ctx, user, pass)
}

// logBuffer collects log lines for a test.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harness struct {
	r      *responder.Responder
	src    *source
	logs   *logBuffer
	mu     sync.Mutex
	events []responder.Event
}

func newHarness(t testing.TB, site string, edit func(*responder.Config)) *harness {
	t.Helper()
	h := &harness{src: &source{users: users{"alice": "s3cret"}}, logs: &logBuffer{}}
	cfg := responder.Config{
		Site: site, Accounts: h.src,
		Logger: slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Audit: func(e responder.Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	r, err := responder.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.r = r
	return h
}

// req describes a request made straight to a handler.
type req struct {
	kind         responder.Kind
	method, path string
	body         string
	remote       string // default 203.0.113.9:4444
	user, pass   string
	tls          bool
	header       map[string]string
}

func (h *harness) do(q req) *httptest.ResponseRecorder {
	if q.method == "" {
		q.method = "POST"
	}
	r := httptest.NewRequest(q.method, q.path, strings.NewReader(q.body))
	r.RemoteAddr = q.remote
	if r.RemoteAddr == "" {
		r.RemoteAddr = "203.0.113.9:4444"
	}
	if q.user != "" {
		r.SetBasicAuth(q.user, q.pass)
	}
	if q.tls {
		r.TLS = &tls.ConnectionState{}
	}
	for k, v := range q.header {
		if v != "" {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.r.Handler(q.kind).ServeHTTP(w, r)
	return w
}

func outsideCheck(user, pass string) req {
	return req{kind: responder.External, path: "/RequestHandlerExt/ucdevice.upx", body: checkBody("00-04-F2-99-99-99", "sip:alice@contoso.com", "4.0.7577.4100"),
		user: user, pass: pass, tls: true}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestUnknownIdentitiesDoNotGrowMemory: checks naming identities no table
// has were remembered one entry per spelling (26,000 took the responder
// from 13 MB to 804 MB). 50,000 of them leave the heap within 16 MiB.
func TestUnknownIdentitiesDoNotGrowMemory(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, func(c *responder.Config) { c.Audit = nil })
	handler := h.r.Handler(responder.Internal)
	rnd := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]byte, 8+rnd.IntN(40))
		for i := range b {
			b[i] = "abcdefghijklmnopqrstuvwxyz%~ "[rnd.IntN(29)]
		}
		return string(b)
	}
	before := heap()
	for range 50000 {
		body := fmt.Sprintf(`<DeviceUpdateRequest><Device><DeviceType>%s</DeviceType><Vendor>%s</Vendor><Model>%s</Model><Revision>A</Revision><Locale>ENU</Locale></Device>
<Modules><Module><Name>%s.nbt</Name><Version>4.0.7577.4100</Version></Module></Modules></DeviceUpdateRequest>`, word(), word(), word(), word())
		r := httptest.NewRequest("POST", "/RequestHandler/ucdevice.upx", strings.NewReader(body))
		r.RemoteAddr = "10.1.2.3:5555"
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		if w.Code != 200 || !strings.Contains(w.Body.String(), "downloads=0") {
			t.Fatalf("unknown identity: %d %s", w.Code, w.Body)
		}
	}
	after := heap()
	if growth := int64(after) - int64(before); growth > 16<<20 {
		t.Errorf("heap grew by %d MiB over 50,000 unknown identities, want < 16 MiB", growth>>20)
	}
	runtime.KeepAlive(h)
}

// TestLongIdentityFieldIs4xx: a 250-byte model, or 100 "%", made the
// lookup file name too long, a 500 and an error line per request.
func TestLongIdentityFieldIs4xx(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	for _, model := range []string{strings.Repeat("M", 250), strings.Repeat("%", 100), strings.Repeat("é", 40)} {
		body := strings.Replace(checkBody("00-04-F2-99-99-99", "", "4.0.7577.4100"), "CX600", model, 1)
		w := h.do(req{kind: responder.Internal, path: "/RequestHandler/ucdevice.upx", body: body, remote: "10.1.2.3:1"})
		if w.Code/100 != 4 {
			t.Errorf("model of %d bytes: %d, want 4xx", len(model), w.Code)
		}
	}
	if strings.Contains(h.logs.String(), "level=ERROR") {
		t.Errorf("bad input logged as an error:\n%s", h.logs)
	}
}

// TestDuplicateFieldIs400: two <Model> elements were concatenated.
func TestDuplicateFieldIs400(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	for _, dup := range []struct{ old, new string }{
		{"<Model>CX600</Model>", "<Model>CX</Model><Model>600</Model>"},
		{"<MAC>", "<MacAddress>00-04-F2-00-00-01</MacAddress><MAC>"},
		{"<Version>", "<Version>4.0.7577.4100</Version><Version>"},
	} {
		body := strings.Replace(checkBody("00-04-F2-99-99-99", "", "4.0.7577.4100"), dup.old, dup.new, 1)
		if w := h.do(req{kind: responder.Internal, path: "/RequestHandler/ucdevice.upx", body: body, remote: "10.1.2.3:1"}); w.Code != 400 {
			t.Errorf("%s: %d, want 400", dup.new, w.Code)
		}
	}
}

// TestCredentialCacheSparesVerification: each outside request cost a full
// bcrypt. A verified user name and password are accepted from the cache
// for a while; failures are never cached.
func TestCredentialCacheSparesVerification(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	for range 10 {
		if w := h.do(outsideCheck("alice", "s3cret")); w.Code != 200 {
			t.Fatalf("right password: %d %s", w.Code, w.Body)
		}
	}
	if n := h.src.n.Load(); n != 1 {
		t.Errorf("10 checks with the same right credentials: %d verifications, want 1", n)
	}
	for range 3 {
		h.do(outsideCheck("alice", "wrong"))
	}
	if n := h.src.n.Load(); n != 4 {
		t.Errorf("3 wrong passwords: %d verifications in all, want 4 (failures are not cached)", n)
	}
	// Downloads share the cache.
	w := h.do(req{kind: responder.External, method: "GET", path: "/DeviceUpdateFiles_Ext/" + imagePath, user: "alice", pass: "s3cret", tls: true})
	if w.Code != 200 || h.src.n.Load() != 4 {
		t.Errorf("download: %d after %d verifications", w.Code, h.src.n.Load())
	}
	// The cache is off with a negative lifetime.
	h = newHarness(t, f.site, func(c *responder.Config) { c.CacheTTL = -1 })
	h.do(outsideCheck("alice", "s3cret"))
	h.do(outsideCheck("alice", "s3cret"))
	if n := h.src.n.Load(); n != 2 {
		t.Errorf("without a cache: %d verifications, want 2", n)
	}
}

// TestConcurrentWrongPasswordsVerifyAtMostLimit: the limiter asked
// "allowed?" before verifying and counted the failure after, so 100
// concurrent wrong passwords were all verified.
func TestConcurrentWrongPasswordsVerifyAtMostLimit(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, func(c *responder.Config) { c.MaxVerifications = 100 })
	h.src.delay = 20 * time.Millisecond // all in flight together
	var wg sync.WaitGroup
	var limited atomic.Int64
	for i := range 100 {
		wg.Go(func() {
			if w := h.do(outsideCheck("alice", fmt.Sprint("guess", i))); w.Code == 429 {
				limited.Add(1)
				if w.Header().Get("Retry-After") == "" {
					t.Error("429 without Retry-After")
				}
			}
		})
	}
	wg.Wait()
	if n := h.src.n.Load(); n > int64(responder.DefaultLimits.PerUserAddr) {
		t.Errorf("100 concurrent wrong passwords: %d verified, want at most %d", n, responder.DefaultLimits.PerUserAddr)
	}
	if limited.Load() < 100-int64(responder.DefaultLimits.PerUserAddr) {
		t.Errorf("only %d of 100 refused with 429", limited.Load())
	}
}

// TestLockoutDoesNotLockOutUser: five wrong passwords for alice from one
// address made her right password fail from every address. Limits are per
// user and address and per address; a credential verified a moment ago
// still works; lockouts are logged and counted.
func TestLockoutDoesNotLockOutUser(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	from := func(q req, addr string) req { q.remote = addr + ":1000"; return q }
	// Alice checks from her phone; then an attacker fails as alice.
	if w := h.do(from(outsideCheck("alice", "s3cret"), "198.51.100.7")); w.Code != 200 {
		t.Fatalf("alice: %d", w.Code)
	}
	for range 10 {
		h.do(from(outsideCheck("alice", "guess"), "203.0.113.66"))
	}
	w := h.do(from(outsideCheck("alice", "guess"), "203.0.113.66"))
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("attacker after 10 failures: %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := h.do(from(outsideCheck("alice", "s3cret"), "198.51.100.7")); w.Code != 200 {
		t.Errorf("alice from her own address during the lockout: %d, want 200", w.Code)
	}
	if w := h.do(from(outsideCheck("alice", "s3cret"), "203.0.113.66")); w.Code != 200 {
		t.Errorf("alice's recently verified credentials from the locked address: %d, want 200", w.Code)
	}
	h.src.users["bob"] = "pw"
	if w := h.do(from(outsideCheck("bob", "pw"), "192.0.2.1")); w.Code != 200 {
		t.Errorf("bob from elsewhere: %d", w.Code)
	}
	if !strings.Contains(h.logs.String(), "locked out") {
		t.Errorf("the lockout was not logged:\n%s", h.logs)
	}
	if m := metrics(t, h.r); !strings.Contains(m, "duws_lockouts_total 1\n") || !strings.Contains(m, "duws_rate_limited_total 6\n") {
		t.Errorf("lockout not counted:\n%s", m)
	}
}

func metrics(t testing.TB, r *responder.Responder) string {
	w := httptest.NewRecorder()
	r.AdminHandler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}

// TestVerificationsBounded: 400 outside checks at 64-way concurrency
// pushed inside latency from 1 ms to 750 ms. Verifications run at most
// MaxVerifications at a time; a request that waits too long gets 503
// with Retry-After, and inside checks go on.
func TestVerificationsBounded(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, func(c *responder.Config) {
		c.MaxVerifications = 1
		c.Limits = responder.Limits{PerUserAddr: 1000, PerAddr: 1000, PerUser: 1000, Window: time.Minute}
	})
	h.src.delay = 3 * time.Second
	var wg sync.WaitGroup
	codes := make(chan *httptest.ResponseRecorder, 8)
	for i := range 8 {
		wg.Go(func() { codes <- h.do(outsideCheck("alice", fmt.Sprint("p", i))) })
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if w := h.do(req{kind: responder.Internal, path: "/RequestHandler/ucdevice.upx", body: checkBody("00-04-F2-99-99-99", "", "4.0.7577.4100"), remote: "10.1.2.3:1"}); w.Code != 200 {
		t.Errorf("inside check during verifications: %d", w.Code)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("inside check waited %v for verifications", d)
	}
	wg.Wait()
	close(codes)
	busy := 0
	for w := range codes {
		if w.Code == 503 {
			busy++
			if w.Header().Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		}
	}
	if n := h.src.n.Load(); n != 1 || busy != 7 {
		t.Errorf("%d verifications and %d busy answers; want 1 and 7", n, busy)
	}
}

// TestUnavailableSourceIs503: an account source that cannot tell gives
// 503 with Retry-After, not 401, and does not count as a failure.
func TestUnavailableSourceIs503(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	h.src.unavailable = true
	for range 10 {
		w := h.do(outsideCheck("alice", "s3cret"))
		if w.Code != 503 || w.Header().Get("Retry-After") == "" {
			t.Fatalf("source down: %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
		}
	}
	h.src.unavailable = false
	if w := h.do(outsideCheck("alice", "s3cret")); w.Code != 200 {
		t.Errorf("source back: %d, want 200 (unavailability is no failure)", w.Code)
	}
	if strings.Contains(h.logs.String(), "level=ERROR") {
		t.Errorf("503 logged as an error:\n%s", h.logs)
	}
}

// TestMalformedForwardedForIsOutside: from a trusted proxy, an address
// with a port, "unknown" or garbage made the request count as the proxy's
// own, inside. The forms proxies send are read; anything else is outside.
func TestMalformedForwardedForIsOutside(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, func(c *responder.Config) { c.InternalInsideOnly = true })
	for _, tt := range []struct {
		xff  string
		want int // 200 inside, 403 outside (no user signed in)
	}{
		{"10.1.2.3", 200},
		{"10.1.2.3:4711", 200},
		{"[::ffff:10.1.2.3]:80", 200},
		{"203.0.113.9:4711", 403},
		{"[2001:db8::1]:80", 403},
		{"[2001:db8::1]", 403},
		{"unknown", 403},
		{"203.0.113.9, garbage", 403},
		{"garbage, 10.1.2.3", 200}, // the rightmost untrusted entry counts
		{"10.1.2.3, 127.0.0.2", 200},
		{"", 200}, // the proxy itself
	} {
		q := req{kind: responder.Internal, path: "/RequestHandler/ucdevice.upx", body: checkBody("00-04-F2-99-99-99", "", "4.0.7577.4100"),
			remote: "127.0.0.2:9999", header: map[string]string{"X-Forwarded-For": tt.xff}}
		if w := h.do(q); w.Code != tt.want {
			t.Errorf("X-Forwarded-For %q: %d, want %d", tt.xff, w.Code, tt.want)
		}
	}
}

// TestCredentialsOnlyOverTLS: an outside client talking straight to a
// plain internal listener limited to inside clients was challenged, and
// its credentials accepted, in clear text.
func TestCredentialsOnlyOverTLS(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, func(c *responder.Config) { c.InternalInsideOnly = true })
	base := req{kind: responder.Internal, path: "/RequestHandler/ucdevice.upx", body: checkBody("00-04-F2-99-99-99", "sip:alice@contoso.com", "4.0.7577.4100")}
	for _, tt := range []struct {
		name   string
		edit   func(*req)
		want   int
		verify bool
	}{
		{"clear text, no credentials: no challenge", func(q *req) {}, 403, false},
		{"clear text, credentials refused unverified", func(q *req) { q.user, q.pass = "alice", "s3cret" }, 403, false},
		{"clear text from a trusted proxy without TLS", func(q *req) {
			q.user, q.pass, q.remote = "alice", "s3cret", "127.0.0.2:1"
			q.header = map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}
		}, 403, false},
		{"a proxy that is not trusted says https", func(q *req) {
			q.user, q.pass = "alice", "s3cret"
			q.header = map[string]string{"X-Forwarded-Proto": "https"}
		}, 403, false},
		{"TLS, no credentials: challenged", func(q *req) { q.tls = true }, 401, false},
		{"TLS", func(q *req) { q.user, q.pass, q.tls = "alice", "s3cret", true }, 200, true},
		{"a trusted proxy that terminated TLS", func(q *req) {
			q.user, q.pass, q.remote = "alice", "s3cret", "127.0.0.2:1"
			q.header = map[string]string{"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
		}, 200, false},
	} {
		q := base
		tt.edit(&q)
		w := h.do(q)
		if w.Code != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, w.Code, tt.want)
		}
		if w.Code == 403 && w.Header().Get("WWW-Authenticate") != "" {
			t.Errorf("%s: challenged for credentials in clear text", tt.name)
		}
	}
	if n := h.src.n.Load(); n != 1 {
		t.Errorf("%d verifications, want 1: credentials in clear text are never verified", n)
	}
}

// TestAuthenticatedDownloadIsPrivate: _Ext downloads were public,
// max-age=86400, which lets a shared cache hand firmware to anyone.
func TestAuthenticatedDownloadIsPrivate(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	w := h.do(req{kind: responder.External, method: "GET", path: "/DeviceUpdateFiles_Ext/" + imagePath, user: "alice", pass: "s3cret", tls: true})
	if cc := w.Header().Get("Cache-Control"); w.Code != 200 || !strings.HasPrefix(cc, "private") {
		t.Errorf("authenticated download: %d, Cache-Control %q; want 200, private", w.Code, cc)
	}
	w = h.do(req{kind: responder.Internal, method: "GET", path: "/DeviceUpdateFiles_Int/" + imagePath, remote: "10.1.2.3:1"})
	if cc := w.Header().Get("Cache-Control"); w.Code != 200 || !strings.HasPrefix(cc, "public") {
		t.Errorf("inside download: %d, Cache-Control %q; want 200, public", w.Code, cc)
	}
}

// TestAuditNamesAccountListenerAndDownloads: the audit row named only the
// device's signed-in user, and downloads were not audited.
func TestAuditNamesAccountListenerAndDownloads(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	h.src.users["bob"] = "pw"
	h.do(outsideCheck("bob", "pw")) // the device says alice signed in; bob's account authenticates
	h.do(req{kind: responder.External, method: "GET", path: "/DeviceUpdateFiles_Ext/" + strings.ToLower(imagePath), user: "bob", pass: "pw", tls: true})
	h.do(req{kind: responder.Internal, method: "GET", path: "/DeviceUpdateFiles_Int/nothing/here", remote: "10.1.2.3:1"})
	type row struct{ Kind, Listener, User, Account, Source, Path, Outcome string }
	var got []row
	for _, e := range h.events {
		got = append(got, row{e.Kind, e.Listener, e.User, e.Account, e.Source, e.Path, e.Outcome})
	}
	want := []row{
		{"check", "external", "sip:alice@contoso.com", "bob", "test", "", "update"},
		{"download", "external", "", "bob", "test", imagePath, "served"},
		{"download", "internal", "", "", "", "nothing/here", "not-found"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %v\nwant %v", got, want)
	}
}

// TestDeletedTreeStillServed: with --keep 0 the builder could delete the
// tree being served; checks then got downloads=0 and downloads 500 until
// the next reload. Everything a check needs is loaded at swap time and
// the update files are held open.
func TestDeletedTreeStillServed(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	tree := h.r.Tree().Dir
	want, err := os.ReadFile(filepath.Join(tree, "files", filepath.FromSlash(imagePath)))
	if err != nil {
		t.Fatal(err)
	}
	// The tree and every shared file go.
	for _, dir := range []string{tree, filepath.Join(f.site, "files"), filepath.Join(f.site, "answers")} {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	w := h.do(req{kind: responder.Internal, path: "/RequestHandler/ucdevice.upx", body: checkBody("00-04-F2-00-00-01", "", "4.0.7577.4100"), remote: "10.1.2.3:1"})
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<Version>4.0.7577.4398</Version>") {
		t.Errorf("check after the tree was deleted: %d\n%s", w.Code, w.Body)
	}
	for range 2 {
		w = h.do(req{kind: responder.Internal, method: "GET", path: "/DeviceUpdateFiles_Int/" + imagePath, remote: "10.1.2.3:1"})
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("download after the tree was deleted: %d, %d bytes (want %d)", w.Code, w.Body.Len(), len(want))
		}
	}
	w = h.do(req{kind: responder.Internal, method: "GET", path: "/DeviceUpdateFiles_Int/" + imagePath, remote: "10.1.2.3:1",
		header: map[string]string{"Range": "bytes=6-9"}})
	if w.Code != 206 || w.Body.String() != string(want[6:10]) {
		t.Errorf("range after the tree was deleted: %d %q", w.Code, w.Body)
	}
}

// TestFileServedOnlyAsManifestSays: a symbolic link out of the tree was
// followed, and a file of another size served.
func TestFileServedOnlyAsManifestSays(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	file := filepath.Join(h.r.Tree().Dir, "files", filepath.FromSlash(imagePath))
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("secret outside the tree"), 0o644)
	get := func() *httptest.ResponseRecorder {
		return h.do(req{kind: responder.Internal, method: "GET", path: "/DeviceUpdateFiles_Int/" + imagePath, remote: "10.1.2.3:1"})
	}
	os.Remove(file)
	if err := os.Symlink(secret, file); err != nil {
		t.Fatal(err)
	}
	if w := get(); w.Code == 200 || strings.Contains(w.Body.String(), "secret") {
		t.Errorf("symlink out of the tree: %d %q", w.Code, w.Body)
	}
	os.Remove(file)
	os.WriteFile(file, []byte("image of another size"), 0o644)
	if w := get(); w.Code == 200 || strings.Contains(w.Body.String(), "another size") {
		t.Errorf("file of another size than the manifest's: %d %q", w.Code, w.Body)
	}
	// A tree with such a file is not loaded at all.
	if _, err := responder.LoadTree(f.site); err == nil {
		t.Error("a tree whose file differs from its manifest loaded")
	}
}

// TestDeclaredLengthOverLimitRefusedAtOnce: a Content-Length above the
// body limit waited for the body until the read timeout.
func TestDeclaredLengthOverLimitRefusedAtOnce(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	srv := httptest.NewServer(h.r.Handler(responder.Internal))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	fmt.Fprintf(conn, "POST /RequestHandler/ucdevice.upx HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n<a>")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer before the body: %v", err)
	}
	if resp.StatusCode != 413 {
		t.Errorf("status %d, want 413", resp.StatusCode)
	}
}

// TestManyRangesNotMultiplied: 2,000 single-byte ranges on a 10 KB file
// returned 290 KB.
func TestManyRangesNotMultiplied(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	var b strings.Builder
	b.WriteString("bytes=0-0")
	for i := 1; i < 2000; i++ {
		fmt.Fprintf(&b, ",%d-%d", i, i)
	}
	w := h.do(req{kind: responder.Internal, method: "GET", path: "/DeviceUpdateFiles_Int/" + imagePath, remote: "10.1.2.3:1",
		header: map[string]string{"Range": b.String()}})
	size := len("image 4.0.7577.4398 CPE.nbt") + 4096
	if w.Body.Len() > size {
		t.Errorf("2000 ranges: %d, %d bytes for a file of %d", w.Code, w.Body.Len(), size)
	}
}

// failingWriter is a connection that fails every body write.
type failingWriter struct {
	h       http.Header
	headers int
}

func (f *failingWriter) Header() http.Header       { return f.h }
func (f *failingWriter) WriteHeader(int)           { f.headers++ }
func (f *failingWriter) Write([]byte) (int, error) { return 0, errors.New("connection reset") }

// TestStartedResponseNeverFailedAgain: a check whose body write failed
// after the header was sent was logged as a 500 and written twice.
func TestStartedResponseNeverFailedAgain(t *testing.T) {
	f := newFixture(t)
	h := newHarness(t, f.site, nil)
	w := &failingWriter{h: http.Header{}}
	r := httptest.NewRequest("POST", "/RequestHandler/ucdevice.upx", strings.NewReader(checkBody("00-04-F2-99-99-99", "", "4.0.7577.4100")))
	r.RemoteAddr = "10.1.2.3:1"
	h.r.Handler(responder.Internal).ServeHTTP(w, r)
	if w.headers > 1 {
		t.Errorf("header written %d times", w.headers)
	}
	if logs := h.logs.String(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("a client going away logged as an error:\n%s", logs)
	}
	if w.h.Get("Content-Type") != "text/xml; charset=utf-8" {
		t.Errorf("the answer's headers were replaced by an error's: %v", w.h)
	}
}
