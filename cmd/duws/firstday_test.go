package main

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/responder/audit"
	"github.com/google/go-cmp/cmp"
)

// Tests of issue 13's messages and habits: each quotes the message an
// administrator now sees.

func TestNormalizeArgs(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, tt := range []struct {
		in, want []string
	}{
		{[]string{"verify", "site", "--key", "duws.pub"}, []string{"verify", "--key", "duws.pub", "--", "site"}},
		{[]string{"approve", "51b7", "--dry-run"}, []string{"approve", "--dry-run", "--", "51b7"}},
		{[]string{"inventory", "audit", "--json"}, []string{"inventory", "--json", "--", "audit"}},
		{[]string{"approve", "--policy=p.yaml", "51b7", "--dry-run"}, []string{"approve", "--policy=p.yaml", "--dry-run", "--", "51b7"}},
		{[]string{"approve", "51b7", "--policy", "p.yaml", "a*"}, []string{"approve", "--policy", "p.yaml", "--", "51b7", "a*"}},
		{[]string{"cab", "extract", "UCUpdates.cab", "--help"}, []string{"cab", "extract", "--help"}},
		{[]string{"approve", "--policy", "p.yaml", "x", "-h"}, []string{"approve", "--help"}},
		{[]string{"cab", "extract", "-d", "out", "x.cab"}, []string{"cab", "extract", "-d", "out", "--", "x.cab"}},
		{[]string{"help", "approve"}, []string{"approve", "--help"}},
		{[]string{"help", "test-device", "add"}, []string{"test-device", "add", "--help"}},
		{[]string{"help"}, []string{"--help"}},
		{[]string{"--version"}, []string{"--version"}},
		// "--" ends the flags: what follows is an argument, even "-x".
		{[]string{"remove", "--dry-run", "--", "--odd"}, []string{"remove", "--dry-run", "--", "--odd"}},
		{[]string{"rules"}, []string{"rules"}},
	} {
		got, err := normalizeArgs(app, append([]string{"duws"}, tt.in...))
		if err != nil {
			t.Errorf("%v: %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(append([]string{"duws"}, tt.want...), got); diff != "" {
			t.Errorf("%v (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, exitUsage, "duws: error: no command given; run duws --help to see them"},
		{[]string{"aprove", "x"}, exitUsage, `duws: error: unknown command "aprove"; did you mean approve?`},
		{[]string{"biuld"}, exitUsage, `duws: error: unknown command "biuld"; did you mean build?`},
		{[]string{"frobnicate"}, exitUsage, `duws: error: unknown command "frobnicate"; run duws --help to see the commands`},
		{[]string{"cab", "lst"}, exitUsage, `duws: error: cab: unknown command "lst"; did you mean list?`},
		{[]string{"cab"}, exitUsage, "duws: error: cab: give a subcommand: list, test, extract"},
		{[]string{"test-device", "add", "--mac", "00-04-F2-12-34-56"}, exitUsage, "duws: error: test-device add: --name is required; see duws test-device add --help"},
		{[]string{"check", "--device", "UCPhone/Polycom/CX600/A/ENU", "--version", "4.0.7577.4100"}, exitUsage, "duws: error: check: --url is required"},
		{[]string{"check", "--url", "http://127.0.0.1:1", "--device", "UCPhone/Polycom/CX600/A/ENU", "--version", "4.0.7577.4100", "--mac", "00-04-F2"}, exitUsage, "duws: error: check: --mac: malformed MAC address"},
		{[]string{"rules", "--no-such-flag"}, exitUsage, "flag provided but not defined"},
		{[]string{"approve"}, exitFailed, "duws: error: approve: policy.yaml not found; run duws init to start a policy here, or give --policy FILE"},
		{[]string{"rules"}, exitFailed, "duws: error: rules: policy.yaml not found; run duws init"},
		{[]string{"build"}, exitFailed, "duws: error: build: policy.yaml not found; run duws init"},
		{[]string{"plan"}, exitFailed, "duws: error: plan: policy.yaml not found; run duws init"},
		{[]string{"import", "x.cab"}, exitFailed, "duws: error: import: policy.yaml not found; run duws init"},
		{[]string{"validate", "--policy", "elsewhere.yaml"}, exitFailed, "duws: error: validate: elsewhere.yaml not found; run duws init"},
		{[]string{"serve", "--site", ".", "--external", "127.0.0.1:0", "--insecure-external"}, exitUsage,
			"duws: error: serve: the external listener has no account source, so every request from outside would be refused (401); give --htpasswd FILE"},
	} {
		code, _, errs := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.msg) {
			t.Errorf("duws %v: exit %d, want %d with %q; stderr:\n%s", tt.args, code, tt.code, tt.msg, errs)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errs := runCLI(t, "help", "approve")
	if code != exitOK || !strings.Contains(out, "duws approve [command options] SELECTOR") {
		t.Errorf("duws help approve: exit %d\n%s%s", code, out, errs)
	}
	// --help after a cabinet: help, and nothing extracted.
	makeCab(t, filepath.Join(dir, "x.cab"), cabEntry{"a.txt", "hello"})
	code, out, _ = runCLI(t, "cab", "extract", "x.cab", "--help")
	if _, err := os.Stat(filepath.Join(dir, "a.txt")); code != exitOK || !strings.Contains(out, "extract the files of cabinets") || err == nil {
		t.Errorf("duws cab extract x.cab --help: exit %d, extracted: %v\n%s", code, err == nil, out)
	}
	code, out, _ = runCLI(t, "--version")
	if code != exitOK || !strings.HasPrefix(out, "duws version ") {
		t.Errorf("duws --version: exit %d: %s", code, out)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/duws/duws", Version: "v0.3.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "580a7acefc4e"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if diff := cmp.Diff("v0.3.0 (revision 580a7acefc4e with uncommitted changes, committed 2026-12-01T10:00:00Z, go1.26.8)", formatVersion(bi)); diff != "" {
		t.Errorf("formatVersion (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("(devel) (go1.26.8)", formatVersion(&debug.BuildInfo{GoVersion: "go1.26.8"})); diff != "" {
		t.Errorf("formatVersion of a build without VCS information (-want +got):\n%s", diff)
	}
}

func TestInit(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errs := runCLI(t, "init", "fleet")
	if code != exitOK {
		t.Fatalf("init: exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{"wrote fleet/policy.yaml and made fleet/packages/", "next:", "cd fleet", "set service.internal_url and external_url", "duws import UCUpdates.exe", "duws approve"} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	if fi, err := os.Stat("fleet/packages"); err != nil || !fi.IsDir() {
		t.Errorf("no packages directory: %v", err)
	}
	if ig, err := os.ReadFile("fleet/.gitignore"); err != nil || !strings.Contains(string(ig), "site/\naudit/\n*.key\n") {
		t.Errorf(".gitignore: %v\n%s", err, ig)
	}
	before, _ := os.ReadFile("fleet/policy.yaml")
	if code, _, errs := runCLI(t, "init", "fleet", "--domain", "contoso.com"); code != exitFailed || !strings.Contains(errs, "init: fleet/policy.yaml exists; not overwriting it") {
		t.Errorf("second init: exit %d: %s", code, errs)
	}
	if after, _ := os.ReadFile("fleet/policy.yaml"); string(after) != string(before) {
		t.Error("a refused init changed the policy")
	}
	t.Chdir("fleet")
	// No service URLs: validate warns, build refuses until told.
	code, out, errs = runCLI(t, "validate")
	if code != exitOK || !strings.Contains(out, "policy.yaml: ok, with 3 warning(s)") ||
		!strings.Contains(errs, "duws: warning: policy.yaml: service.internal_url is not set: update answers would give phones inside the firewall relative URLs, which they cannot use; duws build refuses until it is set") ||
		!strings.Contains(errs, "duws: warning: policy.yaml: no rules yet: a build would tell every phone downloads=0") {
		t.Errorf("validate: exit %d\n%s%s", code, out, errs)
	}
	for _, tt := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"build"}, exitFailed, "duws: error: build: policy.yaml: service.internal_url is not set: update answers would give phones inside the firewall relative URLs, which they cannot use\n(set it, as duws init --domain does, or give --allow-relative-urls to build anyway)"},
		{[]string{"build", "--allow-relative-urls"}, exitFailed, "duws: error: build: policy.yaml has no rules: the tree would tell every phone downloads=0 (duws import a package first, or give --allow-empty)"},
		{[]string{"build", "--allow-relative-urls", "--allow-empty"}, exitOK, "published"},
	} {
		code, out, errs := runCLI(t, tt.args...)
		if code != tt.code || !strings.Contains(out+errs, tt.msg) {
			t.Errorf("duws %v: exit %d, want %d with %q\n%s%s", tt.args, code, tt.code, tt.msg, out, errs)
		}
	}
	os.Remove("packages")
	if code, _, errs := runCLI(t, "validate"); code != exitOK || !strings.Contains(errs, "duws: warning: policy.yaml: the packages directory packages does not exist (duws import creates it; or correct packages:)") {
		t.Errorf("validate without a packages directory: exit %d: %s", code, errs)
	}
	if code, _, errs := runCLI(t, "build", "--allow-relative-urls"); code != exitFailed || !strings.Contains(errs, "build: the packages directory packages does not exist: the tree would tell every phone downloads=0") {
		t.Errorf("build without a packages directory: exit %d: %s", code, errs)
	}

	// With --domain, the policy is ready to build from once it has rules.
	t.Chdir(dir)
	code, out, _ = runCLI(t, "init", "--domain", "contoso.com")
	pol, _ := os.ReadFile("policy.yaml")
	if code != exitOK || strings.Contains(out, "set service.internal_url") ||
		!strings.Contains(string(pol), `internal_url: "https://ucupdates-r2.contoso.com"`) || !strings.Contains(string(pol), `external_url: "https://ucupdates-r2.contoso.com:4443"`) {
		t.Errorf("init --domain: exit %d\n%s\n%s", code, out, pol)
	}
	if code, _, errs := runCLI(t, "init", "x", "--domain", "https://contoso.com"); code != exitUsage || !strings.Contains(errs, `init: --domain "https://contoso.com": want a DNS domain such as contoso.com`) {
		t.Errorf("init with a URL for a domain: exit %d: %s", code, errs)
	}
}

func TestMissingPackagesDirectoryNamed(t *testing.T) {
	dir, pol := fleet(t)
	if code, out, errs := runCLI(t, "import", "--policy", pol, filepath.Join(dir, "vendor", "polycom-4.0.7577.4100.cab")); code != 0 {
		t.Fatalf("import: %s%s", out, errs)
	}
	os.RemoveAll(filepath.Join(dir, "packages"))
	want := "the packages directory " + filepath.Join(dir, "packages") + " does not exist (check packages: in the policy):"
	for _, cmd := range []string{"validate", "build"} {
		code, _, errs := runCLI(t, cmd, "--policy", pol, "--out", filepath.Join(dir, "site"))
		if cmd == "validate" {
			code, _, errs = runCLI(t, cmd, "--policy", pol)
		}
		if code != exitFailed || !strings.Contains(errs, want) || !strings.Contains(errs, "is in no imported package") {
			t.Errorf("%s: exit %d, want %q:\n%s", cmd, code, want, errs)
		}
	}
}

func TestFlagsAfterArguments(t *testing.T) {
	dir, pol := fleet(t)
	t.Chdir(dir)
	if code, out, errs := runCLI(t, "import", filepath.Join("vendor", "polycom-4.0.7577.4100.cab"), "--policy", pol); code != 0 {
		t.Fatalf("import: %s%s", out, errs)
	}
	before, _ := os.ReadFile(pol)
	code, out, errs := runCLI(t, "approve", "UCPhone/Polycom/CX600/A/ENU", "--dry-run")
	if code != exitOK || !strings.Contains(out, "would approve UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4100 (nothing was approved before)") || strings.Contains(out, "would have") {
		t.Errorf("approve SELECTOR --dry-run: exit %d\n%s%s", code, out, errs)
	}
	if after, _ := os.ReadFile(pol); string(after) != string(before) {
		t.Error("a dry run wrote the policy")
	}
	runCLI(t, "approve", "UCPhone/Polycom/CX600/A/ENU")
	if code, out, errs := runCLI(t, "keygen", "--out", filepath.Join(t.TempDir(), "k")); code != 0 {
		t.Fatalf("keygen: %s%s", out, errs)
	}
	key := filepath.Join(t.TempDir(), "sign")
	runCLI(t, "keygen", "--out", key)
	if code, out, errs := runCLI(t, "build", "--sign", key+".key"); code != 0 {
		t.Fatalf("build: %s%s", out, errs)
	}
	code, out, errs = runCLI(t, "verify", "site", "--key", key+".pub")
	if code != exitOK || !strings.Contains(out, "site: signature ok ("+key+".pub)") {
		t.Errorf("verify DIR --key: exit %d\n%s%s", code, out, errs)
	}
	// Nothing changed since the build: said in words, exit 0.
	if code, out, _ := runCLI(t, "plan"); code != exitOK || !strings.Contains(out, "no changes: every device is told what it is told now") {
		t.Errorf("plan after build: exit %d\n%s", code, out)
	}
}

func TestPlanShowsSettingChanges(t *testing.T) {
	dir, pol := fleet(t)
	t.Chdir(dir)
	runCLI(t, "import", filepath.Join("vendor", "polycom-4.0.7577.4100.cab"))
	runCLI(t, "approve", "UCPhone/Polycom/CX600/A/ENU")
	if code, out, errs := runCLI(t, "build"); code != 0 {
		t.Fatalf("build: %s%s", out, errs)
	}
	b, _ := os.ReadFile(pol)
	changed := strings.Replace(string(b), "internal_url: https://ucupdates-r2.contoso.com", "internal_url: https://updates.contoso.com", 1)
	changed = strings.Replace(changed, "topology_sites: [Dublin]", "topology_sites: [Dublin]\nnetwork:\n  inside: [10.0.0.0/8]", 1)
	os.WriteFile(pol, []byte(changed), 0o644)
	code, out, _ := runCLI(t, "plan")
	for _, want := range []string{
		"service.internal_url: https://ucupdates-r2.contoso.com -> https://updates.contoso.com: every update answer gives devices new URLs",
		"network.inside: (none) -> 10.0.0.0/8: which clients count as inside changes",
	} {
		if code != exitChanged || !strings.Contains(out, want) {
			t.Errorf("plan: exit %d, want %q:\n%s", code, want, out)
		}
	}
	if strings.Contains(out, "No changes") || strings.Contains(out, "no changes") {
		t.Errorf("plan says nothing changes:\n%s", out)
	}
	code, out, _ = runCLI(t, "plan", "--markdown")
	if code != exitChanged || !strings.Contains(out, "- service.internal_url: https://ucupdates-r2.contoso.com -> https://updates.contoso.com") {
		t.Errorf("plan --markdown: exit %d:\n%s", code, out)
	}
}

func TestInventoryWithoutPolicy(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	log, err := audit.Open(dir, "edge1", nil)
	if err != nil {
		t.Fatal(err)
	}
	log.Write(audit.Record{Time: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC), Client: "10.0.0.1", DeviceType: "UCPhone", MAC: "00-04-F2-00-00-01",
		Vendor: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU", RequestModules: []audit.Module{{Name: "CPE.nbt", Version: "4.0.7577.4100"}}, Outcome: "no-update"})
	log.Close()
	want := "no policy to compare with (policy.yaml not found): no version is counted as approved or not; give --policy FILE"
	code, out, _ := runCLI(t, "inventory", ".")
	if code != exitOK || !strings.Contains(out, want) {
		t.Errorf("inventory: exit %d, want %q:\n%s", code, want, out)
	}
	code, out, errs := runCLI(t, "inventory", ".", "--json")
	if code != exitOK || !strings.Contains(errs, "duws: warning: "+want) || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Errorf("inventory --json: exit %d:\n%s%s", code, out, errs)
	}
}

func TestKeygenKeepsPrivateKeyOutOfRepository(t *testing.T) {
	repo := t.TempDir()
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Chdir(repo)
	runCLI(t, "init", "--domain", "contoso.com")
	code, out, errs := runCLI(t, "keygen")
	if code != exitOK {
		t.Fatalf("keygen: exit %d: %s%s", code, out, errs)
	}
	key := filepath.Join(cfg, "duws", "duws.key")
	if !strings.Contains(out, "wrote the private key "+key) || !strings.Contains(out, "wrote the public key duws.pub") {
		t.Errorf("keygen output:\n%s", out)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("private key: %v", err)
	}
	if ks, _ := filepath.Glob(filepath.Join(repo, "*.key")); len(ks) != 0 {
		t.Errorf("a private key in the repository: %v", ks)
	}
	if code, _, errs := runCLI(t, "keygen"); code != exitFailed || !strings.Contains(errs, "keygen: duws.pub exists; not overwriting it") {
		t.Errorf("second keygen: exit %d: %s", code, errs)
	}
}

func TestWouldDo(t *testing.T) {
	for in, want := range map[string]string{
		"approved X CPE: 1.2.3.4 (was 1.2.3.3, kept as restore)": "would approve X CPE: 1.2.3.4 (was 1.2.3.3, kept as restore)",
		"reset X CPE: dropped pending 1.2.3.4":                   "would reset X CPE: dropped pending 1.2.3.4",
		"restored X CPE: 1.2.3.3 (was 1.2.3.4)":                  "would restore X CPE: 1.2.3.3 (was 1.2.3.4)",
		"removed X CPE (id 1234)":                                "would remove X CPE (id 1234)",
	} {
		if got := wouldDo(in); got != want {
			t.Errorf("wouldDo(%q) = %q, want %q", in, got, want)
		}
	}
}
