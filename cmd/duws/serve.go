package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/duws/duws/responder"
	"github.com/duws/duws/responder/ldap"
	"github.com/urfave/cli/v2"
)

// serveOptions are the flags of duws serve.
type serveOptions struct {
	site, policy                       string
	internal, external, admin          []string
	tlsCert, tlsKey, tlsMin            string
	insecureExternal, insideOnly       bool
	plainInternal                      bool
	htpasswd, auditDir, server, tsSite string
	grace                              time.Duration
	reload                             time.Duration
	cacheTTL                           time.Duration
	maxVerifications                   int
	ldap                               ldapOptions

	accessLog, dashboardInternal bool // servehttp.go
}

func serveCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "answer devices' checks and serve update files from a built site",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "site", Usage: "the site `DIR` (from duws build); without it, the tree is built from --policy into a temporary directory"},
			policyFlag(),
			&cli.StringSliceFlag{Name: "internal", Usage: "listen on `ADDR` as the internal web site (repeatable)"},
			&cli.StringSliceFlag{Name: "external", Usage: "listen on `ADDR` as the external web site (repeatable); needs TLS"},
			&cli.StringSliceFlag{Name: "admin", Usage: "listen on `ADDR` for /metrics and /healthz"},
			&cli.StringFlag{Name: "tls-cert", Usage: "certificate `FILE` (PEM, reloaded when it changes); it must name ucupdates-r2.<domain>"},
			&cli.StringFlag{Name: "tls-key", Usage: "private key `FILE` (PEM)"},
			&cli.StringFlag{Name: "tls-min-version", Value: "1.2", Usage: "oldest TLS `VERSION` accepted: 1.2 or 1.3, or 1.0/1.1 for old phones"},
			&cli.BoolFlag{Name: "insecure-external", Usage: "allow the external listener without TLS (for a TLS-terminating proxy in front)"},
			&cli.BoolFlag{Name: "plain-internal", Usage: "serve the internal listener over plain HTTP even with a certificate (behind a TLS-terminating proxy on the same host)"},
			&cli.BoolFlag{Name: "internal-inside-only", Usage: "treat clients of the internal listener outside the policy's inside networks as outside"},
			&cli.StringFlag{Name: "htpasswd", Usage: "accounts `FILE` (bcrypt, from duws users or htpasswd -B) for requests from outside"},
			&cli.DurationFlag{Name: "credential-cache-ttl", Value: responder.DefaultCacheTTL, Usage: "how long a verified user name and password are accepted without verifying again (0 or less: never)"},
			&cli.IntFlag{Name: "max-verifications", Usage: "password verifications at once, `N` (default: half the CPUs, at least 1); more wait a second, then get 503"},
			&cli.StringFlag{Name: "audit-dir", Value: "audit", Usage: "`DIR` for the daily audit logs"},
			&cli.StringFlag{Name: "server-name", Usage: "`NAME` in audit log file names (default: the host name)"},
			&cli.StringFlag{Name: "topology-site", Usage: "the Lync topology `SITE` this responder serves, for site-scoped test devices"},
			&cli.DurationFlag{Name: "grace", Value: 30 * time.Second, Usage: "on shutdown, how long requests in flight may take to finish"},
			&cli.DurationFlag{Name: "reload-interval", Value: time.Second, Usage: "how often to look for a new tree"},
			&cli.BoolFlag{Name: "access-log", Usage: "log one line per request (listener, client, method, path, status, bytes, duration; never credentials)"},
			&cli.BoolFlag{Name: "dashboard-internal", Usage: "also serve the tree's dashboard at / on the internal listener (it is always at / on the admin listener)"},
		}, ldapFlags()...),
		Action: func(c *cli.Context) error {
			o := serveOptions{
				site: c.String("site"), policy: c.String("policy"),
				internal: c.StringSlice("internal"), external: c.StringSlice("external"), admin: c.StringSlice("admin"),
				tlsCert: c.String("tls-cert"), tlsKey: c.String("tls-key"), tlsMin: c.String("tls-min-version"),
				insecureExternal: c.Bool("insecure-external"), insideOnly: c.Bool("internal-inside-only"), plainInternal: c.Bool("plain-internal"),
				htpasswd: c.String("htpasswd"), auditDir: c.String("audit-dir"), server: c.String("server-name"),
				tsSite: c.String("topology-site"), grace: c.Duration("grace"), reload: c.Duration("reload-interval"),
				cacheTTL: c.Duration("credential-cache-ttl"), maxVerifications: c.Int("max-verifications"),
				accessLog: c.Bool("access-log"), dashboardInternal: c.Bool("dashboard-internal"),
				ldap: ldapOptionsFrom(c),
			}
			return runServe(c.Context, c.App.Writer, c.App.ErrWriter, o)
		},
	}
}

// serveGCPercent is the collector's pace for the responder: its live heap
// is a few MiB, so the default pace collects after every few thousand
// checks; a slower pace trades a few MiB for CPU. GOGC overrides it.
const serveGCPercent = 400

func runServe(ctx context.Context, stdout, stderr io.Writer, o serveOptions) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(serveGCPercent))
	}
	if len(o.internal)+len(o.external) == 0 {
		o.internal = []string{"localhost:8080"}
	}
	minTLS, err := checkServeOptions(o)
	if err != nil {
		return err
	}
	if o.site == "" {
		dir, err := tempSite(stdout, o.policy)
		defer os.RemoveAll(dir)
		if err != nil {
			return err
		}
		o.site = dir
	}
	cfg := responder.Config{Site: o.site, TopologySite: o.tsSite, InternalInsideOnly: o.insideOnly, Logger: logger,
		CacheTTL: o.cacheTTL, MaxVerifications: o.maxVerifications}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = -1 // the flag's 0 means never; the Config's means the default
	}
	directory, err := o.ldap.source(logger)
	if err != nil {
		return err
	}
	if directory != nil {
		defer directory.Close()
	}
	closeAudit, err := setupAccounts(&cfg, o, directory, logger)
	if err != nil {
		return err
	}
	defer closeAudit()
	r, err := responder.New(cfg)
	if err != nil {
		return err
	}
	lns, err := openListeners(stdout, r, o, minTLS, directory, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "serving tree %s from %s\n", r.Tree().ID, o.site)
	serveReport(stdout, r, cfg, o, serverName(o), lns)
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	go r.Watch(wctx, o.reload)
	err = responder.Serve(ctx, lns, o.grace)
	if err != nil {
		logger.Error("stopped", "tree", r.Tree().ID, "err", err)
	} else {
		logger.Info("stopped", "tree", r.Tree().ID)
	}
	return err
}

// tempSite builds the policy into a temporary site directory, for a
// serve given no --site.
func tempSite(stdout io.Writer, policy string) (string, error) {
	dir, err := os.MkdirTemp("", "duws-site-")
	if err != nil {
		return "", err
	}
	if err := runBuild(io.Discard, buildOptions{policy: policy, out: dir, keep: 1, publish: true}); err != nil {
		return dir, err
	}
	fmt.Fprintf(stdout, "built the tree of %s into %s\n", policy, dir)
	return dir, nil
}

// checkServeOptions refuses settings that cannot work, before anything
// is started, and returns the TLS minimum version.
func checkServeOptions(o serveOptions) (uint16, error) {
	minTLS, ok := responder.TLSVersions[o.tlsMin]
	if !ok {
		return 0, usageErrorf("serve: --tls-min-version %q: want 1.0, 1.1, 1.2 or 1.3", o.tlsMin)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return 0, usageErrorf("serve: give both --tls-cert and --tls-key, or neither")
	}
	if len(o.external) > 0 && o.tlsCert == "" && !o.insecureExternal {
		return 0, usageErrorf("serve: the external listener needs TLS (--tls-cert, --tls-key), or --insecure-external behind a TLS-terminating proxy")
	}
	return minTLS, checkAccountSources(o)
}

// openListeners opens the internal, external and admin listeners, each
// with its handler, and says where they are.
func openListeners(stdout io.Writer, r *responder.Responder, o serveOptions, minTLS uint16, directory *ldap.Source, logger *slog.Logger) ([]*responder.Listener, error) {
	var tlsConfig *tls.Config
	if o.tlsCert != "" {
		cr, err := responder.NewCertReloader(o.tlsCert, o.tlsKey, logger)
		if err != nil {
			return nil, err
		}
		tlsConfig = cr.TLSConfig(minTLS)
	}
	var lns []*responder.Listener
	for _, k := range []struct {
		kind  responder.Kind
		addrs []string
	}{{responder.Internal, o.internal}, {responder.External, o.external}, {responder.Admin, o.admin}} {
		for _, a := range k.addrs {
			l := &responder.Listener{Kind: k.kind, Addr: a}
			h := r.Handler(k.kind)
			if k.kind == responder.Admin {
				h = r.AdminHandler()
				if directory != nil {
					h = ldapMetrics(h, directory)
				}
			} else if tlsConfig != nil && !(k.kind == responder.Internal && o.plainInternal) {
				l.TLS = tlsConfig
			}
			l.Server = responder.NewServer(wrapHandler(h, k.kind, r, o, logger), l.TLS, logger)
			if err := l.Listen(); err != nil {
				return nil, err
			}
			scheme := "http"
			if l.TLS != nil {
				scheme = "https"
			}
			fmt.Fprintf(stdout, "%s listener on %s://%s\n", k.kind, scheme, l.Addr)
			lns = append(lns, l)
		}
	}
	return lns, nil
}
