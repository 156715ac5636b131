package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSignBuiltTree: `duws build --sign` on a tree built before, unsigned,
// signs it, and `duws verify --key` then accepts it.
func TestSignBuiltTree(t *testing.T) {
	dir := t.TempDir()
	site, pol := exampleSite(t, dir)
	prefix := filepath.Join(dir, "keys", "duws")
	os.MkdirAll(filepath.Dir(prefix), 0o700)
	if code, out, errs := runCLI(t, "keygen", "--out", prefix); code != 0 {
		t.Fatalf("keygen: %d %s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "build", "--policy", pol, "--out", site, "--sign", prefix+".key")
	if code != 0 || !strings.Contains(out, "already built; signed it now (manifest.sig)") {
		t.Fatalf("build --sign of a built tree: exit %d\n%s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "verify", "--key", prefix+".pub", site); code != 0 {
		t.Errorf("verify --key after signing a built tree: exit %d\n%s%s", code, out, errs)
	}
}

// TestPublishByPrefix: publish takes a unique prefix of a tree id, as other
// ids may be abbreviated, and says publish: in its errors.
func TestPublishByPrefix(t *testing.T) {
	dir := t.TempDir()
	site, pol := exampleSite(t, dir)
	first, _ := os.Readlink(filepath.Join(site, "current"))
	firstID := filepath.Base(first)
	if code, out, errs := runCLI(t, "approve", "--policy", pol, "3757926b"); code != 0 {
		t.Fatalf("approve: %d %s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "build", "--policy", pol, "--out", site, "--no-publish")
	if code != 0 {
		t.Fatalf("build --no-publish: %d %s%s", code, out, errs)
	}
	second := regexp.MustCompile(`built tree ([0-9a-f]{64})`).FindStringSubmatch(out)
	if second == nil {
		t.Fatalf("build printed no tree id:\n%s", out)
	}
	if code, out, errs := runCLI(t, "publish", "--out", site, second[1][:10]); code != 0 || !strings.Contains(out, "published: "+second[1]+" is live") {
		t.Fatalf("publish by prefix: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runCLI(t, "publish", "--out", site, second[1][:10]); code != 0 || !strings.Contains(out, "is live already: nothing to change") {
		t.Errorf("publishing the live tree again: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "publish", "--out", site, "ffffffffffff"); code != 1 || !strings.Contains(errs, `publish: no tree "ffffffffffff" in `) {
		t.Errorf("unknown tree: exit %d, %q", code, errs)
	}
	if code, _, errs := runCLI(t, "publish", "--out", site, ""); code != 1 || !strings.Contains(errs, "publish: ") {
		t.Errorf("empty tree id: exit %d, %q", code, errs)
	}
	if code, out, errs := runCLI(t, "publish", "--out", site, "--revert"); code != 0 || !strings.Contains(out, firstID) {
		t.Errorf("revert: exit %d\n%s%s", code, out, errs)
	}
}
