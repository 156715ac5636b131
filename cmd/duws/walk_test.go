package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer for a server's output read while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// gcabPackage makes a vendor package with Debian's gcab, the way a vendor
// tool would and not the way duws writes cabinets: the folder tree of
// docs/PACKAGE.md, no updateInfo.xml, MSZIP.
func gcabPackage(t *testing.T, gcab, dir, version string) string {
	t.Helper()
	src := filepath.Join(dir, "src-"+version)
	upd := filepath.Join(src, "UCPhone", "Polycom", "CX600", "A", "ENU", version, "CPE")
	if err := os.MkdirAll(upd, 0o755); err != nil {
		t.Fatal(err)
	}
	image := strings.Repeat("Lync Phone Edition image "+version+"\n", 4000)
	for name, data := range map[string]string{"CPE.nbt": image, "CPE.cat": "catalog " + version + "\n", "CPE.xml": "<Description>" + version + "</Description>\n"} {
		if err := os.WriteFile(filepath.Join(upd, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "UCUpdates-"+version+".cab")
	cmd := exec.Command(gcab, "-c", "-z", out, "UCPhone")
	cmd.Dir = src
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcab: %v\n%s", err, b)
	}
	return out
}

// TestAdministratorsFirstDay walks a fresh directory the way a new fleet
// administrator does, README in hand: init, import a gcab-made package,
// a test device, plan, approve, build, serve over TLS with an account,
// checks from inside and outside, downloads, a restore and a reset. Every
// step's exit code and words are asserted, and the shortest path from
// nothing to a phone told to update and downloading its file is counted:
// no more than seven commands, no file edited by hand.
func TestAdministratorsFirstDay(t *testing.T) {
	gcab := needCommand(t, "gcab")
	dir := t.TempDir()
	t.Chdir(dir)
	vendor := filepath.Join(dir, "vendor")
	os.Mkdir(vendor, 0o755)
	pkg1 := gcabPackage(t, gcab, vendor, "4.0.7577.4455")
	certFile, _, pool := writeCert(t, vendor)
	keyFile := filepath.Join(vendor, "key.pem")

	var shortest []string // the commands of the shortest path
	step := func(short bool, wantCode int, args ...string) string {
		t.Helper()
		code, out, errs := runCLI(t, args...)
		if code != wantCode {
			t.Fatalf("duws %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, out, errs)
		}
		if short {
			shortest = append(shortest, "duws "+args[0])
		}
		return out + errs
	}
	expect := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	expect(step(true, exitOK, "init", "--domain", "contoso.com"), "wrote policy.yaml and made packages/", "next:")
	expect(step(true, exitOK, "import", pkg1), "added UCPhone/Polycom/CX600/A/ENU CPE", "pending 4.0.7577.4455", "policy.yaml updated")
	expect(step(false, exitOK, "validate"), "policy.yaml: ok")
	expect(step(false, exitOK, "test-device", "add", "--name", "lab", "--mac", "00-04-F2-12-34-56"), `added test device "lab"`)
	expect(step(false, exitChanged, "plan"), "UCPhone/Polycom/CX600/A/ENU CPE  test       any other older version  (not in the tree) -> update to 4.0.7577.4455")
	rules := step(false, exitOK, "rules")
	id := regexp.MustCompile(`(?m)^([0-9a-f]{8})\s+UCPhone/Polycom/CX600/A/ENU`).FindStringSubmatch(rules)
	if id == nil {
		t.Fatalf("no rule id in:\n%s", rules)
	}
	expect(step(false, exitOK, "approve", id[1], "--dry-run"), "would approve UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4455", "dry run: policy.yaml not written")
	expect(step(true, exitOK, "approve", "UCPhone/Polycom/CX600/*/ENU"), "approved UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4455 (nothing was approved before)")
	expect(step(true, exitOK, "build"), "built tree ", "published: site/current is live")
	expect(step(false, exitOK, "plan"), "no changes: every device is told what it is told now")
	if code, out, errs := runCLIStdin(t, "s3cret\n", "users", "add", "--file", "users.htpasswd", "--stdin", "alice"); code != exitOK {
		t.Fatalf("users add: %s%s", out, errs)
	}

	intPort, extPort, adminPort := freePort(t), freePort(t), freePort(t)
	inside, outside, admin := "https://127.0.0.1:"+intPort, "https://127.0.0.1:"+extPort, "http://127.0.0.1:"+adminPort
	ctx, cancel := context.WithCancel(context.Background())
	var served lockedBuffer
	var logs lockedBuffer
	done := make(chan int, 1)
	serveArgs := []string{"serve", "--site", "site", "--internal", "127.0.0.1:" + intPort, "--external", "127.0.0.1:" + extPort, "--admin", "127.0.0.1:" + adminPort,
		"--tls-cert", certFile, "--tls-key", keyFile, "--htpasswd", "users.htpasswd", "--audit-dir", "audit", "--server-name", "edge1",
		"--topology-site", "Dublin", "--access-log", "--dashboard-internal", "--reload-interval", "50ms"}
	go func() { done <- run(ctx, append([]string{"duws"}, serveArgs...), &served, &logs) }()
	shortest = append(shortest, "duws serve")
	stopped := false
	stop := func() int {
		if stopped {
			return exitOK
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatal("duws serve did not stop")
			return -1
		}
	}
	defer stop()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitFor(t, client, admin+"/healthz")
	expect(served.String(), "internal listener on "+inside, "external listener on "+outside, "built=", "(inputs dated ",
		"audit log: "+filepath.Join("audit", "edge1-"), "accounts: 1 account(s) from users.htpasswd", "topology site: Dublin",
		"dashboard: "+admin+"/", "dashboard: "+inside+"/")

	check := func(short bool, wantCode int, args ...string) string {
		t.Helper()
		return step(short, wantCode, append([]string{"check", "--ca", certFile, "--device", "UCPhone/Polycom/CX600/A/ENU"}, args...)...)
	}
	// A phone inside on older firmware is told to update ...
	out := check(true, exitOK, "--url", inside, "--version", "4.0.7577.4100")
	expect(out, "meaning: update CPE from 4.0.7577.4100 to 4.0.7577.4455")
	m := regexp.MustCompile(`https://ucupdates-r2\.contoso\.com(/DeviceUpdateFiles_Int/\S+/CPE\.nbt)\s+(\d+) bytes\s+sha256 ([0-9a-f]{64})`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no image URL in:\n%s", out)
	}
	// ... and downloads its file, as the phone does.
	get := func(url, user, pass string) (int, []byte) {
		t.Helper()
		return httpDo(t, client, "GET", url, "", user, pass)
	}
	status, image := get(inside+m[1], "", "")
	sum := sha256.Sum256(image)
	if status != http.StatusOK || hex.EncodeToString(sum[:]) != m[3] {
		t.Fatalf("inside download: %d, sha256 %x, want %s", status, sum, m[3])
	}
	shortest = append(shortest, "the phone's download")
	if len(shortest) > 7 {
		t.Errorf("the shortest path from nothing to a phone downloading its update takes %d commands, want at most 7: %v", len(shortest), shortest)
	}
	t.Logf("shortest path, %d commands: %v", len(shortest), shortest)

	// Outside: no signed-in user is denied; a user needs credentials.
	expect(check(false, exitFailed, "--url", outside, "--external", "--version", "4.0.7577.4100"), "403", "meaning: denied")
	expect(check(false, exitFailed, "--url", outside, "--external", "--version", "4.0.7577.4100", "--user", "alice", "--password", "wrong"), "401", "meaning: credentials required")
	expect(check(false, exitOK, "--url", outside, "--external", "--version", "4.0.7577.4100", "--user", "alice", "--password", "s3cret"),
		"meaning: update CPE from 4.0.7577.4100 to 4.0.7577.4455", "https://ucupdates-r2.contoso.com:4443/DeviceUpdateFiles_Ext/")
	ext := outside + strings.Replace(m[1], "_Int", "_Ext", 1)
	if status, _ := get(ext, "", ""); status != http.StatusUnauthorized {
		t.Errorf("outside download without credentials: %d, want 401", status)
	}
	if status, b := get(ext, "alice", "s3cret"); status != http.StatusOK || string(b) != string(image) {
		t.Errorf("outside download with credentials: %d, %d bytes", status, len(b))
	}
	// A phone on the approved version is told nothing to do.
	expect(check(false, exitOK, "--url", inside, "--version", "4.0.7577.4455"), "meaning: downloads=0")
	// The dashboard, on the admin listener and (asked) the internal one.
	for _, url := range []string{admin + "/", inside + "/"} {
		if status, b := get(url, "", ""); status != http.StatusOK || !strings.Contains(string(b), "Device updates") {
			t.Errorf("dashboard at %s: %d\n%.300s", url, status, b)
		}
	}

	// A newer version: pending, the lab phone gets it; approve and build;
	// then roll back with restore.
	waitTree := func(version, mac string) {
		t.Helper()
		args := []string{"--url", inside, "--version", "4.0.7577.4100"}
		if mac != "" {
			args = append(args, "--mac", mac)
		}
		for range 100 {
			_, out, _ := runCLI(t, append([]string{"check", "--ca", certFile, "--device", "UCPhone/Polycom/CX600/A/ENU"}, args...)...)
			if strings.Contains(out, "to "+version+";") {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("the responder never told a phone (mac %q) to update to %s", mac, version)
	}
	pkg2 := gcabPackage(t, gcab, vendor, "4.0.7577.4500")
	expect(step(false, exitOK, "import", pkg2), "pending UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4500")
	expect(step(false, exitOK, "build"), "published")
	waitTree("4.0.7577.4500", "00-04-F2-12-34-56")
	expect(check(false, exitOK, "--url", inside, "--version", "4.0.7577.4100"), "to 4.0.7577.4455;")
	expect(step(false, exitOK, "approve", id[1]), "approved UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4500 (was 4.0.7577.4455, kept as restore)")
	expect(step(false, exitOK, "build"), "published")
	waitTree("4.0.7577.4500", "")
	expect(step(false, exitOK, "restore", id[1]), "restored UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4455")
	expect(step(false, exitOK, "build"), "published")
	waitTree("4.0.7577.4455", "")
	expect(check(false, exitOK, "--url", inside, "--version", "4.0.7577.4500"), "meaning: update CPE from 4.0.7577.4500 to 4.0.7577.4455")

	// Reset: a pending version is dropped; the lab phone goes back to the
	// approved one.
	pkg3 := gcabPackage(t, gcab, vendor, "4.0.7577.4600")
	expect(step(false, exitOK, "import", pkg3), "pending UCPhone/Polycom/CX600/A/ENU CPE: 4.0.7577.4600")
	expect(step(false, exitOK, "build"), "published")
	waitTree("4.0.7577.4600", "00-04-F2-12-34-56")
	expect(step(false, exitOK, "reset", id[1]), "reset UCPhone/Polycom/CX600/A/ENU CPE: dropped pending 4.0.7577.4600")
	expect(step(false, exitOK, "build"), "published")
	waitTree("4.0.7577.4455", "00-04-F2-12-34-56")

	if code := stop(); code != exitOK {
		t.Errorf("duws serve exited %d:\n%s", code, logs.String())
	}
	expect(logs.String(), "msg=stopped", "msg=request listener=internal", "path=/RequestHandler/ucdevice.upx status=200", "msg=request listener=external", "status=401")
	if strings.Contains(logs.String(), "s3cret") {
		t.Error("the logs hold a password")
	}
	audits, _ := filepath.Glob(filepath.Join("audit", "edge1-*.csv"))
	if len(audits) != 1 {
		t.Errorf("audit logs: %v", audits)
	}
	expect(step(false, exitOK, "inventory", "audit"), "UCPhone/Polycom/CX600/A/ENU")
}
