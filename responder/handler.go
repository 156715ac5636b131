package responder

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duws/duws/builder/device"
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
		err := r.serve(w, req, k)
		if err != nil {
			r.fail(w, req, err)
		}
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
	if he.status >= 500 {
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

// client returns the client's address: the TCP peer, or what a trusted
// proxy says in X-Forwarded-For (the rightmost address no trusted proxy
// added).
func (r *Responder) client(req *http.Request, t *Tree) netip.Addr {
	ap, err := netip.ParseAddrPort(req.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := ap.Addr().Unmap()
	if !t.trustedProxy(addr) {
		return addr
	}
	xff := req.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return addr // a malformed header proves nothing
			}
			a = a.Unmap()
			if !t.trustedProxy(a) {
				return a
			}
			addr = a
		}
	}
	return addr
}

// outside decides whether a request comes from outside the firewall: the
// listener decides, and an internal listener limited to the inside
// networks treats other clients as outside. The path never counts.
func (r *Responder) outside(k Kind, t *Tree, client netip.Addr) bool {
	if k == External {
		return true
	}
	return r.cfg.InternalInsideOnly && !t.inside(client)
}

// authenticate checks HTTP Basic credentials for a request from outside.
func (r *Responder) authenticate(w http.ResponseWriter, req *http.Request, client netip.Addr) (string, error) {
	user, pass, ok := req.BasicAuth()
	addr := client.String()
	if r.cfg.Limiter != nil && !r.cfg.Limiter.Allow(user, addr) {
		r.metrics.authFailures.Add(1)
		return "", statusErr(http.StatusTooManyRequests, "too many failed attempts; try again later", nil)
	}
	if ok && r.cfg.Users != nil && r.cfg.Users.Check(user, pass) {
		return user, nil
	}
	if ok && r.cfg.Limiter != nil {
		r.cfg.Limiter.Failed(user, addr)
	}
	r.metrics.authFailures.Add(1)
	// The same answer for an unknown user and a wrong password.
	w.Header().Set("WWW-Authenticate", `Basic realm="duws", charset="UTF-8"`)
	return "", statusErr(http.StatusUnauthorized, "credentials required", nil)
}

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (r *Responder) check(w http.ResponseWriter, req *http.Request, k Kind) error {
	t := r.tree.Load()
	client := r.client(req, t)
	ev := Event{Time: time.Now(), Client: client.String(), External: k == External}
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
	if r.outside(k, t, client) {
		if rq.User == "" {
			// A device nobody signed in to may not update from outside.
			outcome = OutcomeDenied
			r.metrics.denials.Add(1)
			return statusErr(http.StatusForbidden, "denied: no user signed in on the device", nil)
		}
		if _, err := r.authenticate(w, req, client); err != nil {
			outcome = OutcomeUnauthorized
			var he *httpError
			if errors.As(err, &he) && he.status == http.StatusTooManyRequests {
				outcome = OutcomeRateLimited
			}
			return err
		}
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
	return err
}

func (r *Responder) download(w http.ResponseWriter, req *http.Request, k Kind, rel string) error {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return statusErr(http.StatusMethodNotAllowed, "files are fetched with GET", nil)
	}
	t := r.tree.Load()
	client := r.client(req, t)
	if r.outside(k, t, client) {
		if _, err := r.authenticate(w, req, client); err != nil {
			return err
		}
	}
	f, full, ok := t.file(path.Clean("/" + rel)[1:])
	if !ok {
		return statusErr(http.StatusNotFound, "not found", nil)
	}
	fh, err := os.Open(full)
	if err != nil {
		return err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Cache-Control", "public, max-age=86400")
	switch ext := strings.ToLower(path.Ext(f.Path)); ext {
	case ".nbt", ".cat":
		h.Set("Content-Type", "application/octet-stream")
	default:
		if ct := mime.TypeByExtension(ext); ct != "" {
			h.Set("Content-Type", ct)
		} else {
			h.Set("Content-Type", "application/octet-stream")
		}
	}
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, req, path.Base(f.Path), fi.ModTime(), fh)
	r.metrics.bytesServed.Add(cw.n)
	return nil
}

// countingWriter counts the bytes of a response body, keeping the
// ReaderFrom of the connection so sendfile still works.
type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(src)
		c.n += n
		return n, err
	}
	n, err := io.Copy(c.ResponseWriter, src)
	c.n += n
	return n, err
}
