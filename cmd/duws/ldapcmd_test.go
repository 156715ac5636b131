package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/responder/ldap/ldaptest"
)

// ldapArgs are the directory flags for the test directory, the service
// password in a file.
func ldapArgs(t *testing.T, d *ldaptest.Directory) []string {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "bind.pw")
	if err := os.WriteFile(pw, []byte(ldaptest.BindPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--ldap-url", "ldaps://" + d.LDAPSAddr, "--ldap-ca-file", d.CAFile, "--ldap-server-name", ldaptest.ServerName,
		"--ldap-bind-dn", ldaptest.BindDN, "--ldap-bind-password-file", pw, "--ldap-base", ldaptest.BaseDN,
		"--ldap-user-filter", "(objectClass=person)", "--ldap-domain", "CONTOSO", "--ldap-domain", "contoso.com",
		"--ldap-timeout", "2s", "--ldap-dial-timeout", "2s"}
}

// TestServeWithDirectory runs duws serve with an htpasswd file and the
// directory, over its real TLS listeners: phones outside check and
// download with their users' directory passwords.
func TestServeWithDirectory(t *testing.T) {
	const cacheTTL = 3 * time.Second
	d := ldaptest.Start(t)
	dir := t.TempDir()
	site, _ := exampleSite(t, dir)
	certFile, keyFile, pool := writeCert(t, dir)
	htp := filepath.Join(dir, "users.htpasswd")
	if code, out, errs := runCLIStdin(t, "lab-pw\n", "users", "add", "--file", htp, "--stdin", "lab-phone"); code != 0 {
		t.Fatalf("users add: %s%s", out, errs)
	}
	intPort, extPort, adminPort := freePort(t), freePort(t), freePort(t)
	args := append([]string{"duws", "serve", "--site", site, "--internal", "127.0.0.1:" + intPort, "--external", "127.0.0.1:" + extPort,
		"--admin", "127.0.0.1:" + adminPort, "--tls-cert", certFile, "--tls-key", keyFile, "--htpasswd", htp,
		"--audit-dir", filepath.Join(dir, "audit"), "--server-name", "test", "--ldap-group", ldaptest.Group,
		"--credential-cache-ttl", cacheTTL.String()}, ldapArgs(t, d)...)
	ctx, cancel := context.WithCancel(context.Background())
	var log lockedBuffer
	served := make(chan int, 1)
	go func() { served <- run(ctx, args, io.Discard, &log) }()
	t.Cleanup(func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("duws serve exited %d:\n%s", code, log.String())
		}
	})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitFor(t, client, "http://127.0.0.1:"+adminPort+"/healthz")

	inside, outside := "https://127.0.0.1:"+intPort, "https://127.0.0.1:"+extPort
	body := `<DeviceUpdateRequest><Device><DeviceType>UCPhone</DeviceType><MAC>00-04-F2-99-99-99</MAC><Vendor>Polycom</Vendor><Model>CX600</Model>
<Revision>A</Revision><Locale>ENU</Locale><User>sip:alice@contoso.com</User></Device><Modules><Module><Name>CPE.nbt</Name><Version>4.0.7577.4100</Version></Module></Modules></DeviceUpdateRequest>`
	do := func(method, url, body, user, pass string) (int, string) {
		t.Helper()
		status, b := httpDo(t, client, method, url, body, user, pass)
		return status, string(b)
	}
	status, answer := do("POST", inside+"/RequestHandler/ucdevice.upx", body, "", "")
	m := regexp.MustCompile(`<ExternalURL>https://[^/<]+(/[^<]+)</ExternalURL>`).FindStringSubmatch(answer)
	if status != 200 || m == nil {
		t.Fatalf("inside check: %d\n%s", status, answer)
	}
	image := m[1] + "/CPE.nbt"
	want, _ := os.ReadFile(filepath.Join(site, "current", "files", strings.TrimPrefix(m[1], "/DeviceUpdateFiles_Ext/"), "CPE.nbt"))
	if len(want) == 0 {
		t.Fatalf("no image at %s", image)
	}
	check := outside + "/RequestHandlerExt/ucdevice.upx"
	var unauthorized string
	for _, tt := range []struct {
		name, user, pass string
		want             int
		logged           string // the reason in duws serve's log
	}{
		{"directory password", "alice", "alice-pw", 200, ""},
		{"DOMAIN form", `CONTOSO\alice`, "alice-pw", 200, ""},
		{"UPN form", "alice@contoso.com", "alice-pw", 200, ""},
		{"htpasswd first", "lab-phone", "lab-pw", 200, ""},
		{"wrong password", "alice", "wrong-pw", 401, "refused the bind"},
		{"unknown user", "mallory", "mallory-pw", 401, "no such account"},
		{"disabled", "carol", "carol-pw", 401, "account disabled"},
		{"not in the group", "bob", "bob-pw", 401, "not a member"},
		{"injection", "*", "alice-pw", 401, "no such account"},
		{"other domain", `FABRIKAM\alice`, "alice-pw", 401, "not accepted"},
	} {
		status, b := do("POST", check, body, tt.user, tt.pass)
		if status != tt.want {
			t.Errorf("%s: outside check as %q: %d, want %d: %s", tt.name, tt.user, status, tt.want, b)
		}
		if tt.want == 200 && !strings.Contains(b, "<Version>4.0.7577.4363</Version>") {
			t.Errorf("%s: outside check offers no update: %s", tt.name, b)
		}
		if tt.want == 401 {
			// Indistinguishable to the client: the same body every time.
			if unauthorized == "" {
				unauthorized = b
			} else if b != unauthorized {
				t.Errorf("%s: the 401 says %q, others %q", tt.name, b, unauthorized)
			}
			if !strings.Contains(log.String(), tt.logged) {
				t.Errorf("%s: the log does not say %q:\n%s", tt.name, tt.logged, log.String())
			}
		}
		status, got := do("GET", outside+image, "", tt.user, tt.pass)
		if status != tt.want || tt.want == 200 && got != string(want) {
			t.Errorf("%s: outside download as %q: %d, %d bytes; want %d", tt.name, tt.user, status, len(got), tt.want)
		}
	}
	_, metrics := do("GET", "http://127.0.0.1:"+adminPort+"/metrics", "", "", "")
	// Three directory logins: each download right after its check is
	// answered from the credential cache.
	for _, w := range []string{`duws_ldap_verifications_total{result="accepted"} 3`, "duws_ldap_up 1"} {
		if !strings.Contains(metrics, w) {
			t.Errorf("/metrics has no %q:\n%s", w, metrics)
		}
	}
	// The directory goes away: outside logins fail, inside checks do not
	// notice; it comes back and logins work again.
	const fresh = "alice@CONTOSO.COM" // a spelling no request used yet
	verified := time.Now()
	if status, _ := do("POST", check, body, fresh, "alice-pw"); status != 200 {
		t.Fatalf("outside check as %q: %d", fresh, status)
	}
	cached := time.Now() // the cache entry was made before this
	d.Stop()
	// A login verified a moment ago is still accepted from the cache; one
	// the directory must answer gets 503 (try again), not 401.
	if status, _ := do("POST", check, body, fresh, "alice-pw"); status != 200 && time.Since(verified) < cacheTTL {
		t.Errorf("directory down: outside check with cached credentials %d, want 200", status)
	}
	if status, _ := do("POST", check, body, "Alice", "alice-pw"); status != 503 {
		t.Errorf("directory down: outside check the directory must answer: %d, want 503", status)
	}
	// Once the cache entry has expired, the directory must answer again.
	time.Sleep(time.Until(cached.Add(cacheTTL + 250*time.Millisecond)))
	if status, _ := do("POST", check, body, fresh, "alice-pw"); status != 503 {
		t.Errorf("directory down, cache expired: outside check %d, want 503", status)
	}
	if status, _ := do("POST", inside+"/RequestHandler/ucdevice.upx", body, "", ""); status != 200 {
		t.Errorf("directory down: inside check %d", status)
	}
	_, metrics = do("GET", "http://127.0.0.1:"+adminPort+"/metrics", "", "", "")
	if !strings.Contains(metrics, `duws_ldap_verifications_total{result="unavailable"} 2`) || !strings.Contains(metrics, "duws_ldap_up 0") {
		t.Errorf("/metrics while the directory is down:\n%s", metrics)
	}
	d.Start()
	if status, _ := do("POST", check, body, "alice", "alice-pw"); status != 200 {
		t.Errorf("directory back: outside check %d", status)
	}
	for _, secret := range []string{"alice-pw", "wrong-pw", "carol-pw", ldaptest.BindPassword} {
		if strings.Contains(log.String(), secret) {
			t.Errorf("the log shows the password %q:\n%s", secret, log.String())
		}
	}
}

// TestUsersTest: duws users test says whether and why the directory
// accepts a password.
func TestUsersTest(t *testing.T) {
	d := ldaptest.Start(t)
	args := ldapArgs(t, d)
	for _, tt := range []struct {
		user, pass string
		code       int
		want       string
	}{
		{"alice", "alice-pw", 0, `accepted: "alice" is account "alice"`},
		{`CONTOSO\alice`, "alice-pw", 0, `accepted: "CONTOSO\\alice" is account "alice"`},
		{"alice", "nope", 1, "refused: ldap: \"alice\" (uid=alice,ou=people,dc=contoso,dc=com): directory refused the bind (Invalid Credentials)"},
		{"nobody", "x", 1, `refused: ldap: "nobody": no such account`},
		{"carol", "carol-pw", 1, "account disabled"},
		{"alice", "", 1, "empty password"},
	} {
		code, out, errs := runCLIStdin(t, tt.pass+"\n", append(append([]string{"users", "test", "--stdin"}, args...), tt.user)...)
		if code != tt.code || !strings.Contains(out+errs, tt.want) {
			t.Errorf("users test %q: exit %d, %s%s; want exit %d and %q", tt.user, code, out, errs, tt.code, tt.want)
		}
	}
	// The service password from the environment instead of a file.
	t.Setenv(ldapPasswordEnv, ldaptest.BindPassword)
	envArgs := slicesClone(args)
	for i, a := range envArgs {
		if a == "--ldap-bind-password-file" {
			envArgs = append(envArgs[:i], envArgs[i+2:]...)
			break
		}
	}
	if code, out, errs := runCLIStdin(t, "alice-pw\n", append(append([]string{"users", "test"}, envArgs...), "alice")...); code != 0 {
		t.Errorf("with $%s: exit %d: %s%s", ldapPasswordEnv, code, out, errs)
	}
	d.Stop()
	code, out, errs := runCLIStdin(t, "alice-pw\n", append(append([]string{"users", "test"}, args...), "alice")...)
	if code != 1 || !strings.Contains(errs, "could not tell") {
		t.Errorf("directory down: exit %d: %s%s", code, out, errs)
	}
}

func TestLDAPFlagsRefused(t *testing.T) {
	t.Setenv(ldapPasswordEnv, "")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pw")
	os.WriteFile(empty, []byte("\nsecond line\n"), 0o600)
	big := filepath.Join(dir, "big.pw")
	os.WriteFile(big, bytes.Repeat([]byte("x"), maxSecretFile+1), 0o600)
	base := []string{"--ldap-bind-dn", "cn=duws,dc=contoso,dc=com", "--ldap-base", "dc=contoso,dc=com"}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{append([]string{"--ldap-url", "ldaps://127.0.0.1:1"}, base...), exitUsage, "$" + ldapPasswordEnv},
		{[]string{"--ldap-url", "ldaps://127.0.0.1:1"}, exitUsage, "--ldap-bind-dn and --ldap-base"},
		{base, exitUsage, "without --ldap-url"},
		{append([]string{"--ldap-url", "ldaps://127.0.0.1:1", "--ldap-bind-password-file", empty}, base...), exitFailed, "first line is empty"},
		{append([]string{"--ldap-url", "ldaps://127.0.0.1:1", "--ldap-bind-password-file", big}, base...), exitFailed, "longer than"},
		{append([]string{"--ldap-url", "ldaps://127.0.0.1:1", "--ldap-bind-password-file", filepath.Join(dir, "none")}, base...), exitFailed, "no such file"},
	} {
		code, _, errs := runCLI(t, append([]string{"serve", "--site", dir}, tt.args...)...)
		if code != tt.code || !strings.Contains(errs, tt.want) {
			t.Errorf("serve %v: exit %d: %s; want exit %d and %q", tt.args, code, errs, tt.code, tt.want)
		}
	}
	pw := filepath.Join(dir, "bind.pw")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	code, _, errs := runCLI(t, append([]string{"serve", "--site", dir, "--ldap-url", "ldap://127.0.0.1:1", "--ldap-bind-password-file", pw}, base...)...)
	if code != exitFailed || !strings.Contains(errs, "in clear") || strings.Contains(errs, "s3cret") {
		t.Errorf("plain LDAP without --ldap-insecure: exit %d: %s", code, errs)
	}
}

// TestDirectoryIsAnAccountSource: an external listener with a directory
// and no htpasswd file has an account source, and serve does not refuse
// it; with neither, it is refused with both ways out named.
func TestDirectoryIsAnAccountSource(t *testing.T) {
	o := serveOptions{external: []string{"127.0.0.1:4443"}}
	err := checkAccountSources(o)
	if err == nil || !strings.Contains(err.Error(), "--htpasswd FILE") || !strings.Contains(err.Error(), "--ldap-url") {
		t.Errorf("no account source: %v", err)
	}
	o.ldap.url = "ldaps://dc1.contoso.com"
	if err := checkAccountSources(o); err != nil {
		t.Errorf("a directory only: %v", err)
	}
	if got := accountSources(o); len(got) != 1 || !strings.Contains(got[0], "ldaps://dc1.contoso.com") {
		t.Errorf("accountSources = %q", got)
	}
}
