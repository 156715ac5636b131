package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/duws/duws/builder/site"
	"github.com/duws/duws/responder"
	"github.com/duws/duws/responder/account"
	"github.com/duws/duws/responder/htpasswd"
)

// What duws serve adds around the responder for people: the dashboard, an
// access log, the account-source check and the start-up report.

// accountSources names the account sources serve was given, for outside
// requests. A new kind of source (a directory) adds its flag here, and
// the check and the start-up report follow.
func accountSources(o serveOptions) []string {
	var s []string
	if o.htpasswd != "" {
		s = append(s, "htpasswd file "+o.htpasswd)
	}
	if o.ldap.url != "" {
		s = append(s, "directory "+o.ldap.url)
	}
	return s
}

// checkAccountSources refuses an external listener that could never
// authenticate anyone: every phone outside would be told 401.
func checkAccountSources(o serveOptions) error {
	if len(o.external) > 0 && len(accountSources(o)) == 0 {
		return usageErrorf("serve: the external listener has no account source, so every request from outside would be refused (401); give --htpasswd FILE (duws users add --file FILE USER makes one) or a directory with --ldap-url")
	}
	return nil
}

// describeAccounts says how many accounts a source holds, for the
// start-up report.
func describeAccounts(users account.Source, o serveOptions) string {
	if f, ok := users.(*htpasswd.File); ok {
		n := len(f.Users())
		if n == 0 {
			return fmt.Sprintf("no accounts in %s: nobody outside can authenticate (duws users add --file %s USER)", o.htpasswd, o.htpasswd)
		}
		return fmt.Sprintf("%d account(s) from %s", n, o.htpasswd)
	}
	if users == nil {
		return "none (requests from outside are refused)"
	}
	return strings.Join(accountSources(o), ", ")
}

// serveReport prints where things are once the listeners are up.
func serveReport(stdout io.Writer, r *responder.Responder, cfg responder.Config, o serveOptions, server string, lns []*responder.Listener) {
	t := r.Tree()
	fmt.Fprintf(stdout, "tree %s built=%s (inputs dated %s)\n", t.ID, treeWritten(t), t.Manifest.Built)
	day := time.Now().UTC().Format("2006-01-02")
	fmt.Fprintf(stdout, "audit log: %s (one file a day)\n", filepath.Join(o.auditDir, server+"-"+day+".csv"))
	fmt.Fprintf(stdout, "accounts: %s\n", describeAccounts(cfg.Accounts, o))
	ts := o.tsSite
	if ts == "" {
		ts = "none (site-scoped test devices get what other devices get)"
	}
	fmt.Fprintf(stdout, "topology site: %s\n", ts)
	for _, l := range lns {
		if l.Kind == responder.Admin || (l.Kind == responder.Internal && o.dashboardInternal) {
			scheme := "http"
			if l.TLS != nil {
				scheme = "https"
			}
			fmt.Fprintf(stdout, "dashboard: %s://%s/\n", scheme, l.Addr)
		}
	}
}

// treeWritten is when the tree was written: the time of its directory,
// which duws build fills just before publishing it (and rsync -a keeps).
// The manifest's time is the inputs' time, so that a build is
// reproducible.
func treeWritten(t *responder.Tree) string {
	fi, err := os.Stat(t.Dir)
	if err != nil {
		return "unknown"
	}
	return fi.ModTime().UTC().Format(time.RFC3339)
}

// serverName is the name in audit log file names, as setupAccounts picks it.
func serverName(o serveOptions) string {
	if o.server != "" {
		return o.server
	}
	if h, _ := os.Hostname(); h != "" {
		return h
	}
	return "duws"
}

// withDashboard serves the live tree's index.html at / and /index.html;
// everything else goes to next.
func withDashboard(next http.Handler, r *responder.Responder) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/" && req.URL.Path != "/"+site.IndexName {
			next.ServeHTTP(w, req)
			return
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		f, err := os.Open(filepath.Join(r.Tree().Dir, site.IndexName))
		if err != nil {
			http.Error(w, "this tree has no dashboard", http.StatusNotFound)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			http.Error(w, "this tree has no dashboard", http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		// The page is self-contained: styles inline, nothing else.
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, req, site.IndexName, fi.ModTime(), f)
	})
}

// withAccessLog logs one line per request: never a header, so never a
// credential.
func withAccessLog(next http.Handler, kind responder.Kind, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, req)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		logger.Info("request", "listener", kind.String(), "client", req.RemoteAddr, "method", req.Method, "path", req.URL.Path,
			"status", sw.status, "bytes", sw.n, "duration", time.Since(start).Round(time.Microsecond))
	})
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.n += int64(n)
	return n, err
}

// ReadFrom keeps sendfile for downloads.
func (s *statusWriter) ReadFrom(src io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := s.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{s.ResponseWriter}, src)
	}
	s.n += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// wrapHandler adds the dashboard and the access log to a listener's
// handler, as the flags ask.
func wrapHandler(h http.Handler, kind responder.Kind, r *responder.Responder, o serveOptions, logger *slog.Logger) http.Handler {
	if kind == responder.Admin || (kind == responder.Internal && o.dashboardInternal) {
		h = withDashboard(h, r)
	}
	if o.accessLog {
		h = withAccessLog(h, kind, logger)
	}
	return h
}
