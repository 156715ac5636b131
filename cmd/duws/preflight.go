package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/duws/duws/builder/policy"
)

// Checks before a build or a serve that turn silent misconfigurations into
// warnings (duws validate) or refusals (duws build, duws serve), each with
// the way out.

// serviceProblems lists what is wrong with the service URLs of a policy
// for phones: they need absolute URLs in every update answer.
func serviceProblems(path string, pol *policy.Policy) []string {
	var out []string
	for _, u := range []struct{ key, v, where string }{
		{"internal_url", pol.Service.InternalURL, "inside the firewall"},
		{"external_url", pol.Service.ExternalURL, "from the Internet"},
	} {
		if u.v == "" {
			out = append(out, fmt.Sprintf("%s: service.%s is not set: update answers would give phones %s relative URLs, which they cannot use", path, u.key, u.where))
		}
	}
	return out
}

// buildPreflight refuses a build whose tree could not work as intended,
// unless told: answers without absolute URLs, or a tree that tells every
// phone downloads=0 because there is nothing to offer.
func buildPreflight(path string, pol *policy.Policy, packagesDir string, o buildOptions) error {
	if p := serviceProblems(path, pol); len(p) > 0 && !o.allowRelativeURLs {
		return fmt.Errorf("build: %s\n(set it, as duws init --domain does, or give --allow-relative-urls to build anyway)", p[0])
	}
	if o.allowEmpty {
		return nil
	}
	if _, err := os.Stat(packagesDir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("build: the packages directory %s does not exist: the tree would tell every phone downloads=0 (duws import a package first, correct packages: in %s, or give --allow-empty)", packagesDir, path)
	}
	if len(pol.Rules) == 0 {
		return fmt.Errorf("build: %s has no rules: the tree would tell every phone downloads=0 (duws import a package first, or give --allow-empty)", path)
	}
	return nil
}

// reportValidate ends duws validate of a policy with no errors: its
// warnings, then ok.
func reportValidate(stdout, stderr io.Writer, path string, pol *policy.Policy, packagesDir string) error {
	warnings := serviceProblems(path, pol)
	for _, w := range warnings {
		fmt.Fprintf(stderr, "duws: warning: %s; duws build refuses until it is set\n", w)
	}
	if _, err := os.Stat(packagesDir); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(stderr, "duws: warning: %s: the packages directory %s does not exist (duws import creates it; or correct packages:)\n", path, packagesDir)
		warnings = append(warnings, "")
	}
	if len(pol.Rules) == 0 {
		fmt.Fprintf(stderr, "duws: warning: %s: no rules yet: a build would tell every phone downloads=0 (duws import adds rules)\n", path)
		warnings = append(warnings, "")
	}
	if len(warnings) > 0 {
		fmt.Fprintf(stdout, "%s: ok, with %d warning(s)\n", path, len(warnings))
		return nil
	}
	fmt.Fprintf(stdout, "%s: ok\n", path)
	return nil
}

// noPolicy says that inventory found no policy, so that "no approved
// version" is not read as a fact about the fleet.
func noPolicy(stdout, stderr io.Writer, path string, text bool) {
	msg := fmt.Sprintf("no policy to compare with (%s not found): no version is counted as approved or not; give --policy FILE", path)
	if text {
		fmt.Fprintln(stdout, msg)
		return
	}
	fmt.Fprintf(stderr, "duws: warning: %s\n", msg)
}
