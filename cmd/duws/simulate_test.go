package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/responder/htpasswd"
	"github.com/duws/duws/simulate"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// TestSimulateFleet runs a few hundred simulated phones against duws serve
// over its real TLS listeners, with dnsmasq answering the discovery name,
// through a policy's life: the example policy, an approval, a restore, a
// reset and a test device taken off the list. After each change the fleet
// must end on the version the policy's rules give each phone's audience,
// worked out here from policy.yaml itself.
func TestSimulateFleet(t *testing.T) {
	dnsmasq := needCommand(t, "dnsmasq")
	dir := t.TempDir()
	_, pol := exampleSite(t, dir)
	site := filepath.Join(dir, "site")
	// More test devices than the example's two, so that a few hundred
	// phones include several.
	for i := range 8 {
		mac := fmt.Sprintf("00-04-F2-AA-00-%02X", i+1)
		if code, out, errs := runCLI(t, "test-device", "add", "--policy", pol, "--name", fmt.Sprintf("lab-%d", i+1), "--mac", mac); code != 0 {
			t.Fatalf("test-device add: %s%s", out, errs)
		}
	}
	build := func() string {
		t.Helper()
		if code, out, errs := runCLI(t, "build", "--policy", pol, "--out", site); code != 0 {
			t.Fatalf("build: %s%s", out, errs)
		}
		tree, err := os.Readlink(filepath.Join(site, "current"))
		if err != nil {
			t.Fatal(err)
		}
		return filepath.Base(tree)
	}
	tree := build()

	ca, certFile, keyFile := writeTestCA(t, dir)
	// A low bcrypt cost keeps the outside phones' many verifications
	// cheap; what is under test is the fleet, not the hash.
	htp := filepath.Join(dir, "users.htpasswd")
	for _, u := range [][2]string{{"alice", "s3cret"}, {"bob", "hunter2"}, {"mallory", "m4llory"}} {
		if err := htpasswd.Add(htp, u[0], u[1], bcrypt.MinCost); err != nil {
			t.Fatal(err)
		}
	}
	// mallory's phones hold an old password.
	accounts := filepath.Join(dir, "accounts")
	os.WriteFile(accounts, []byte("alice:s3cret\nbob:hunter2\nmallory:old-password\n"), 0o600)

	dnsPort := freePort(t)
	dns := exec.Command(dnsmasq, "--no-daemon", "--port="+dnsPort, "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv",
		"--no-hosts", "--address=/ucupdates-r2.contoso.com/127.0.0.1", "--conf-file=/dev/null", "--pid-file=")
	var dnsErr bytes.Buffer
	dns.Stdout, dns.Stderr = &dnsErr, &dnsErr
	if err := dns.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Process.Kill(); dns.Wait() })
	waitForDNS(t, "127.0.0.1:"+dnsPort, &dnsErr)

	intPort, extPort := freePort(t), freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int, 1)
	var serveErr bytes.Buffer
	go func() {
		served <- run(ctx, []string{"duws", "serve", "--site", site, "--internal", "127.0.0.1:" + intPort, "--external", "127.0.0.1:" + extPort,
			"--tls-cert", certFile, "--tls-key", keyFile, "--htpasswd", htp, "--audit-dir", filepath.Join(dir, "audit"), "--server-name", "test",
			"--topology-site", "Dublin", "--reload-interval", "50ms"}, io.Discard, &serveErr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("duws serve exited %d: %s", code, serveErr.String())
		}
	})
	pool := x509.NewCertPool()
	pem, _ := os.ReadFile(ca)
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	healthz := "https://127.0.0.1:" + intPort + "/healthz"
	waitFor(t, client, healthz)
	waitForTree := func(id string) {
		t.Helper()
		for range 200 {
			if resp, err := client.Get(healthz); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.TrimSpace(string(b)) == "ok "+id {
					return
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("the responder never served tree %s", id)
	}
	waitForTree(tree)

	// The fleet: made up from the tree, with every kind of phone.
	tr, err := simulate.LoadTree(site)
	if err != nil {
		t.Fatal(err)
	}
	fleet, err := simulate.Generate(tr, simulate.Mix{Phones: 300, Outside: 20, NoUser: 25, Newer: 5, Users: []string{"alice", "bob", "mallory"},
		Seed: 7, Start: time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	fleetFile := filepath.Join(dir, "fleet.json")
	if err := simulate.WriteFleet(fleetFile, fleet); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range fleet.Phones {
		switch {
		case p.Outside && p.User == "":
			kinds["outside without a user"]++
		case p.Outside && p.User == "mallory":
			kinds["outside with a wrong password"]++
		case p.Outside:
			kinds["outside with a user"]++
		case p.User == "":
			kinds["inside, discovering through the DNS"]++
		default:
			kinds["inside with a user"]++
		}
	}
	if len(kinds) != 5 {
		t.Fatalf("the fleet lacks a kind of phone: %v", kinds)
	}

	// simulateRun runs duws simulate on the fleet file and checks every
	// phone against what the policy says now.
	simulateRun := func(step string) *simulate.Report {
		t.Helper()
		before, err := simulate.ReadFleet(fleetFile)
		if err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI(t, "simulate", "--site", site, "--fleet", fleetFile, "--ca", ca, "--dns", "127.0.0.1:"+dnsPort,
			"--inside-port", intPort, "--outside-port", extPort, "--accounts", accounts, "--topology-site", "Dublin",
			"--bind", "127.0.0.0/8", "--concurrency", "16", "--json")
		var r simulate.Report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%s: simulate exited %d, no JSON report: %v\n%s%s", step, code, err, out, errs)
		}
		targets := policyTargets(t, pol)
		if !r.Settled {
			t.Errorf("%s: the fleet did not settle", step)
		}
		if r.Denied == 0 || r.Unauthorized+r.Throttled == 0 {
			t.Errorf("%s: %d denied, %d unauthorized, %d throttled: want some of each", step, r.Denied, r.Unauthorized, r.Throttled)
		}
		for i, d := range r.Devices {
			was := before.Phones[i]
			var want string
			var wantState simulate.State
			switch {
			case d.Outside && d.User == "":
				want, wantState = was.Version, simulate.StateDenied
			case d.Outside && d.User == "mallory":
				want, wantState = was.Version, simulate.StateUnauthorized
				if d.State == simulate.StateThrottled {
					wantState = d.State
				}
			default:
				want, wantState = targets.target(&d.Phone, was.Version), simulate.StateUpToDate
			}
			if d.Version != want || d.State != wantState {
				t.Errorf("%s: %s (%s %s, mac %s, serial %s, outside %v, user %q) ran %s: ends on %s, %s (%s); want %s, %s",
					step, d.Name, d.Identity, d.UpdateType, d.MAC, d.Serial, d.Outside, d.User, was.Version, d.Version, d.State, d.Error, want, wantState)
			}
			if d.Version != was.Version && (d.Backup != was.Version || d.LastUpdate == nil) {
				t.Errorf("%s: %s updated from %s to %s, but shows backup %q, last update %v", step, d.Name, was.Version, d.Version, d.Backup, d.LastUpdate)
			}
		}
		if code != 0 && !t.Failed() {
			t.Errorf("%s: simulate exited %d: %s", step, code, errs)
		}
		t.Logf("%s: %d checks, %d downloads (%d bytes), %d installs, converged after %s simulated, %.1f s wall",
			step, r.Checks, r.Downloads, r.BytesDownloaded, r.Installs, time.Duration(r.ConvergedSeconds*float64(time.Second)), r.WallSeconds)
		return &r
	}
	// A change reaches every phone at its next daily check.
	within := func(step string, r *simulate.Report) {
		t.Helper()
		if r.Installs == 0 {
			t.Errorf("%s: nothing was installed", step)
		}
		if limit := simulate.CheckInterval + simulate.IdleBeforeReboot + simulate.BootTime + time.Minute; r.ConvergedSeconds > limit.Seconds() {
			t.Errorf("%s: converged after %.0f s simulated, want at most %s", step, r.ConvergedSeconds, limit)
		}
	}
	policyCmd := func(args ...string) {
		t.Helper()
		if code, out, errs := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: %s%s", args, out, errs)
		}
		waitForTree(build())
	}

	// A name the DNS does not know: the phones say so, and the run fails.
	code, out, errs := runCLI(t, "simulate", "--site", site, "--phones", "3", "--no-user", "100", "--outside", "0", "--domain", "fabrikam.com",
		"--ca", ca, "--dns", "127.0.0.1:"+dnsPort, "--inside-port", intPort, "--json")
	var lost simulate.Report
	if err := json.Unmarshal([]byte(out), &lost); err != nil || code != exitFailed {
		t.Fatalf("unknown domain: exit %d, %v\n%s%s", code, err, out, errs)
	}
	for _, d := range lost.Devices {
		if d.State != simulate.StateNoService || !strings.Contains(d.Error, "ucupdates-r2.fabrikam.com does not resolve at DNS server 127.0.0.1:"+dnsPort) {
			t.Errorf("unknown domain: %s: %s %q", d.Name, d.State, d.Error)
		}
	}

	// The storm: every phone of the fleet checks at once, over TLS.
	code, out, errs = runCLI(t, "simulate", "--site", site, "--fleet", fleetFile, "--storm", "--ca", ca, "--dns", "127.0.0.1:"+dnsPort,
		"--inside-port", intPort, "--outside-port", extPort, "--accounts", accounts, "--bind", "127.0.0.0/8", "--json")
	var storm simulate.StormReport
	if err := json.Unmarshal([]byte(out), &storm); err != nil || code != 0 {
		t.Fatalf("storm: exit %d, %v\n%s%s", code, err, out, errs)
	}
	if in, ext := storm.Inside, storm.Outside; in == nil || ext == nil || in.OK != kinds["inside with a user"]+kinds["inside, discovering through the DNS"] ||
		in.Checks != in.OK || ext.OK != kinds["outside with a user"] || ext.Denied != kinds["outside without a user"] ||
		ext.Unauthorized+ext.Throttled != kinds["outside with a wrong password"] || in.ChecksPerSec <= 0 || in.P99 < in.P50 {
		t.Errorf("storm: inside %+v, outside %+v; fleet %v", in, ext, kinds)
	}

	r := simulateRun("example policy")
	if r.Installs == 0 || r.Downloads == 0 {
		t.Errorf("example policy: %d downloads, %d installs: the fleet should have had updates to install", r.Downloads, r.Installs)
	}
	if t.Failed() {
		return
	}
	policyCmd("approve", "--policy", pol, "UCPhone/Polycom/CX600/A/ENU")
	within("approve", simulateRun("approve"))
	policyCmd("restore", "--policy", pol, "UCPhone/Polycom/CX600/A/ENU")
	within("restore", simulateRun("restore"))

	// Reset a rule that has test phones on its pending version, then take
	// a test phone of another rule with a pending version off the list.
	final, _ := simulate.ReadFleet(fleetFile)
	targets := policyTargets(t, pol)
	var resetID, removeName, removedPhone, removedWant string
	for _, rule := range targets.rules {
		if rule.Pending == "" {
			continue
		}
		for _, p := range final.Phones {
			if p.Version != rule.Pending || !targets.isTest(p) || !strings.EqualFold(p.Identity, rule.Identity) || p.Outside {
				continue
			}
			name := targets.testName(p)
			switch {
			case resetID == "":
				resetID = rule.ID
			case rule.ID != resetID && removeName == "" && strings.HasPrefix(name, "lab-") && name != "lab-cx600":
				removeName, removedPhone, removedWant = name, p.Name, rule.Approved
			}
		}
	}
	if resetID == "" || removeName == "" {
		t.Fatalf("the fleet has no test phones on pending versions of two rules to reset and to take off the list (rule %q, device %q)", resetID, removeName)
	}
	policyCmd("reset", "--policy", pol, resetID)
	within("reset", simulateRun("reset"))
	policyCmd("test-device", "remove", "--policy", pol, removeName)
	r = simulateRun("test device removed")
	within("test device removed", r)
	for _, d := range r.Devices {
		if d.Name == removedPhone && d.Version != removedWant {
			t.Errorf("%s, taken off the test-device list, ends on %s, want the approved %s", d.Name, d.Version, removedWant)
		}
	}
}

// policyRules is what the test reads of policy.yaml to work out targets
// itself.
type policyRules struct {
	rules []struct {
		ID, Identity, UpdateType, Approved, Pending string
	}
	tests []struct {
		Name, MAC, Serial, Scope string
	}
}

func policyTargets(t *testing.T, path string) *policyRules {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rules []struct {
			ID         string `yaml:"id"`
			Identity   string `yaml:"identity"`
			UpdateType string `yaml:"update_type"`
			Approved   string `yaml:"approved"`
			Pending    string `yaml:"pending"`
		} `yaml:"rules"`
		TestDevices []struct {
			Name   string `yaml:"name"`
			MAC    string `yaml:"mac"`
			Serial string `yaml:"serial"`
			Scope  string `yaml:"scope"`
		} `yaml:"test_devices"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var p policyRules
	for _, r := range doc.Rules {
		p.rules = append(p.rules, struct{ ID, Identity, UpdateType, Approved, Pending string }{r.ID, r.Identity, r.UpdateType, r.Approved, r.Pending})
	}
	for _, d := range doc.TestDevices {
		p.tests = append(p.tests, struct{ Name, MAC, Serial, Scope string }{d.Name, d.MAC, d.Serial, d.Scope})
	}
	return &p
}

// testName returns the name of a phone's test-device entry, "" for none:
// an entry of its MAC or serial scoped global or to the responder's site
// (Dublin in this test).
func (p *policyRules) testName(ph *simulate.Phone) string {
	mac, _ := device.NormalizeMAC(ph.MAC)
	serial, _ := device.NormalizeSerial(ph.Serial)
	for _, d := range p.tests {
		if d.Scope != "global" && d.Scope != "Dublin" && d.Scope != "" {
			continue
		}
		m, _ := device.NormalizeMAC(d.MAC)
		s, _ := device.NormalizeSerial(d.Serial)
		if (d.MAC != "" && m == mac) || (d.Serial != "" && s == serial) {
			return d.Name
		}
	}
	return ""
}

func (p *policyRules) isTest(ph *simulate.Phone) bool { return p.testName(ph) != "" }

// target is the version the policy's rules give a phone: for a test
// device the rule's pending version where it has one, otherwise the
// approved version; a phone no rule covers stays where it is.
func (p *policyRules) target(ph *simulate.Phone, running string) string {
	for _, r := range p.rules {
		if !strings.EqualFold(r.Identity, ph.Identity) || !strings.EqualFold(r.UpdateType, ph.UpdateType) {
			continue
		}
		if p.isTest(ph) && r.Pending != "" {
			return r.Pending
		}
		if r.Approved != "" {
			return r.Approved
		}
	}
	return running
}

// writeTestCA makes a throwaway CA and a certificate it issued for
// ucupdates-r2.contoso.com and 127.0.0.1.
func writeTestCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "duws test CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "ucupdates-r2.contoso.com"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"ucupdates-r2.contoso.com"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return caFile, certFile, keyFile
}

// waitForDNS waits until the DNS server answers the discovery name.
func waitForDNS(t *testing.T, server string, log *bytes.Buffer) {
	t.Helper()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
	for range 100 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		addrs, err := r.LookupNetIP(ctx, "ip4", "ucupdates-r2.contoso.com")
		cancel()
		if err == nil && len(addrs) > 0 && addrs[0] == netip.MustParseAddr("127.0.0.1") {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("dnsmasq never answered on %s: %s", server, log.String())
}
