package simulate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/duws/duws/builder/site"
	"github.com/google/go-cmp/cmp"
)

// A fake responder: one identity, one target, files it can be told to
// spoil. It answers as docs/PROTOCOL.md says: 403 outside without a user,
// 401 outside without the right credentials, the target to any phone on
// another version.
type fakeService struct {
	t       *testing.T
	srv     *httptest.Server
	target  string
	image   []byte
	corrupt atomic.Int32 // downloads still to spoil
	answer  func() []byte
	mu      sync.Mutex
	checks  []string // "path version user"
}

const testIdentity = "UCPhone/Polycom/CX600/A/ENU"

func newFake(t *testing.T) *fakeService {
	f := &fakeService{t: t, target: "4.0.7577.4398", image: []byte(strings.Repeat("firmware ", 1000))}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeService) url() string { return f.srv.URL }

func (f *fakeService) serve(w http.ResponseWriter, r *http.Request) {
	ext := strings.Contains(strings.ToLower(r.URL.Path), "ext")
	authOK := func() bool {
		u, p, ok := r.BasicAuth()
		return ok && u == "alice" && p == "s3cret"
	}
	switch {
	case r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		b := string(body)
		version := between(b, "<Version>", "</Version>")
		user := between(b, "<User>", "</User>")
		f.mu.Lock()
		f.checks = append(f.checks, r.URL.Path+" "+version+" "+user)
		f.mu.Unlock()
		if ext && user == "" {
			http.Error(w, "denied", http.StatusForbidden)
			return
		}
		if ext && !authOK() {
			w.Header().Set("WWW-Authenticate", `Basic realm="duws"`)
			http.Error(w, "credentials", http.StatusUnauthorized)
			return
		}
		if f.answer != nil {
			w.Write(f.answer())
			return
		}
		if version == f.target {
			w.Write(site.NoUpdateAnswer())
			return
		}
		sum := sha256.Sum256(f.image)
		dir := "UCPhone/Polycom/CX600/A/ENU/" + f.target + "/CPE"
		w.Write(site.RenderAnswer([]site.Update{{UpdateType: "CPE", Version: f.target,
			InternalURL: site.FilesURL(f.url(), site.InternalFilesPrefix, dir), ExternalURL: site.FilesURL(f.url(), site.ExternalFilesPrefix, dir),
			SignatureFile: "CPE.cat", Files: []site.UpdateFile{{Name: "CPE.nbt", Size: int64(len(f.image)), SHA256: hex.EncodeToString(sum[:])}}}}))
	case r.Method == http.MethodGet:
		if ext && !authOK() {
			http.Error(w, "credentials", http.StatusUnauthorized)
			return
		}
		if f.corrupt.Add(-1) >= 0 {
			b := append([]byte(nil), f.image...)
			b[0] ^= 1
			w.Write(b)
			return
		}
		w.Write(f.image)
	}
}

func between(s, a, b string) string {
	_, rest, ok := strings.Cut(s, a)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, b)
	return v
}

var epoch = time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)

func phone(name, version, user string, outside bool) *Phone {
	return &Phone{Name: name, Identity: testIdentity, UpdateType: "CPE", MAC: "00-04-F2-00-00-01", Serial: "CX600A" + name,
		Version: version, User: user, Outside: outside}
}

func run(t *testing.T, f *fakeService, cfg Config, phones ...*Phone) *Report {
	t.Helper()
	fl := &Fleet{Clock: epoch, Phones: phones}
	cfg.Network.InternalURL, cfg.Network.ExternalURL = f.url(), f.url()
	if cfg.Network.Domain == "" {
		cfg.Network.Domain = "contoso.com"
	}
	if cfg.Accounts == nil {
		cfg.Accounts, _ = ParseAccounts("accounts", strings.NewReader("alice:s3cret\n"))
	}
	r, err := Run(context.Background(), fl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func at(d time.Duration) *time.Time {
	t := epoch.Add(d)
	return &t
}

// TestPhoneUpdates follows one phone through the documented behaviour: a
// check at power-on offers the target, it downloads it, waits five idle
// minutes, reboots (two minutes), checks at power-on and at sign-in and
// finds nothing to do.
func TestPhoneUpdates(t *testing.T) {
	f := newFake(t)
	r := run(t, f, Config{}, phone("p1", "4.0.7577.4363", "alice", false))
	d := r.Devices[0]
	got := struct {
		Version, Backup string
		LastUpdate      *time.Time
		State           State
		Checks          int
		Converged       float64
	}{d.Version, d.Backup, d.LastUpdate, d.State, d.Checks, r.ConvergedSeconds}
	want := got
	want.Version, want.Backup, want.LastUpdate, want.State, want.Checks = "4.0.7577.4398", "4.0.7577.4363", at(IdleBeforeReboot), StateUpToDate, 3
	want.Converged = IdleBeforeReboot.Seconds()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("phone after the run (-want +got):\n%s", diff)
	}
	// The sign-in a minute after power-on came while the phone waited to
	// reboot, so it did not check then.
	if diff := cmp.Diff([]string{
		"/RequestHandler/ucdevice.upx 4.0.7577.4363 sip:alice@contoso.com",
		"/RequestHandler/ucdevice.upx 4.0.7577.4398 sip:alice@contoso.com",
		"/RequestHandler/ucdevice.upx 4.0.7577.4398 sip:alice@contoso.com",
	}, f.checks); diff != "" {
		t.Errorf("checks (-want +got):\n%s", diff)
	}
	if !r.Settled || !r.Converged() || r.Installs != 1 || r.Downloads != 1 || r.BytesDownloaded != int64(len(f.image)) {
		t.Errorf("report: settled %v, converged %v, %d installs, %d downloads, %d bytes", r.Settled, r.Converged(), r.Installs, r.Downloads, r.BytesDownloaded)
	}
	// The summary for people says the same, and --list shows the System
	// Information.
	var b strings.Builder
	r.WriteSummary(&b, true)
	for _, want := range []string{
		"checks: 3 (1 offered an update, 2 nothing to do, 0 denied, 0 unauthorized, 0 throttled, 0 errors)",
		"downloads: 1 files, 8.8 KiB, 0 failed; installs: 1;",
		"settled: the last install came 5m0s after the start",
		"phones: 1 up-to-date",
		"p1           4.0.7577.4398  2026-01-05 08:05:00  4.0.7577.4363  up-to-date",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, b.String())
		}
	}
}

// TestCorruptDownloadRetried: a corrupt file is never installed; the
// phone tries again an hour later.
func TestCorruptDownloadRetried(t *testing.T) {
	// A phone on which nobody signed in checks only at power-on, every
	// 24 hours and when it retries.
	dns := newStubDNS(t, "ucupdates-r2.contoso.com")
	f := newFake(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(f.url(), "http://"))
	f.corrupt.Store(1)
	r := run(t, f, Config{Network: Network{DNS: dns, InsidePort: port}}, phone("p1", "4.0.7577.4363", "", false))
	d := r.Devices[0]
	if d.Version != "4.0.7577.4398" || d.LastUpdate == nil || !d.LastUpdate.Equal(*at(RetryDelay + IdleBeforeReboot)) || r.DownloadFailures != 1 {
		t.Errorf("after one corrupt download: version %s, last update %v, %d failures; want the target, installed at %s",
			d.Version, d.LastUpdate, r.DownloadFailures, at(RetryDelay+IdleBeforeReboot))
	}
	// Always corrupt: never installed, still retrying when the run ends.
	f3 := newFake(t)
	f3.corrupt.Store(1 << 30)
	r = run(t, f3, Config{Duration: 5*time.Hour + time.Minute}, phone("p3", "4.0.7577.4363", "", false), phone("p4", "4.0.7577.4363", "alice", false))
	d = r.Devices[1]
	if d.Version != "4.0.7577.4363" || d.LastUpdate != nil || d.State != StateRetrying || !strings.Contains(d.Error, "corrupt: SHA-256") || r.Installs != 0 {
		t.Errorf("always corrupt: %s, %v, %s %q, %d installs", d.Version, d.LastUpdate, d.State, d.Error, r.Installs)
	}
	if r.DownloadFailures != 7 { // at power-on, at sign-in, then 1h, ... 5h
		t.Errorf("%d failed downloads in 5 h, want 7 (power-on, sign-in, then one an hour)", r.DownloadFailures)
	}
	if r.Settled || r.Converged() {
		t.Errorf("a phone still retrying: settled %v", r.Settled)
	}
}

// TestDiscovery: a phone on which nobody signed in looks the service up
// in the DNS, through the given server, and fails visibly when the name
// does not resolve.
func TestDiscovery(t *testing.T) {
	dns := newStubDNS(t, "ucupdates-r2.contoso.com")
	f := newFake(t)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(f.url(), "http://"))
	cfg := Config{Network: Network{DNS: dns, InsidePort: port, OutsidePort: port}}
	r := run(t, f, cfg, phone("in", "4.0.7577.4363", "", false), phone("out", "4.0.7577.4363", "", true))
	if in, out := r.Devices[0], r.Devices[1]; in.Version != f.target || in.State != StateUpToDate || out.Version != "4.0.7577.4363" || out.State != StateDenied {
		t.Errorf("inside: %s %s %q; outside: %s %s %q", in.Version, in.State, in.Error, out.Version, out.State, out.Error)
	}
	if !strings.Contains(strings.Join(f.checks, "\n"), "/RequestHandlerExt/ucdevice.upx 4.0.7577.4363 ") {
		t.Errorf("the outside phone did not check the outside path: %q", f.checks)
	}
	cfg.Network.Domain = "fabrikam.com"
	r = run(t, f, cfg, phone("in", "4.0.7577.4363", "", false))
	d := r.Devices[0]
	if d.State != StateNoService || !strings.Contains(d.Error, "ucupdates-r2.fabrikam.com does not resolve at DNS server "+dns) || r.Errors == 0 || r.Converged() {
		t.Errorf("unknown name: %s %q, %d errors", d.State, d.Error, r.Errors)
	}
}

// TestOutside: outside, a phone without a user is denied and stays, a
// wrong password is refused, the right one updates through the external
// URL with credentials.
func TestOutside(t *testing.T) {
	f := newFake(t)
	wrong := phone("wrong", "4.0.7577.4363", "alice", true)
	wrong.WrongPassword = true
	r := run(t, f, Config{}, phone("right", "4.0.7577.4363", "alice", true), wrong)
	got := map[string]string{}
	for _, d := range r.Devices {
		got[d.Name] = d.Version + " " + string(d.State)
	}
	if diff := cmp.Diff(map[string]string{"right": "4.0.7577.4398 up-to-date", "wrong": "4.0.7577.4363 unauthorized"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestAnswerLimits floods the phone with answers it must refuse: each
// ends in an error, nothing installed, nothing kept.
func TestAnswerLimits(t *testing.T) {
	file := site.UpdateFile{Name: "CPE.nbt", Size: 9, SHA256: strings.Repeat("0", 64)}
	upd := func(files ...site.UpdateFile) site.Update {
		return site.Update{UpdateType: "CPE", Version: "4.0.7577.4398", InternalURL: "http://x", ExternalURL: "http://x", Files: files}
	}
	many := make([]site.Update, updatesLimit+1)
	for i := range many {
		many[i] = upd(file)
	}
	for _, tt := range []struct {
		name   string
		answer []byte
		want   string
	}{
		{"larger than the limit", append(site.NoUpdateAnswer(), strings.Repeat(" ", answerLimit)...), "larger than 1024 KiB"},
		{"too many updates", site.RenderAnswer(many), "17 updates"},
		{"traversing file name", site.RenderAnswer([]site.Update{upd(site.UpdateFile{Name: "..", Size: 1, SHA256: file.SHA256})}), `bad file name ".."`},
		{"slash in file name", site.RenderAnswer([]site.Update{upd(site.UpdateFile{Name: "a/b", Size: 1, SHA256: file.SHA256})}), `bad file name "a/b"`},
		{"huge file", site.RenderAnswer([]site.Update{upd(site.UpdateFile{Name: "x", Size: fileSizeLimit + 1, SHA256: file.SHA256})}), "want 0 to"},
		{"bad hash", site.RenderAnswer([]site.Update{upd(site.UpdateFile{Name: "x", Size: 1, SHA256: "zz"})}), "bad SHA-256"},
		{"no files", site.RenderAnswer([]site.Update{upd()}), "0 files"},
		{"status disagrees", []byte("<DeviceUpdateResponse><Status>downloads=0</Status><Update><Version>1</Version></Update></DeviceUpdateResponse>"), "status"},
		{"not XML", []byte("<<<"), "answer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.answer = func() []byte { return tt.answer }
			r := run(t, f, Config{Duration: time.Hour}, phone("p", "4.0.7577.4363", "alice", false))
			d := r.Devices[0]
			if d.State != StateError || !strings.Contains(d.Error, tt.want) || d.Version != "4.0.7577.4363" || r.Downloads != 0 {
				t.Errorf("%s %q, version %s, %d downloads; want an error with %q", d.State, d.Error, d.Version, r.Downloads, tt.want)
			}
		})
	}
}

// TestLongerFile: a server sending more bytes than the answer says is
// read only to the declared size plus one, and the file is corrupt.
func TestLongerFile(t *testing.T) {
	f := newFake(t)
	big := strings.Repeat("x", 1<<20)
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			io.WriteString(w, big)
			return
		}
		f.serve(w, r)
	})
	r := run(t, f, Config{Duration: 30 * time.Second}, phone("p", "4.0.7577.4363", "alice", false))
	if d := r.Devices[0]; d.State != StateRetrying || !strings.Contains(d.Error, fmt.Sprintf("%d bytes, the answer says %d", len(f.image)+1, len(f.image))) {
		t.Errorf("%s %q", d.State, d.Error)
	}
	if r.BytesDownloaded != int64(len(f.image)+1) {
		t.Errorf("read %d bytes of a longer file, want %d", r.BytesDownloaded, len(f.image)+1)
	}
}

// TestContinue: a saved fleet continues at its daily check, and a change
// of target after the first run reaches it there.
func TestContinue(t *testing.T) {
	f := newFake(t)
	fl := &Fleet{Clock: epoch, Phones: []*Phone{phone("p", "4.0.7577.4398", "alice", false)}}
	cfg := Config{Network: Network{InternalURL: f.url(), Domain: "contoso.com"}}
	if _, err := Run(context.Background(), fl, cfg); err != nil {
		t.Fatal(err)
	}
	if fl.Phones[0].NextCheck == nil || !fl.Phones[0].NextCheck.Equal(epoch.Add(CheckInterval)) {
		t.Fatalf("next check %v, want %v", fl.Phones[0].NextCheck, epoch.Add(CheckInterval))
	}
	f.target = "4.0.7577.4363" // a roll-back
	start := fl.Clock
	r, err := Run(context.Background(), fl, cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := r.Devices[0]
	wantAt := epoch.Add(CheckInterval + IdleBeforeReboot)
	if d.Version != "4.0.7577.4363" || d.Backup != "4.0.7577.4398" || !d.LastUpdate.Equal(wantAt) {
		t.Errorf("after the change: %s (backup %s) at %v, want 4.0.7577.4363 at %v", d.Version, d.Backup, d.LastUpdate, wantAt)
	}
	if want := wantAt.Sub(start).Seconds(); r.ConvergedSeconds != want {
		t.Errorf("converged after %.0f s, want %.0f", r.ConvergedSeconds, want)
	}
}

// TestConcurrencyBound: at most Concurrency requests are in flight.
func TestConcurrencyBound(t *testing.T) {
	f := newFake(t)
	var inflight, peak atomic.Int32
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		f.serve(w, r)
		inflight.Add(-1)
	})
	var phones []*Phone
	for i := range 200 {
		phones = append(phones, phone(fmt.Sprintf("p%d", i), "4.0.7577.4363", "alice", false))
	}
	r := run(t, f, Config{Concurrency: 4, BootSpread: time.Minute}, phones...)
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak of %d requests in flight with a concurrency of 4", p)
	}
	if !r.Converged() || r.Installs != 200 {
		t.Errorf("converged %v, %d installs", r.Converged(), r.Installs)
	}
}

// newStubDNS answers A queries for one name with 127.0.0.1 and every
// other query with NXDOMAIN, on a loopback UDP port.
func newStubDNS(t *testing.T, name string) string {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			n, addr, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := buf[:n]
			if len(q) < 12 {
				continue
			}
			i, labels := 12, []string{}
			for i < len(q) && q[i] != 0 && i+1+int(q[i]) <= len(q) {
				labels = append(labels, string(q[i+1:i+1+int(q[i])]))
				i += 1 + int(q[i])
			}
			if i+5 > len(q) {
				continue
			}
			question := q[12 : i+5]
			qtype := int(q[i+1])<<8 | int(q[i+2])
			resp := append([]byte{q[0], q[1], 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0}, question...)
			switch {
			case !strings.EqualFold(strings.Join(labels, "."), name):
				resp[3] |= 3 // NXDOMAIN
			case qtype == 1:
				resp[7] = 1
				resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 127, 0, 0, 1)
			}
			pc.WriteTo(resp, addr)
		}
	}()
	return pc.LocalAddr().String()
}

// TestStorm: every phone checks rounds times, inside and outside counted
// apart, and nothing about the phones changes.
func TestStorm(t *testing.T) {
	f := newFake(t)
	wrong := phone("wrong", "4.0.7577.4363", "alice", true)
	wrong.WrongPassword = true
	fl := &Fleet{Clock: epoch, Phones: []*Phone{phone("a", "4.0.7577.4363", "alice", false), phone("b", "4.0.7577.4398", "alice", false),
		phone("c", "4.0.7577.4363", "alice", true), wrong}}
	accounts, _ := ParseAccounts("a", strings.NewReader("alice:s3cret\n"))
	r, err := Storm(context.Background(), fl, Config{Network: Network{InternalURL: f.url(), Domain: "contoso.com"}, Accounts: accounts}, 3)
	if err != nil {
		t.Fatal(err)
	}
	in, out := *r.Inside, *r.Outside
	if in.Checks != 6 || in.OK != 6 || out.Checks != 6 || out.OK != 3 || out.Unauthorized != 3 || in.P50 <= 0 || in.P99 < in.P90 || in.ChecksPerSec <= 0 {
		t.Errorf("inside %+v, outside %+v", in, out)
	}
	if fl.Phones[0].Version != "4.0.7577.4363" || fl.Phones[0].LastUpdate != nil || len(f.checks) != 12 {
		t.Errorf("the storm changed a phone, or sent %d checks (want 12)", len(f.checks))
	}
	if _, err := Storm(context.Background(), fl, Config{Network: Network{InternalURL: f.url(), Domain: "contoso.com"}}, stormCheckLimit); err == nil {
		t.Errorf("a storm of more than %d checks was accepted", stormCheckLimit)
	}
}
