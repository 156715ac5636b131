package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/duws/duws/responder/account"
	"github.com/duws/duws/responder/ldap"
	"github.com/urfave/cli/v2"
	"golang.org/x/term"
)

// ldapPasswordEnv is the environment variable the directory service
// account's password may come from (a systemd EnvironmentFile, a
// container secret). There is no flag for the password itself: command
// lines are visible to every user of the machine.
const ldapPasswordEnv = "DUWS_LDAP_BIND_PASSWORD"

// maxSecretFile bounds a password file: a password is a line.
const maxSecretFile = 4 << 10 // 4 KiB

// verifyTimeout bounds one verification of outside credentials through
// every source; the directory's own timeouts are shorter.
const verifyTimeout = 15 * time.Second

// ldapOptions are the directory flags of duws serve and duws users test.
type ldapOptions struct {
	url, caFile, serverName, bindDN, passwordFile string
	base, schema, userFilter, userAttr, upnAttr   string
	group, groupCheck                             string
	domains                                       []string
	startTLS, insecure                            bool
	poolSize                                      int
	timeout, dialTimeout                          time.Duration
}

func ldapFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "ldap-url", Usage: "verify outside credentials against the directory at `URL` too (ldaps://host[:port], or ldap://host[:port] with --ldap-starttls), after --htpasswd"},
		&cli.BoolFlag{Name: "ldap-starttls", Usage: "upgrade an ldap:// connection with StartTLS"},
		&cli.StringFlag{Name: "ldap-ca-file", Usage: "PEM `FILE` of the CA certificates that issued the directory's certificate (default: the system's)"},
		&cli.StringFlag{Name: "ldap-server-name", Usage: "`NAME` the directory's certificate must carry (default: the URL's host)"},
		&cli.BoolFlag{Name: "ldap-insecure", Usage: "allow ldap:// without StartTLS, which sends passwords in clear (tests only)"},
		&cli.StringFlag{Name: "ldap-bind-dn", Usage: "`DN` of the service account that searches users; its password comes from --ldap-bind-password-file or $" + ldapPasswordEnv},
		&cli.StringFlag{Name: "ldap-bind-password-file", Usage: "`FILE` whose first line is the service account's password"},
		&cli.StringFlag{Name: "ldap-base", Usage: "`DN` under which users are searched"},
		&cli.StringFlag{Name: "ldap-schema", Value: ldap.SchemaAD, Usage: "`KIND` of directory, for the defaults below: ad or openldap"},
		&cli.StringFlag{Name: "ldap-user-filter", Usage: "`FILTER` a user entry must match (default: ad (&(objectCategory=person)(objectClass=user)), openldap (objectClass=person))"},
		&cli.StringFlag{Name: "ldap-user-attr", Usage: "`ATTRIBUTE` holding bare and DOMAIN\\user names (default: ad sAMAccountName, openldap uid)"},
		&cli.StringFlag{Name: "ldap-upn-attr", Usage: "`ATTRIBUTE` holding user@domain names (default: ad userPrincipalName; openldap none: the part before @ is searched in --ldap-user-attr)"},
		&cli.StringSliceFlag{Name: "ldap-domain", Usage: "accept DOMAIN\\user and user@domain names only for `DOMAIN` (repeatable: the NetBIOS name and the DNS suffixes)"},
		&cli.StringFlag{Name: "ldap-group", Usage: "accept only members of the group `DN`"},
		&cli.StringFlag{Name: "ldap-group-check", Usage: "`HOW` membership is asked: memberof (the user's memberOf; default for ad), memberof-nested (ad: nested groups count too) or member (the group's member values; default for openldap)"},
		&cli.IntFlag{Name: "ldap-pool-size", Value: ldap.DefaultPoolSize, Usage: "at most `N` directory searches, and as many user binds, at once"},
		&cli.DurationFlag{Name: "ldap-timeout", Value: ldap.DefaultTimeout, Usage: "how long one directory search or bind may take"},
		&cli.DurationFlag{Name: "ldap-dial-timeout", Value: ldap.DefaultDialTimeout, Usage: "how long connecting to the directory may take"},
	}
}

func ldapOptionsFrom(c *cli.Context) ldapOptions {
	return ldapOptions{
		url: c.String("ldap-url"), startTLS: c.Bool("ldap-starttls"), caFile: c.String("ldap-ca-file"),
		serverName: c.String("ldap-server-name"), insecure: c.Bool("ldap-insecure"),
		bindDN: c.String("ldap-bind-dn"), passwordFile: c.String("ldap-bind-password-file"), base: c.String("ldap-base"),
		schema: c.String("ldap-schema"), userFilter: c.String("ldap-user-filter"), userAttr: c.String("ldap-user-attr"),
		upnAttr: c.String("ldap-upn-attr"), domains: c.StringSlice("ldap-domain"), group: c.String("ldap-group"),
		groupCheck: c.String("ldap-group-check"), poolSize: c.Int("ldap-pool-size"),
		timeout: c.Duration("ldap-timeout"), dialTimeout: c.Duration("ldap-dial-timeout"),
	}
}

// source returns the directory source the options describe, or nil
// without --ldap-url.
func (o ldapOptions) source(logger *slog.Logger) (*ldap.Source, error) {
	if o.url == "" {
		if o.bindDN != "" || o.base != "" || o.group != "" {
			return nil, usageErrorf("--ldap-* options without --ldap-url")
		}
		return nil, nil
	}
	if o.bindDN == "" || o.base == "" {
		return nil, usageErrorf("--ldap-url needs --ldap-bind-dn and --ldap-base")
	}
	pw, err := o.bindPassword()
	if err != nil {
		return nil, err
	}
	return ldap.New(ldap.Config{
		URL: o.url, StartTLS: o.startTLS, CAFile: o.caFile, ServerName: o.serverName, Insecure: o.insecure,
		BindDN: o.bindDN, BindPassword: pw, BaseDN: o.base, Schema: o.schema, UserFilter: o.userFilter,
		UserAttr: o.userAttr, UPNAttr: o.upnAttr, Domains: o.domains, Group: o.group, GroupCheck: o.groupCheck,
		PoolSize: o.poolSize, Timeout: o.timeout, DialTimeout: o.dialTimeout, Logger: logger,
	})
}

// bindPassword reads the service account's password from the file, or
// else the environment.
func (o ldapOptions) bindPassword() (string, error) {
	if o.passwordFile == "" {
		if pw := os.Getenv(ldapPasswordEnv); pw != "" {
			return pw, nil
		}
		return "", usageErrorf("--ldap-url needs the service account's password: --ldap-bind-password-file FILE, or $%s", ldapPasswordEnv)
	}
	f, err := os.Open(o.passwordFile)
	if err != nil {
		return "", fmt.Errorf("ldap bind password: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", fmt.Errorf("ldap bind password %s: %w", o.passwordFile, err)
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("ldap bind password %s: longer than %d bytes; want the password on one line", o.passwordFile, maxSecretFile)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("ldap bind password %s: the first line is empty", o.passwordFile)
	}
	return line, nil
}

// ldapMetrics adds the directory's counters to the responder's /metrics.
func ldapMetrics(h http.Handler, src *ldap.Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.ServeHTTP(w, req)
		if req.URL.Path != "/metrics" {
			return
		}
		st := src.Stats()
		fmt.Fprintln(w, "# HELP duws_ldap_verifications_total Directory verifications, by result.")
		fmt.Fprintln(w, "# TYPE duws_ldap_verifications_total counter")
		fmt.Fprintf(w, "duws_ldap_verifications_total{result=\"accepted\"} %d\n", st.Accepted)
		fmt.Fprintf(w, "duws_ldap_verifications_total{result=\"refused\"} %d\n", st.Refused)
		fmt.Fprintf(w, "duws_ldap_verifications_total{result=\"unavailable\"} %d\n", st.Unavailable)
		up := 1
		if st.Down {
			up = 0
		}
		fmt.Fprintln(w, "# HELP duws_ldap_up Whether the directory answered the last verification.")
		fmt.Fprintln(w, "# TYPE duws_ldap_up gauge")
		fmt.Fprintf(w, "duws_ldap_up %d\n", up)
	})
}

// usersTestCommand is duws users test: does the directory accept these
// credentials, and if not, why.
func usersTestCommand() *cli.Command {
	return &cli.Command{
		Name:      "test",
		Usage:     "ask the directory whether it accepts a user's password, and why not (the password is read from the terminal, or from standard input)",
		ArgsUsage: "USER",
		Flags:     append([]cli.Flag{&cli.BoolFlag{Name: "stdin", Usage: "read the password from the first line of standard input"}}, ldapFlags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return usageErrorf("users test: give one user name")
			}
			o := ldapOptionsFrom(c)
			if o.url == "" {
				return usageErrorf("users test: give the directory with --ldap-url (and the options duws serve has)")
			}
			logger := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
			src, err := o.source(logger)
			if err != nil {
				return err
			}
			defer src.Close()
			pass, err := askPassword(c.App.ErrWriter, c.Bool("stdin"))
			if err != nil {
				return err
			}
			user := c.Args().First()
			ctx, cancel := context.WithTimeout(c.Context, verifyTimeout)
			defer cancel()
			res, err := src.Verify(ctx, user, pass)
			switch {
			case err == nil:
				fmt.Fprintf(c.App.Writer, "accepted: %q is account %q of %s\n", user, res.Account, o.url)
				return nil
			case errors.Is(err, account.ErrUnavailable):
				return &exitError{code: exitFailed, err: fmt.Errorf("%s: the directory could not tell: %v", src.Name(), err)}
			default:
				fmt.Fprintf(c.App.Writer, "refused: %s: %v\n", src.Name(), err)
				return errFailed
			}
		},
	}
}

// askPassword reads a password once, without echo from the terminal, or
// a line of standard input.
func askPassword(prompt io.Writer, fromStdin bool) (string, error) {
	if !fromStdin && term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(prompt, "password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(prompt)
		return string(b), err
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
