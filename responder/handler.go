package responder

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
)

// Kind says which of the two web sites of the original a listener is.
type Kind int

// The listener kinds: the internal web site, reached from inside the
// firewall, and the external one, published through a reverse proxy.
// Admin is the kind of the admin listener (metrics, health).
const (
	Internal Kind = iota
	External
	Admin
)

func (k Kind) String() string {
	return [...]string{"internal", "external", "admin"}[k]
}

// httpError is an error with the status it maps to and a message safe to
// show the client.
type httpError struct {
	status int
	msg    string
	err    error // the cause, logged, not shown
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func statusErr(status int, msg string, err error) error {
	return &httpError{status: status, msg: msg, err: err}
}

// Handler returns the handler of a listener of kind k.
func (r *Responder) Handler(k Kind) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		tw := &trackingWriter{ResponseWriter: w}
		if err := r.serve(tw, req, k); err != nil {
			if tw.started {
				// A response already under way cannot become an error
				// response; its client went away or stalled.
				r.log.Debug("response cut short", "method", req.Method, "path", req.URL.Path, "err", err)
			} else {
				r.fail(tw, req, err)
			}
		}
		r.metrics.bytesServed.Add(tw.body)
		r.metrics.observe(time.Since(start))
	})
}

// fail turns an error into a response: the status and safe message of an
// httpError, 500 for anything else (which is a bug or a broken tree, and
// is logged once).
func (r *Responder) fail(w http.ResponseWriter, req *http.Request, err error) {
	var he *httpError
	if !errors.As(err, &he) {
		he = &httpError{status: http.StatusInternalServerError, msg: "internal error", err: err}
	}
	if he.status >= 500 && he.status != http.StatusServiceUnavailable {
		r.log.Error("request failed", "method", req.Method, "path", req.URL.Path, "err", err)
	} else if he.err != nil {
		r.log.Debug("request refused", "method", req.Method, "path", req.URL.Path, "status", he.status, "err", he.err)
	}
	// A success header set before the failure must not survive it.
	h := w.Header()
	for _, k := range []string{"Etag", "Last-Modified", "Content-Encoding", "Cache-Control", "Content-Length"} {
		h.Del(k)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(he.status)
	fmt.Fprintln(w, he.msg)
}

// trackingWriter notes whether a response has started and counts its
// body bytes, keeping the ReaderFrom of the connection so sendfile still
// works.
type trackingWriter struct {
	http.ResponseWriter
	started bool
	body    int64
}

func (t *trackingWriter) WriteHeader(code int) {
	t.started = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.started = true
	n, err := t.ResponseWriter.Write(p)
	t.body += int64(n)
	return n, err
}

func (t *trackingWriter) ReadFrom(src io.Reader) (int64, error) {
	t.started = true
	var n int64
	var err error
	if rf, ok := t.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(t.ResponseWriter, src)
	}
	t.body += n
	return n, err
}

// Unwrap gives http.ResponseController the connection's writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

const (
	checkInt = "/requesthandler/ucdevice.upx"
	checkExt = "/requesthandlerext/ucdevice.upx"
	filesInt = "/deviceupdatefiles_int/"
	filesExt = "/deviceupdatefiles_ext/"
)

func (r *Responder) serve(w http.ResponseWriter, req *http.Request, k Kind) error {
	p := strings.ToLower(req.URL.Path)
	switch {
	case p == checkInt || p == checkExt:
		return r.check(w, req, k)
	case strings.HasPrefix(p, filesInt):
		return r.download(w, req, k, req.URL.Path[len(filesInt):])
	case strings.HasPrefix(p, filesExt):
		return r.download(w, req, k, req.URL.Path[len(filesExt):])
	case p == "/healthz":
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "ok %s\n", r.tree.Load().ID)
		return nil
	}
	return statusErr(http.StatusNotFound, "not found", nil)
}

// origin is where a request comes from.
type origin struct {
	// addr is the client's address: the TCP peer, or what trusted proxies
	// say; invalid when a proxy's header could not be read.
	addr netip.Addr
	// proxied says the TCP peer is a trusted proxy.
	proxied bool
}

func (o origin) String() string {
	if !o.addr.IsValid() {
		return "unknown"
	}
	return o.addr.String()
}

// client returns where a request comes from: the TCP peer, or, from a
// trusted proxy, the rightmost address of X-Forwarded-For that no trusted
// proxy added. An entry that cannot be read gives an unknown address,
// which is never inside.
func (r *Responder) client(req *http.Request, t *Tree) origin {
	ap, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil {
		return origin{}
	}
	addr := ap.Addr().Unmap()
	if !t.trustedProxy(addr) {
		return origin{addr: addr}
	}
	xff := req.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, ok := parseForwarded(parts[j])
			if !ok {
				return origin{proxied: true} // a malformed header proves nothing
			}
			if !t.trustedProxy(a) {
				return origin{addr: a, proxied: true}
			}
			addr = a
		}
	}
	return origin{addr: addr, proxied: true}
}

// parseForwarded reads one X-Forwarded-For entry in the forms proxies
// write: an address, an address with a port, or a bracketed IPv6 address
// with or without a port.
func parseForwarded(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(s)
	if err != nil {
		var ap netip.AddrPort
		if ap, err = netip.ParseAddrPort(s); err == nil {
			a = ap.Addr()
		} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
		}
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// outside decides whether a request comes from outside the firewall: the
// listener decides, and an internal listener limited to the inside
// networks treats other clients (and unknown ones) as outside. The path
// never counts.
func (r *Responder) outside(k Kind, t *Tree, o origin) bool {
	if k == External {
		return true
	}
	return r.cfg.InternalInsideOnly && !(o.addr.IsValid() && t.inside(o.addr))
}

// authOutcome is the outcome of a request whose authentication failed.
func authOutcome(err error) string {
	var he *httpError
	if errors.As(err, &he) {
		switch he.status {
		case http.StatusTooManyRequests:
			return OutcomeRateLimited
		case http.StatusServiceUnavailable:
			return OutcomeUnavailable
		}
	}
	return OutcomeUnauthorized
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *Responder) check(w http.ResponseWriter, req *http.Request, k Kind) error {
	t := r.tree.Load()
	o := r.client(req, t)
	ev := Event{Time: time.Now(), Kind: EventCheck, Client: o.String(), Listener: k.String(), External: k == External}
	outcome := OutcomeError
	defer func() {
		ev.Outcome = outcome
		r.metrics.checks(outcome)
		if r.cfg.Audit != nil {
			r.cfg.Audit(ev)
		}
	}()
	if req.Method != http.MethodPost {
		outcome = OutcomeBadRequest
		w.Header().Set("Allow", "POST")
		return statusErr(http.StatusMethodNotAllowed, "a check is a POST", nil)
	}
	if req.ContentLength > maxBody {
		// Refused before reading: the client may stop sending.
		outcome = OutcomeBadRequest
		w.Header().Set("Connection", "close")
		return statusErr(http.StatusRequestEntityTooLarge, "check request too large", nil)
	}
	buf := bodyPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bodyPool.Put(buf)
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, req.Body, maxBody)); err != nil {
		outcome = OutcomeBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return statusErr(http.StatusRequestEntityTooLarge, "check request too large", err)
		}
		return statusErr(http.StatusBadRequest, "unreadable check request", err)
	}
	rq, err := ParseRequest(buf.Bytes())
	if err != nil {
		outcome = OutcomeBadRequest
		return statusErr(http.StatusBadRequest, "malformed check request", err)
	}
	ev.Request, ev.User = rq, rq.User
	mac, serial := "", ""
	if rq.MAC != "" {
		if mac, err = device.NormalizeMAC(rq.MAC); err != nil {
			outcome = OutcomeBadRequest
			return statusErr(http.StatusBadRequest, "malformed MAC address", err)
		}
	}
	if rq.Serial != "" {
		serial, _ = device.NormalizeSerial(rq.Serial)
	}
	if r.outside(k, t, o) {
		if rq.User == "" {
			// A device nobody signed in to may not update from outside.
			outcome = OutcomeDenied
			r.metrics.denials.Add(1)
			return statusErr(http.StatusForbidden, "denied: no user signed in on the device", nil)
		}
		res, err := r.authenticate(w, req, o)
		if err != nil {
			outcome = authOutcome(err)
			return err
		}
		ev.Account, ev.Source = res.Account, res.Source
	}
	body, offered, err := t.decide(rq, t.Devices.IsTest(mac, serial, r.cfg.TopologySite))
	if err != nil {
		if errors.Is(err, errRequest) {
			outcome = OutcomeBadRequest
			return statusErr(http.StatusBadRequest, "malformed check request", err)
		}
		return err
	}
	ev.Offered = offered
	outcome = OutcomeNoUpdate
	for _, o := range offered {
		if o != "" {
			outcome = OutcomeUpdate
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/xml; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	_, err = w.Write(body)
	return err // after the header: logged, never answered again
}

// maxRanges is how many ranges one download may ask for; a request with
// more is answered with the whole file. Devices ask for one, to resume.
const maxRanges = 8

// contentTypes are the Content-Types of update files, by extension; any
// other file is application/octet-stream. Fixed here, so that what is
// served does not depend on the host's MIME tables.
var contentTypes = map[string]string{
	".nbt": "application/octet-stream",
	".cat": "application/octet-stream",
	".xml": "text/xml; charset=utf-8",
	".txt": "text/plain; charset=utf-8",
}

func contentType(name string) string {
	if ct, ok := contentTypes[strings.ToLower(path.Ext(name))]; ok {
		return ct
	}
	return "application/octet-stream"
}

func (r *Responder) download(w http.ResponseWriter, req *http.Request, k Kind, rel string) (err error) {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return statusErr(http.StatusMethodNotAllowed, "files are fetched with GET", nil)
	}
	t := r.acquireTree()
	defer t.release()
	o := r.client(req, t)
	ev := Event{Time: time.Now(), Kind: EventDownload, Client: o.String(), Listener: k.String(), External: k == External, Path: rel}
	outcome := OutcomeError
	defer func() {
		ev.Outcome = outcome
		if r.cfg.Audit != nil {
			r.cfg.Audit(ev)
		}
	}()
	authenticated := false
	if r.outside(k, t, o) {
		res, err := r.authenticate(w, req, o)
		if err != nil {
			outcome = authOutcome(err)
			return err
		}
		ev.Account, ev.Source = res.Account, res.Source
		authenticated = true
	}
	f, ok := t.file(path.Clean("/" + rel)[1:])
	if !ok {
		outcome = OutcomeNotFound
		return statusErr(http.StatusNotFound, "not found", nil)
	}
	ev.Path = f.Path[len(site.FilesDir)+1:]
	content, closer, err := t.content(f)
	if err != nil {
		return err
	}
	defer closer.Close()
	h := w.Header()
	h.Set("ETag", `"`+f.SHA256+`"`)
	if authenticated {
		// Only for this client: a shared cache must not hand it to others.
		h.Set("Cache-Control", "private, max-age=86400")
	} else {
		h.Set("Cache-Control", "public, max-age=86400")
	}
	h.Set("Content-Type", contentType(f.Path))
	if strings.Count(req.Header.Get("Range"), ",") >= maxRanges {
		req.Header.Del("Range")
	}
	outcome = OutcomeServed
	http.ServeContent(w, req, path.Base(f.Path), t.Built, content)
	return nil
}
