package main

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/duws/duws/responder"
	"github.com/duws/duws/responder/account"
	"github.com/duws/duws/responder/audit"
	"github.com/duws/duws/responder/htpasswd"
	"github.com/duws/duws/responder/ldap"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// setupAccounts fills in the accounts, the limiter and the audit log of a
// responder configuration, and returns what closes the audit log. The
// htpasswd file is asked first, then the directory (dir, nil for none).
func setupAccounts(cfg *responder.Config, o serveOptions, dir *ldap.Source, logger *slog.Logger) (func(), error) {
	var chain account.Chain
	if o.htpasswd != "" {
		f, err := htpasswd.Open(o.htpasswd, logger)
		if err != nil {
			return nil, err
		}
		chain = append(chain, f)
	}
	if dir != nil {
		chain = append(chain, dir)
	}
	switch len(chain) {
	case 0:
	case 1:
		cfg.Accounts = chain[0]
	default:
		cfg.Accounts = chain
	}
	server := o.server
	if server == "" {
		server, _ = os.Hostname()
		if server == "" {
			server = "duws"
		}
	}
	if err := os.MkdirAll(o.auditDir, 0o750); err != nil {
		return nil, err
	}
	log, err := audit.Open(o.auditDir, server, logger)
	if err != nil {
		return nil, err
	}
	cfg.Audit = func(e responder.Event) { log.Write(auditRecord(e)) }
	cfg.AuditDropped = func() int64 { return log.Dropped() + log.Errors() }
	return func() {
		if err := log.Close(); err != nil {
			logger.Error("audit log", "err", err)
		}
	}, nil
}

// auditRecord turns a responder event into an audit log row.
func auditRecord(e responder.Event) audit.Record {
	rec := audit.Record{Time: e.Time, Client: e.Client, User: e.User, Outcome: e.Outcome, Request: e.Kind, Path: e.Path,
		Account: e.Account, AccountSource: e.Source, Listener: e.Listener}
	if r := e.Request; r != nil {
		rec.DeviceType, rec.MAC, rec.Serial, rec.Vendor, rec.Model, rec.Revision, rec.Locale = r.DeviceType, r.MAC, r.Serial, r.Vendor, r.Model, r.Revision, r.Locale
		for i, m := range r.Modules {
			rec.RequestModules = append(rec.RequestModules, audit.Module{Name: m.Name, Version: m.Version})
			if i < len(e.Offered) && e.Offered[i] != "" {
				typ, ver, _ := strings.Cut(e.Offered[i], ":")
				rec.ResponseModules = append(rec.ResponseModules, audit.Module{Name: typ, Version: ver})
			}
		}
	}
	return rec
}

func usersCommand() *cli.Command {
	fileFlag := &cli.StringFlag{Name: "file", Value: "users.htpasswd", Usage: "the accounts `FILE` (bcrypt htpasswd)"}
	return &cli.Command{
		Name:  "users",
		Usage: "manage the accounts that may update from outside",
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add an account, or change its password (read from the terminal, or from standard input with --stdin)",
				ArgsUsage: "USER",
				Flags:     []cli.Flag{fileFlag, &cli.BoolFlag{Name: "stdin", Usage: "read the password from the first line of standard input"}},
				Action:    runUsersAdd,
			},
			{
				Name:      "remove",
				Usage:     "remove an account",
				ArgsUsage: "USER",
				Flags:     []cli.Flag{fileFlag},
				Action: func(c *cli.Context) error {
					if c.NArg() != 1 {
						return usageErrorf("users remove: give one user name")
					}
					if err := htpasswd.Remove(c.String("file"), c.Args().First()); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "%s: account %q removed\n", c.String("file"), c.Args().First())
					return nil
				},
			},
			{
				Name:  "list",
				Usage: "list the accounts",
				Flags: []cli.Flag{fileFlag},
				Action: func(c *cli.Context) error {
					names, err := htpasswd.List(c.String("file"))
					if err != nil {
						return err
					}
					for _, n := range names {
						fmt.Fprintln(c.App.Writer, n)
					}
					return nil
				},
			},
			usersTestCommand(),
		},
	}
}

func runUsersAdd(c *cli.Context) error {
	if c.NArg() != 1 {
		return usageErrorf("users add: give one user name")
	}
	pass, err := readPassword(c.App.ErrWriter, c.Bool("stdin"))
	if err != nil {
		return err
	}
	if err := htpasswd.Add(c.String("file"), c.Args().First(), pass, 0); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "%s: account %q set\n", c.String("file"), c.Args().First())
	return nil
}

// readPassword reads a password without echo from the terminal, or a line
// of standard input.
func readPassword(prompt io.Writer, fromStdin bool) (string, error) {
	if !fromStdin && term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(prompt, "password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "again: ")
		b2, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(b) != string(b2) {
			return "", fmt.Errorf("the passwords differ")
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
