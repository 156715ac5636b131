package simulate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
)

// How a phone behaves, in simulated time.
const (
	// CheckInterval is how often a phone checks on its own.
	CheckInterval = 24 * time.Hour
	// SignInDelay is how long after power-on a phone with a user signs in
	// again with its cached credentials, and checks.
	SignInDelay = time.Minute
	// IdleBeforeReboot is how long a phone waits, idle, after a complete
	// download before it reboots into the new version.
	IdleBeforeReboot = 5 * time.Minute
	// BootTime is how long a reboot takes, until the power-on check.
	BootTime = 2 * time.Minute
	// RetryDelay is how long after a failed or corrupt download the phone
	// checks and downloads again.
	RetryDelay = time.Hour
	// lookahead is the shortest time between an event and one it causes;
	// events of different phones that are less than this apart may run at
	// once.
	lookahead = SignInDelay
)

// Limits on what a phone accepts from the service.
const (
	// answerLimit bounds a check's answer: an update is about a kilobyte.
	answerLimit = 1 << 20 // 1 MiB
	// updatesLimit and filesLimit bound an answer's updates and each
	// update's files; a phone has a handful of modules of three files.
	updatesLimit = 16
	filesLimit   = 16
	// fileSizeLimit bounds a file a phone downloads: images are tens of
	// MB, and a phone's flash is smaller than this.
	fileSizeLimit = 1 << 30 // 1 GiB
)

// State is what a phone's last run left it doing.
type State string

// The states of a phone.
const (
	StateNotChecked   State = "not-checked"  // it did not check in the run
	StateUpToDate     State = "up-to-date"   // its last check had nothing to download
	StateInstalling   State = "installing"   // downloaded, waiting to reboot when the run ended
	StateRetrying     State = "retrying"     // a download failed; it tries again later
	StateDenied       State = "denied"       // 403: outside, nobody signed in
	StateUnauthorized State = "unauthorized" // 401: outside, credentials refused
	StateThrottled    State = "throttled"    // 429: too many failed sign-ins
	StateNoService    State = "no-service"   // discovery failed: the name does not resolve
	StateError        State = "error"        // anything else: connection, 5xx, a bad answer
)

var states = []State{StateNotChecked, StateUpToDate, StateInstalling, StateRetrying, StateDenied, StateUnauthorized, StateThrottled, StateNoService, StateError}

// tally counts what one step of one phone did.
type tally struct {
	checks, offers, upToDate, denied, unauthorized, throttled, errors int
	downloads, downloadFailures, installs                             int
	bytesDown, bytesChecks                                            int64
	installedAt                                                       time.Duration
}

func (t *tally) add(u tally) {
	t.checks += u.checks
	t.offers += u.offers
	t.upToDate += u.upToDate
	t.denied += u.denied
	t.unauthorized += u.unauthorized
	t.throttled += u.throttled
	t.errors += u.errors
	t.downloads += u.downloads
	t.downloadFailures += u.downloadFailures
	t.installs += u.installs
	t.bytesDown += u.bytesDown
	t.bytesChecks += u.bytesChecks
	t.installedAt = max(t.installedAt, u.installedAt)
}

// checkBody is the XML of a phone's check (docs/PROTOCOL.md).
func (s *sim) checkBody(p *Phone) []byte {
	id, _ := device.ParseIdentity(p.Identity)
	user := ""
	if p.User != "" {
		user = "sip:" + p.User
		if !strings.Contains(p.User, "@") {
			user += "@" + s.cfg.Network.Domain
		}
	}
	stamp := s.start
	if p.LastUpdate != nil {
		stamp = *p.LastUpdate
	}
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<DeviceUpdateRequest>\n  <Device>")
	for _, f := range [...][2]string{{"DeviceType", id.DeviceType}, {"MAC", p.MAC}, {"Serial", p.Serial}, {"Vendor", id.Brand},
		{"Model", id.Model}, {"Revision", id.Revision}, {"Locale", id.Locale}, {"User", user}} {
		if f[1] == "" {
			continue
		}
		b.WriteString("<" + f[0] + ">")
		xml.EscapeText(&b, []byte(f[1]))
		b.WriteString("</" + f[0] + ">")
	}
	b.WriteString("</Device>\n  <Modules><Module><Name>")
	xml.EscapeText(&b, []byte(p.UpdateType+".nbt"))
	b.WriteString("</Name><UpdateType>")
	xml.EscapeText(&b, []byte(p.UpdateType))
	b.WriteString("</UpdateType><Version>" + p.Version + "</Version><Timestamp>" + stamp.UTC().Format(time.RFC3339) + "</Timestamp></Module></Modules>\n</DeviceUpdateRequest>\n")
	return []byte(b.String())
}

// discover returns the base URL a phone sends its check to.
func (s *sim) discover(ctx context.Context, ph *phoneRun) (string, error) {
	p := ph.p
	if p.User != "" {
		if p.Outside {
			return s.cfg.Network.ExternalURL, nil
		}
		return s.cfg.Network.InternalURL, nil
	}
	name := DiscoveryName + "." + s.cfg.Network.Domain
	if _, err := s.nw.resolve(ctx, sideOf(p), name); err != nil {
		return "", fmt.Errorf("discovery: %s does not resolve%s", name, s.nw.why(sideOf(p), err))
	}
	scheme := "https"
	if u, err := url.Parse(s.cfg.Network.InternalURL); err == nil && u.Scheme == "http" {
		scheme = "http"
	}
	return scheme + "://" + name, nil
}

func (s *sim) credentials(req *http.Request, p *Phone) {
	if !p.Outside || p.User == "" {
		return
	}
	pass, _ := s.cfg.Accounts.Password(p.User)
	if p.WrongPassword {
		pass += "-old"
	}
	req.SetBasicAuth(p.User, pass)
}

// errStatus is an HTTP status the phone did not expect.
type errStatus struct {
	code int
	op   string
}

func (e *errStatus) Error() string {
	return fmt.Sprintf("%s: %s", e.op, http.StatusText(e.code)+fmt.Sprintf(" (%d)", e.code))
}

// post sends a phone's check and returns the answer.
func (s *sim) post(ctx context.Context, c *http.Client, ph *phoneRun, base string, t *tally) (*site.ParsedAnswer, error) {
	path := "/RequestHandler/ucdevice.upx"
	if ph.p.Outside {
		path = "/RequestHandlerExt/ucdevice.upx"
	}
	body := s.checkBody(ph.p)
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+path, strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("check: %v", err)
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	s.credentials(req, ph.p)
	t.bytesChecks += int64(len(body))
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("check: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, answerLimit+1))
	t.bytesChecks += int64(len(b))
	if err != nil {
		return nil, fmt.Errorf("check: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &errStatus{resp.StatusCode, "check"}
	}
	if len(b) > answerLimit {
		return nil, fmt.Errorf("check: answer larger than %d KiB", answerLimit>>10)
	}
	a, err := site.ParseAnswer(b)
	if err != nil {
		return nil, fmt.Errorf("check: %v", err)
	}
	if err := checkAnswer(a); err != nil {
		return nil, fmt.Errorf("check: %v", err)
	}
	return a, nil
}

// checkAnswer refuses answers a phone could not act on.
func checkAnswer(a *site.ParsedAnswer) error {
	if a.Status != fmt.Sprintf("downloads=%d", len(a.Updates)) {
		return fmt.Errorf("answer: status %q for %d updates", a.Status, len(a.Updates))
	}
	if len(a.Updates) > updatesLimit {
		return fmt.Errorf("answer: %d updates, more than %d", len(a.Updates), updatesLimit)
	}
	for _, u := range a.Updates {
		if len(u.Files) == 0 || len(u.Files) > filesLimit {
			return fmt.Errorf("answer: update %s with %d files: want 1 to %d", u.Version, len(u.Files), filesLimit)
		}
		for _, f := range u.Files {
			if f.Name == "" || f.Name == "." || f.Name == ".." || strings.ContainsAny(f.Name, "/\\") {
				return fmt.Errorf("answer: bad file name %q", f.Name)
			}
			if f.Size < 0 || f.Size > fileSizeLimit {
				return fmt.Errorf("answer: file %q of %d bytes: want 0 to %d", f.Name, f.Size, fileSizeLimit)
			}
			if h, err := hex.DecodeString(f.SHA256); err != nil || len(h) != sha256.Size {
				return fmt.Errorf("answer: file %q: bad SHA-256 %q", f.Name, f.SHA256)
			}
		}
	}
	return nil
}

// download fetches one file and checks its size and hash, keeping nothing
// but the count of bytes.
func (s *sim) download(ctx context.Context, c *http.Client, p *Phone, base string, f site.UpdateFile, t *tally) error {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	u := strings.TrimRight(base, "/") + "/" + url.PathEscape(f.Name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("download %s: %v", f.Name, err)
	}
	s.credentials(req, p)
	t.downloads++
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("download %s: %v", f.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, answerLimit))
		return &errStatus{resp.StatusCode, "download " + f.Name}
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, f.Size+1))
	t.bytesDown += n
	if err != nil {
		return fmt.Errorf("download %s: %v", f.Name, err)
	}
	if n != f.Size {
		return fmt.Errorf("download %s: corrupt: %d bytes, the answer says %d", f.Name, n, f.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, f.SHA256) {
		return fmt.Errorf("download %s: corrupt: SHA-256 %s, the answer says %s", f.Name, got, f.SHA256)
	}
	return nil
}

// check is a phone's check and what follows from its answer: nothing, or
// downloading every offered file and, when all are good, waiting to
// reboot into the new version.
func (s *sim) check(ctx context.Context, ph *phoneRun, now time.Duration, t *tally, next *[]event) {
	p := ph.p
	ph.checked = true
	ph.checks++
	t.checks++
	p.Error = ""
	base, err := s.discover(ctx, ph)
	if err != nil {
		p.State, p.Error = StateNoService, err.Error()
		t.errors++
		return
	}
	c, done := s.nw.client(sideOf(p), ph.idx)
	defer done()
	a, err := s.post(ctx, c, ph, base, t)
	var es *errStatus
	switch {
	case errors.As(err, &es) && es.code == http.StatusForbidden:
		p.State, p.Error = StateDenied, err.Error()
		t.denied++
		return
	case errors.As(err, &es) && es.code == http.StatusUnauthorized:
		p.State, p.Error = StateUnauthorized, err.Error()
		t.unauthorized++
		return
	case errors.As(err, &es) && es.code == http.StatusTooManyRequests:
		p.State, p.Error = StateThrottled, err.Error()
		t.throttled++
		return
	case err != nil:
		p.State, p.Error = StateError, err.Error()
		t.errors++
		return
	}
	if len(a.Updates) == 0 {
		p.State = StateUpToDate
		t.upToDate++
		return
	}
	t.offers++
	version := ""
	for _, u := range a.Updates {
		if strings.EqualFold(u.UpdateType, p.UpdateType) || len(a.Updates) == 1 {
			version = u.Version
		}
		base := u.InternalURL
		if p.Outside {
			base = u.ExternalURL
		}
		for _, f := range u.Files {
			if err := s.download(ctx, c, p, base, f, t); err != nil {
				ph.downloads++
				p.State, p.Error = StateRetrying, err.Error()
				t.downloadFailures++
				if !ph.retryQueued {
					ph.retryQueued = true
					*next = append(*next, event{at: now + RetryDelay, kind: evRetry})
				}
				return
			}
			ph.downloads++
		}
	}
	if version == "" {
		p.State, p.Error = StateError, fmt.Sprintf("check: no update for module %s in the answer", p.UpdateType)
		t.errors++
		return
	}
	ph.staged = version
	p.State = StateInstalling
	*next = append(*next, event{at: now + IdleBeforeReboot, kind: evReboot})
}
