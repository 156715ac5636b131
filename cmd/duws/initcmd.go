package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/duws/duws/builder/policy"
	"github.com/urfave/cli/v2"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:      "init",
		Usage:     "start a policy repository: a commented policy.yaml and an empty packages directory",
		ArgsUsage: "[DIR]",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "domain", Usage: "the DNS `DOMAIN` of the phones: the service URLs become https://ucupdates-r2.DOMAIN (inside) and https://ucupdates-r2.DOMAIN:4443 (outside)"},
			&cli.StringFlag{Name: "internal-url", Usage: "the `URL` devices use inside the firewall (overrides --domain)"},
			&cli.StringFlag{Name: "external-url", Usage: "the `URL` devices use from the Internet (overrides --domain)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return usageErrorf("init: give at most one directory")
			}
			dir := "."
			if c.NArg() == 1 {
				dir = c.Args().First()
			}
			return runInit(c.App.Writer, dir, c.String("domain"), c.String("internal-url"), c.String("external-url"))
		},
	}
}

// initPolicy is the policy duws init writes; %s are the service lines.
const initPolicy = `# duws approval policy. Keep it in git: duws build turns it and the
# packages it names into the update site; duws import, approve, reset,
# restore, remove and test-device edit it and keep these comments. Every
# key is documented in examples/policy-full.yaml of duws.

# Directory of imported vendor packages, relative to this file.
packages: packages

# Where devices reach the service: the URLs Lync provisions to phones
# after a user signs in. Phones nobody signed in to look up
# ucupdates-r2.<DNS domain>, so name the service that. Both are needed:
# answers carry absolute URLs.
service:
%s
network:
  # Clients in these networks are inside the firewall (the internal
  # listener's clients, with duws serve --internal-inside-only).
  inside: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "fd00::/8"]
  # Peers allowed to say who the client is (X-Forwarded-For), such as a
  # reverse proxy on this host: [127.0.0.1/32, "::1/128"].
  trusted_proxies: []

# Lync topology sites that test devices can be scoped to.
topology_sites: []

# One rule per device update; duws import adds them, pending.
rules: []

# Devices that get pending versions first: duws test-device add.
test_devices: []
`

func runInit(stdout io.Writer, dir, domain, internalURL, externalURL string) error {
	internalURL, externalURL, err := initURLs(domain, internalURL, externalURL)
	if err != nil {
		return err
	}
	var svc strings.Builder
	line := func(key, v, comment string) {
		if v == "" {
			fmt.Fprintf(&svc, "  # %s: https://ucupdates-r2.contoso.com  # %s: set it\n", key, comment)
		} else {
			fmt.Fprintf(&svc, "  %s: %q  # %s\n", key, v, comment)
		}
	}
	line("internal_url", internalURL, "inside the firewall")
	line("external_url", externalURL, "from the Internet")
	text := fmt.Sprintf(initPolicy, svc.String())
	if _, err := policy.Parse("policy.yaml", []byte(text)); err != nil {
		return fmt.Errorf("init: the policy written would not parse (a bug): %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	path := filepath.Join(dir, "policy.yaml")
	if err := writeExclusive(path, text); errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("init: %s exists; not overwriting it (edit it, or init another directory)", path)
	} else if err != nil {
		return fmt.Errorf("init: %w", err)
	}
	pkgs := filepath.Join(dir, policy.DefaultPackages)
	if err := os.MkdirAll(pkgs, 0o755); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s and made %s%c\n", path, pkgs, filepath.Separator)
	// What duws writes beside the policy is built, not reviewed; and a
	// signing key must never be committed.
	ignore := filepath.Join(dir, ".gitignore")
	if err := writeExclusive(ignore, "# Written by duws init: built trees, audit logs and private keys stay out of git.\nsite/\naudit/\n*.key\n"); err == nil {
		fmt.Fprintf(stdout, "wrote %s (site/, audit/ and *.key stay out of git)\n", ignore)
	} else if !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("init: %s: %w", ignore, err)
	}
	initNextSteps(stdout, dir, internalURL == "" || externalURL == "")
	return nil
}

// initURLs works out the service URLs from --domain, and checks them.
func initURLs(domain, internalURL, externalURL string) (string, string, error) {
	if domain != "" {
		if strings.ContainsAny(domain, "/:@ ") || strings.Trim(domain, ".") == "" {
			return "", "", usageErrorf("init: --domain %q: want a DNS domain such as contoso.com", domain)
		}
		domain = strings.Trim(domain, ".")
		if internalURL == "" {
			internalURL = "https://ucupdates-r2." + domain
		}
		if externalURL == "" {
			externalURL = "https://ucupdates-r2." + domain + ":4443"
		}
	}
	for _, u := range []struct{ flag, v string }{{"internal-url", internalURL}, {"external-url", externalURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return "", "", usageErrorf("init: --%s %q: want an absolute URL such as https://ucupdates-r2.contoso.com", u.flag, u.v)
		}
	}
	return internalURL, externalURL, nil
}

// writeExclusive creates path with text, failing with fs.ErrExist when it
// exists; a failed write leaves nothing behind.
func writeExclusive(path, text string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(text)
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

func initNextSteps(stdout io.Writer, dir string, noURLs bool) {
	fmt.Fprintln(stdout, "next:")
	if dir != "." {
		fmt.Fprintf(stdout, "  cd %s\n", dir)
	}
	if noURLs {
		fmt.Fprintln(stdout, "  set service.internal_url and external_url in policy.yaml (or init again with --domain)")
	}
	fmt.Fprintln(stdout, "  duws import UCUpdates.exe        # the vendor's package; its versions become pending")
	fmt.Fprintln(stdout, "  duws test-device add --name lab --mac 00-04-F2-12-34-56   # optional: a phone that tests first")
	fmt.Fprintln(stdout, "  duws plan                        # what phones will be told")
	fmt.Fprintln(stdout, "  duws approve RULE-ID             # or an identity pattern, such as UCPhone/Polycom/*/*/ENU")
	fmt.Fprintln(stdout, "  duws build                       # writes the site into ./site")
	fmt.Fprintln(stdout, "  duws serve --site site           # answers phones on localhost:8080")
}
