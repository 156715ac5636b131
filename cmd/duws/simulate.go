package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/duws/duws/simulate"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// simulateOptions are the flags of duws simulate.
type simulateOptions struct {
	site, fleet, accounts, ca, topologySite string
	mix                                     simulate.Mix
	network                                 simulate.Network
	bind, start                             string
	concurrency, rounds                     int
	duration, bootSpread                    time.Duration
	powerOn, storm, json, list              bool
}

func simulateCommand() *cli.Command {
	return &cli.Command{
		Name:  "simulate",
		Usage: "run a fleet of simulated phones against a running responder, in simulated time",
		Description: `Every phone discovers the service, checks at power-on, at sign-in and every 24 hours,
downloads and verifies what it is offered, waits five idle minutes and reboots into it; every
check and download is a real request, but time is simulated. The run ends when every phone has
nothing left to do but its next daily check. The fleet is made up from the tree (--site) or read
from --fleet FILE, which is written back at the end, so that a run after a policy change
continues the same fleet and reports how long it took to converge. Exit status 1 when the fleet
did not converge (a phone off its target, an error, or not settled).`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "site", Usage: "the site or tree `DIR` the responder serves: phones are made up from it, and each is checked against its target"},
			&cli.StringFlag{Name: "fleet", Usage: "read the fleet from `FILE` when it exists, and write it back at the end"},
			&cli.IntFlag{Name: "phones", Value: 100, Usage: "phones to make up when there is no fleet file"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "the `SEED` the fleet and the power-on times are made up from"},
			&cli.Float64Flag{Name: "outside", Value: 20, Usage: "`PERCENT` of made-up phones outside the firewall"},
			&cli.Float64Flag{Name: "no-user", Value: 25, Usage: "`PERCENT` of made-up phones on which nobody signed in (they discover the service through the DNS)"},
			&cli.Float64Flag{Name: "wrong-password", Value: 5, Usage: "`PERCENT` of made-up outside phones with a user that hold a wrong password"},
			&cli.Float64Flag{Name: "newer", Value: 5, Usage: "`PERCENT` of made-up phones shipped with firmware newer than any package"},
			&cli.StringFlag{Name: "accounts", Usage: "the fleet's users and the passwords their phones hold, `FILE` of user:password lines"},
			&cli.StringFlag{Name: "internal-url", Usage: "the internal `URL` provisioning gives phones (default: the tree's)"},
			&cli.StringFlag{Name: "external-url", Usage: "the external `URL` provisioning gives phones (default: the tree's)"},
			&cli.StringFlag{Name: "domain", Usage: "the DNS `DOMAIN` phones without a user look up ucupdates-r2.DOMAIN in (default: the internal URL's)"},
			&cli.StringFlag{Name: "dns", Usage: "the DNS server `ADDR` (host:port) phones resolve names with (default: the system's)"},
			&cli.StringFlag{Name: "outside-dns", Usage: "the DNS server `ADDR` outside phones use (default: --dns)"},
			&cli.StringFlag{Name: "inside-port", Usage: "connect inside phones to `PORT` on the address the name resolves to, whatever the URL says"},
			&cli.StringFlag{Name: "outside-port", Usage: "connect outside phones to `PORT` on the address the name resolves to, whatever the URL says"},
			&cli.StringFlag{Name: "bind", Usage: "give each phone its own source address from `PREFIX`, such as 127.0.0.0/8 on loopback"},
			&cli.StringFlag{Name: "ca", Usage: "trust the CA certificates in `FILE` (PEM) instead of the system's"},
			&cli.BoolFlag{Name: "new-connections", Usage: "open a new connection for every request"},
			&cli.StringFlag{Name: "topology-site", Usage: "the responder's topology `SITE`, for site-scoped test devices"},
			&cli.IntFlag{Name: "concurrency", Value: simulate.DefaultConcurrency, Usage: "requests in flight at most"},
			&cli.DurationFlag{Name: "duration", Value: simulate.DefaultDuration, Usage: "simulated time a run may last at most"},
			&cli.DurationFlag{Name: "boot-spread", Value: simulate.DefaultBootSpread, Usage: "simulated time over which phones power on at the start"},
			&cli.BoolFlag{Name: "power-on", Usage: "power every phone on at the start, also when continuing a fleet"},
			&cli.StringFlag{Name: "start", Usage: "the simulated `TIME` (RFC 3339) a made-up fleet starts at (default: now)"},
			&cli.BoolFlag{Name: "storm", Usage: "power every phone on at once and send the power-on checks as fast as the responder answers; report checks/s and latency"},
			&cli.IntFlag{Name: "rounds", Value: 1, Usage: "with --storm, checks per phone"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
			&cli.BoolFlag{Name: "list", Usage: "list every phone in the summary"},
		},
		Action: func(c *cli.Context) error {
			o := simulateOptions{
				site: c.String("site"), fleet: c.String("fleet"), accounts: c.String("accounts"), ca: c.String("ca"),
				topologySite: c.String("topology-site"),
				mix: simulate.Mix{Phones: c.Int("phones"), Seed: c.Uint64("seed"), Outside: c.Float64("outside"), NoUser: c.Float64("no-user"),
					WrongPassword: c.Float64("wrong-password"), Newer: c.Float64("newer")},
				network: simulate.Network{InternalURL: c.String("internal-url"), ExternalURL: c.String("external-url"), Domain: c.String("domain"),
					DNS: c.String("dns"), OutsideDNS: c.String("outside-dns"), InsidePort: c.String("inside-port"), OutsidePort: c.String("outside-port"),
					NewConnections: c.Bool("new-connections")},
				bind: c.String("bind"), start: c.String("start"),
				concurrency: c.Int("concurrency"), rounds: c.Int("rounds"),
				duration: c.Duration("duration"), bootSpread: c.Duration("boot-spread"),
				powerOn: c.Bool("power-on"), storm: c.Bool("storm"), json: c.Bool("json"), list: c.Bool("list"),
			}
			return runSimulate(c.Context, c.App.Writer, c.App.ErrWriter, o)
		},
	}
}

func runSimulate(ctx context.Context, stdout, stderr io.Writer, o simulateOptions) error {
	cfg, err := simulateConfig(&o)
	if err != nil {
		return err
	}
	fleet, err := simulateFleet(cfg, o)
	if err != nil {
		return err
	}
	bar := newProgressBar(stderr)
	cfg.Progress = bar.update
	if o.storm {
		r, err := simulate.Storm(ctx, fleet, cfg, o.rounds)
		if err != nil && r == nil {
			return err
		}
		if o.json {
			writeJSON(stdout, r)
		} else {
			r.WriteSummary(stdout)
		}
		return err
	}
	r, err := simulate.Run(ctx, fleet, cfg)
	bar.finish()
	if err != nil && r == nil {
		return err
	}
	if o.fleet != "" {
		if werr := simulate.WriteFleet(o.fleet, fleet); werr != nil {
			return werr
		}
	}
	if o.json {
		writeJSON(stdout, r)
	} else {
		r.WriteSummary(stdout, o.list)
	}
	if err != nil {
		return err
	}
	if !r.Converged() {
		fmt.Fprintln(stderr, "duws: the fleet did not converge (phones off target, errors, or not settled)")
		return errFailed
	}
	return nil
}

// simulateConfig turns the options into the simulator's configuration:
// the network, the CA, the accounts the phones hold, the tree.
func simulateConfig(o *simulateOptions) (simulate.Config, error) {
	cfg := simulate.Config{Network: o.network, Concurrency: o.concurrency, Duration: o.duration, BootSpread: o.bootSpread,
		PowerOn: o.powerOn, TopologySite: o.topologySite, Seed: o.mix.Seed}
	if o.bind != "" {
		p, err := netip.ParsePrefix(o.bind)
		if err != nil {
			return cfg, usageErrorf("simulate: --bind %q: want a prefix such as 127.0.0.0/8", o.bind)
		}
		cfg.Network.Bind = p
	}
	if o.ca != "" {
		pool, err := readCAFile(o.ca)
		if err != nil {
			return cfg, fmt.Errorf("simulate: %w", err)
		}
		cfg.Network.RootCAs = pool
	}
	if o.accounts != "" {
		f, err := os.Open(o.accounts)
		if err != nil {
			return cfg, fmt.Errorf("simulate: %w", err)
		}
		cfg.Accounts, err = simulate.ParseAccounts(o.accounts, f)
		f.Close()
		if err != nil {
			return cfg, err
		}
		o.mix.Users = cfg.Accounts.Users
	}
	if o.site != "" {
		t, err := simulate.LoadTree(o.site)
		if err != nil {
			return cfg, err
		}
		cfg.Tree = t
	}
	return cfg, nil
}

// simulateFleet reads the fleet file, or makes up a fleet from the tree.
func simulateFleet(cfg simulate.Config, o simulateOptions) (*simulate.Fleet, error) {
	if o.fleet != "" {
		f, err := simulate.ReadFleet(o.fleet)
		switch {
		case err == nil:
			return f, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	if cfg.Tree == nil {
		return nil, usageErrorf("simulate: give --site to make up a fleet, or --fleet with a fleet file")
	}
	o.mix.Start = time.Now()
	if o.start != "" {
		t, err := time.Parse(time.RFC3339, o.start)
		if err != nil {
			return nil, usageErrorf("simulate: --start %q: want RFC 3339, such as 2026-01-05T08:00:00Z", o.start)
		}
		o.mix.Start = t
	}
	return simulate.Generate(cfg.Tree, o.mix)
}

func writeJSON(w io.Writer, v any) {
	b, _ := json.MarshalIndent(v, "", "  ")
	w.Write(append(b, '\n'))
}

// progressBar draws a run's progress on a terminal, and nothing
// elsewhere.
type progressBar struct {
	w  io.Writer
	on bool
}

func newProgressBar(w io.Writer) *progressBar {
	f, ok := w.(*os.File)
	return &progressBar{w: w, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (b *progressBar) update(p simulate.Progress) {
	if !b.on || p.Phones == 0 {
		return
	}
	const width = 30
	n := p.Settled * width / p.Phones
	fmt.Fprintf(b.w, "\r[%s%s] %3d%% settled  %s simulated  %d checks ", strings.Repeat("#", n), strings.Repeat(" ", width-n),
		p.Settled*100/p.Phones, p.Simulated.Round(time.Minute), p.Checks)
}

func (b *progressBar) finish() {
	if b.on {
		fmt.Fprint(b.w, "\r\033[K")
	}
}
