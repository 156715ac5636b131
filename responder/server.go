package responder

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Server limits. Phones are slow and far away; attackers are neither.
const (
	// readHeaderTimeout: a device sends a few hundred bytes of headers;
	// ten seconds is generous even over a congested WAN link, and short
	// enough that idle half-open connections do not pile up.
	readHeaderTimeout = 10 * time.Second
	// readTimeout: the whole request, body included (at most 64 KiB).
	readTimeout = 30 * time.Second
	// writeTimeout: a response may be a 40 MB firmware image to a phone on
	// a slow link (40 MB at 64 KB/s is about ten minutes).
	writeTimeout = 15 * time.Minute
	// idleTimeout: phones check once a day; keeping idle connections
	// longer than a couple of minutes only holds memory.
	idleTimeout = 2 * time.Minute
	// maxHeaderBytes: device requests carry small headers; 16 KiB leaves
	// room for a proxy's additions.
	maxHeaderBytes = 16 << 10
)

// NewServer returns an http.Server with every timeout and limit set. The
// TLS configuration is copied: net/http adds to it when serving, so two
// servers must not share one.
func NewServer(h http.Handler, tlsConfig *tls.Config, logger *slog.Logger) *http.Server {
	s := &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig.Clone(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	if logger != nil {
		s.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelDebug)
	}
	return s
}

// TLS versions by name, for the --tls-min-version option.
var TLSVersions = map[string]uint16{
	"1.0": tls.VersionTLS10,
	"1.1": tls.VersionTLS11,
	"1.2": tls.VersionTLS12,
	"1.3": tls.VersionTLS13,
}

// CertReloader serves a certificate from files and reloads it when they
// change, checking at most once per interval.
type CertReloader struct {
	certFile, keyFile string
	interval          time.Duration
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	stamp   string
	checked time.Time
}

// NewCertReloader loads the certificate and key.
func NewCertReloader(certFile, keyFile string, logger *slog.Logger) (*CertReloader, error) {
	c := &CertReloader{certFile: certFile, keyFile: keyFile, interval: time.Second, logger: logger}
	if err := c.load(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *CertReloader) fileStamp() string {
	var s string
	for _, f := range []string{c.certFile, c.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return ""
		}
		s += fmt.Sprintf("%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return s
}

func (c *CertReloader) load() error {
	stamp := c.fileStamp()
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("tls: %s, %s: %w", c.certFile, c.keyFile, err)
	}
	c.cert, c.stamp = &cert, stamp
	return nil
}

// GetCertificate implements tls.Config.GetCertificate.
func (c *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.checked) >= c.interval {
		c.checked = now
		if s := c.fileStamp(); s != "" && s != c.stamp {
			old := c.cert
			if err := c.load(); err != nil {
				c.cert = old // keep serving the old one
				if c.logger != nil {
					c.logger.Error("tls reload", "err", err)
				}
			} else if c.logger != nil {
				c.logger.Info("tls certificate reloaded", "cert", c.certFile)
			}
		}
	}
	return c.cert, nil
}

// TLSConfig returns a server TLS configuration using c, with the given
// minimum version.
func (c *CertReloader) TLSConfig(minVersion uint16) *tls.Config {
	return &tls.Config{GetCertificate: c.GetCertificate, MinVersion: minVersion}
}

// Listener is one listening socket of a running service.
type Listener struct {
	Kind   Kind
	Addr   string
	TLS    *tls.Config
	Server *http.Server
	ln     net.Listener
}

// Serve runs servers on the listeners until ctx ends, then shuts them down
// gracefully: no new connections, and requests in flight get up to grace
// to finish (with a fresh context, since ctx is already done).
func Serve(ctx context.Context, lns []*Listener, grace time.Duration) error {
	errc := make(chan error, len(lns))
	for _, l := range lns {
		go func() {
			var err error
			if l.TLS != nil {
				err = l.Server.ServeTLS(l.ln, "", "")
			} else {
				err = l.Server.Serve(l.ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s listener %s: %w", l.Kind, l.Addr, err)
				return
			}
			errc <- nil
		}()
	}
	var first error
	select {
	case <-ctx.Done():
	case first = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	for _, l := range lns {
		if err := l.Server.Shutdown(sctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Listen opens the socket of l.
func (l *Listener) Listen() error {
	ln, err := net.Listen("tcp", l.Addr)
	if err != nil {
		return err
	}
	l.ln = newLimitListener(ln, maxConns)
	l.Addr = ln.Addr().String()
	return nil
}
