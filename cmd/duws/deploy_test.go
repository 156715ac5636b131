package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// Tests that run the deployment examples for real: the nginx
// configuration with a real nginx, the CI workflow's commands in order,
// and the systemd unit's command line.

// duwsBinary builds duws once per test binary run.
func duwsBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "duws")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func needCommand(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is needed in CI (.ci/run installs it)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// exampleSite builds the example fleet into a site directory.
func exampleSite(t *testing.T, dir string) (site, policyPath string) {
	t.Helper()
	pol, _ := os.ReadFile("../../policy.yaml")
	policyPath = filepath.Join(dir, "policy.yaml")
	os.WriteFile(policyPath, []byte(strings.Replace(string(pol), "packages: examples/packages", "packages: packages", 1)), 0o644)
	os.MkdirAll(filepath.Join(dir, "packages"), 0o755)
	pkgs, _ := filepath.Glob("../../examples/packages/*.cab")
	for _, p := range pkgs {
		b, _ := os.ReadFile(p)
		os.WriteFile(filepath.Join(dir, "packages", filepath.Base(p)), b, 0o644)
	}
	site = filepath.Join(dir, "site")
	if code, out, errs := runCLI(t, "build", "--policy", policyPath, "--out", site); code != 0 {
		t.Fatalf("build: %s%s", out, errs)
	}
	return site, policyPath
}

func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	openssl := needCommand(t, "openssl")
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cmd := exec.Command(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
		"-subj", "/CN=ucupdates-r2.contoso.com", "-addext", "subjectAltName=DNS:ucupdates-r2.contoso.com,IP:127.0.0.1",
		"-keyout", keyFile, "-out", certFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v\n%s", err, out)
	}
	os.Chmod(keyFile, 0o644)
	pem, _ := os.ReadFile(certFile)
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return certFile, keyFile, pool
}

func waitFor(t *testing.T, client *http.Client, url string) {
	t.Helper()
	for range 100 {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

// TestNginxExample runs phones -> nginx (examples/nginx/duws.conf) ->
// duws serve, over TLS.
func TestNginxExample(t *testing.T) {
	nginx := needCommand(t, "nginx")
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	site, _ := exampleSite(t, dir)
	certFile, keyFile, pool := writeCert(t, dir)
	htp := filepath.Join(dir, "users.htpasswd")
	if code, out, errs := runCLIStdin(t, "s3cret\n", "users", "add", "--file", htp, "--stdin", "alice"); code != 0 {
		t.Fatalf("users add: %s%s", out, errs)
	}
	intPort, extPort, duwsInt, duwsExt := freePort(t), freePort(t), freePort(t), freePort(t)
	conf, err := os.ReadFile("../../examples/nginx/duws.conf")
	if err != nil {
		t.Fatal(err)
	}
	c := string(conf)
	for _, r := range [][2]string{
		{"listen 443 ssl", "listen 127.0.0.1:" + intPort + " ssl"},
		{"listen 4443 ssl", "listen 127.0.0.1:" + extPort + " ssl"},
		{"127.0.0.1:8081", "127.0.0.1:" + duwsInt},
		{"127.0.0.1:8082", "127.0.0.1:" + duwsExt},
		{"/srv/duws/site", site},
		{"/etc/duws/tls/ucupdates-r2.crt", certFile},
		{"/etc/duws/tls/ucupdates-r2.key", keyFile},
	} {
		if !strings.Contains(c, r[0]) {
			t.Fatalf("the example no longer has %q", r[0])
		}
		c = strings.ReplaceAll(c, r[0], r[1])
	}
	os.WriteFile(filepath.Join(dir, "duws.conf"), []byte(c), 0o644)
	main := fmt.Sprintf(`daemon off;
user root;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/duws.conf;
}
`, dir)
	os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644)
	ng := exec.Command(nginx, "-c", filepath.Join(dir, "nginx.conf"), "-p", dir)
	var ngErr strings.Builder
	ng.Stderr = &ngErr
	if err := ng.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stopNginx(t, ng, intPort, extPort) })

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan int, 1)
	go func() {
		served <- run(ctx, []string{"duws", "serve", "--site", site, "--internal", "127.0.0.1:" + duwsInt, "--external", "127.0.0.1:" + duwsExt,
			"--insecure-external", "--htpasswd", htp, "--audit-dir", filepath.Join(dir, "audit"), "--server-name", "test"}, io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-served; code != 0 {
			t.Errorf("duws serve exited %d", code)
		}
	})
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	waitFor(t, client, "http://127.0.0.1:"+duwsInt+"/healthz")
	waitFor(t, client, "https://127.0.0.1:"+intPort+"/healthz")

	inside, outside := "https://127.0.0.1:"+intPort, "https://127.0.0.1:"+extPort
	body := `<DeviceUpdateRequest><Device><DeviceType>UCPhone</DeviceType><MAC>00-04-F2-99-99-99</MAC><Vendor>Polycom</Vendor><Model>CX600</Model>
<Revision>A</Revision><Locale>ENU</Locale><User>%s</User></Device><Modules><Module><Name>CPE.nbt</Name><Version>4.0.7577.4100</Version></Module></Modules></DeviceUpdateRequest>`
	do := func(method, url, body, user, pass string) (int, string) {
		status, b := httpDo(t, client, method, url, body, user, pass)
		return status, string(b)
	}
	status, answer := do("POST", inside+"/RequestHandler/ucdevice.upx", fmt.Sprintf(body, ""), "", "")
	if status != 200 || !strings.Contains(answer, "<Version>4.0.7577.4363</Version>") {
		t.Fatalf("inside check through nginx: %d\n%s\n%s", status, answer, ngErr.String())
	}
	// The answer's internal URL, fetched through nginx from disk.
	m := regexp.MustCompile(`<InternalURL>https://ucupdates-r2\.contoso\.com(/[^<]+)</InternalURL>`).FindStringSubmatch(answer)
	if m == nil {
		t.Fatalf("no internal URL in %s", answer)
	}
	status, image := do("GET", inside+m[1]+"/CPE.nbt", "", "", "")
	want, _ := os.ReadFile(filepath.Join(site, "current", "files", strings.TrimPrefix(m[1], "/DeviceUpdateFiles_Int/"), "CPE.nbt"))
	if status != 200 || image != string(want) || len(want) == 0 {
		t.Errorf("inside download through nginx: %d, %d bytes (want %d)", status, len(image), len(want))
	}
	for _, tt := range []struct {
		method, url, body, user, pass string
		want                          int
	}{
		{"POST", outside + "/RequestHandlerExt/ucdevice.upx", fmt.Sprintf(body, ""), "", "", 403},
		{"POST", outside + "/RequestHandlerExt/ucdevice.upx", fmt.Sprintf(body, "sip:alice@contoso.com"), "", "", 401},
		{"POST", outside + "/RequestHandlerExt/ucdevice.upx", fmt.Sprintf(body, "sip:alice@contoso.com"), "alice", "wrong", 401},
		{"POST", outside + "/RequestHandlerExt/ucdevice.upx", fmt.Sprintf(body, "sip:alice@contoso.com"), "alice", "s3cret", 200},
		{"POST", outside + "/RequestHandler/ucdevice.upx", fmt.Sprintf(body, ""), "", "", 403},
		{"GET", outside + strings.Replace(m[1], "_Int", "_Ext", 1) + "/CPE.nbt", "", "", "", 401},
		{"GET", outside + strings.Replace(m[1], "_Int", "_Ext", 1) + "/CPE.nbt", "", "alice", "s3cret", 200},
	} {
		if status, b := do(tt.method, tt.url, tt.body, tt.user, tt.pass); status != tt.want {
			t.Errorf("%s %s as %q: %d, want %d: %s", tt.method, tt.url, tt.user, status, tt.want, b)
		}
	}
	// duws saw the phones' addresses, passed on by nginx.
	cancel()
	<-served
	served <- 0
	logs, _ := filepath.Glob(filepath.Join(dir, "audit", "*.csv"))
	if len(logs) != 1 {
		t.Fatalf("audit logs: %v", logs)
	}
	f, _ := os.Open(logs[0])
	defer f.Close()
	rows := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rows > 0 && !strings.Contains(sc.Text(), ",127.0.0.1,") {
			t.Errorf("audit row without the client address: %s", sc.Text())
		}
		rows++
	}
	if rows != 9 { // header, six checks and two downloads from outside
		t.Errorf("%d audit lines, want 9", rows)
	}
}

// stopNginx stops nginx gracefully: SIGQUIT makes the master let its
// workers finish and exit before it does, so that, unlike SIGKILL, no
// worker is left running and listening. It then checks nobody listens on
// the ports any more.
func stopNginx(t *testing.T, ng *exec.Cmd, ports ...string) {
	t.Helper()
	ng.Process.Signal(syscall.SIGQUIT)
	done := make(chan error, 1)
	go func() { done <- ng.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Error("nginx did not stop within 10 s of SIGQUIT; killing it")
		ng.Process.Kill()
		<-done
	}
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+p, time.Second); err == nil {
			c.Close()
			t.Errorf("something still listens on port %s after nginx stopped", p)
		}
	}
}

func runCLIStdin(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	r, w, _ := os.Pipe()
	w.WriteString(stdin)
	w.Close()
	old := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = old; r.Close() }()
	return runCLI(t, args...)
}

// TestSystemdExample starts duws with the unit's command line, paths
// moved into a temporary directory, and checks it serves; where
// systemd-analyze exists, it also verifies the unit.
func TestSystemdExample(t *testing.T) {
	unit, err := os.ReadFile("../../examples/systemd/duws.service")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^ExecStart=/usr/local/bin/duws (.*)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("no ExecStart running /usr/local/bin/duws")
	}
	dir := t.TempDir()
	site, _ := exampleSite(t, dir)
	htp := filepath.Join(dir, "users.htpasswd")
	runCLIStdin(t, "pw\n", "users", "add", "--file", htp, "--stdin", "bob")
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	line := string(m[1])
	for _, r := range [][2]string{{"/srv/duws/site", site}, {"/etc/duws/users.htpasswd", htp}, {"/var/log/duws", filepath.Join(dir, "log")},
		{"127.0.0.1:8081", "127.0.0.1:" + p1}, {"127.0.0.1:8082", "127.0.0.1:" + p2}, {"127.0.0.1:9090", "127.0.0.1:" + p3}} {
		line = strings.ReplaceAll(line, r[0], r[1])
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out strings.Builder
	go func() { done <- run(ctx, append([]string{"duws"}, strings.Fields(line)...), io.Discard, &out) }()
	waitFor(t, &http.Client{Timeout: time.Second}, "http://127.0.0.1:"+p3+"/metrics")
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("duws with the unit's arguments exited %d: %s", code, out.String())
	}
	if sa, err := exec.LookPath("systemd-analyze"); err == nil {
		cmd := exec.Command(sa, "verify", "../../examples/systemd/duws.service")
		out, _ := cmd.CombinedOutput()
		// The binary is not installed here; anything else it says is a
		// problem of the unit.
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if l != "" && !strings.Contains(l, "/usr/local/bin/duws is not executable") {
				t.Errorf("systemd-analyze verify: %s", l)
			}
		}
	}
}

// workflow is the part of a GitHub Actions workflow the test runs.
type workflow struct {
	Jobs map[string]struct {
		Steps []struct {
			Name string            `yaml:"name"`
			Uses string            `yaml:"uses"`
			If   string            `yaml:"if"`
			Run  string            `yaml:"run"`
			Env  map[string]string `yaml:"env"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// TestWorkflowExample runs the run-steps of examples/ci/duws.yml in
// order, for a pull request and for a push to main, in a policy repository
// made of the example fleet, with gh, rsync, ssh and go replaced by
// recorders.
func TestWorkflowExample(t *testing.T) {
	needCommand(t, "git")
	b, err := os.ReadFile("../../examples/ci/duws.yml")
	if err != nil {
		t.Fatal(err)
	}
	var wf workflow
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	job, ok := wf.Jobs["site"]
	if !ok || len(job.Steps) == 0 {
		t.Fatal("no steps in job site")
	}
	bin := duwsBinary(t)
	for _, event := range []string{"pull_request", "push"} {
		t.Run(event, func(t *testing.T) {
			dir := t.TempDir()
			repo := filepath.Join(dir, "repo")
			os.MkdirAll(repo, 0o755)
			_, pol := exampleSite(t, repo)
			os.RemoveAll(filepath.Join(repo, "site"))
			stubs := filepath.Join(dir, "bin")
			os.MkdirAll(stubs, 0o755)
			os.Symlink(bin, filepath.Join(stubs, "duws"))
			calls := filepath.Join(dir, "calls.log")
			for _, name := range []string{"gh", "rsync", "ssh", "go"} {
				os.WriteFile(filepath.Join(stubs, name), []byte("#!/bin/sh\necho \""+name+" $*\" >> "+calls+"\n"), 0o755)
			}
			git := func(args ...string) {
				cmd := exec.Command("git", args...)
				cmd.Dir = repo
				cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
					"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("git %v: %v\n%s", args, err, out)
				}
			}
			git("init", "-q", "-b", "main")
			git("add", "-A")
			git("commit", "-q", "-m", "fleet")
			git("update-ref", "refs/remotes/origin/main", "HEAD")
			// The change under review: approve the CX600's pending version.
			if code, out, errs := runCLI(t, "approve", "--policy", pol, "UCPhone/Polycom/CX600/A/ENU"); code != 0 {
				t.Fatalf("approve: %s%s", out, errs)
			}
			git("commit", "-q", "-am", "approve CX600")
			keyPrefix := filepath.Join(dir, "duws")
			if code, out, errs := runCLI(t, "keygen", "--out", keyPrefix); code != 0 {
				t.Fatalf("keygen: %s%s", out, errs)
			}
			os.Rename(keyPrefix+".pub", filepath.Join(repo, "duws.pub"))
			priv, _ := os.ReadFile(keyPrefix + ".key")
			vars := map[string]string{
				"secrets.DUWS_SIGNING_KEY": strings.TrimSpace(string(priv)), "secrets.DEPLOY_HOST": "deploy.example.com",
				"github.token": "token", "github.event.pull_request.number": "7",
			}
			env := append(os.Environ(), "PATH="+stubs+string(os.PathListSeparator)+os.Getenv("PATH"), "RUNNER_TEMP="+dir,
				"GITHUB_EVENT_NAME="+event, "GITHUB_BASE_REF=main", "GITHUB_REF=refs/heads/main")
			ran := 0
			for _, st := range job.Steps {
				if st.Run == "" {
					continue
				}
				switch st.If {
				case "":
				case "github.event_name == 'pull_request'":
					if event != "pull_request" {
						continue
					}
				case "github.ref == 'refs/heads/main'":
					if event != "push" {
						continue
					}
				default:
					t.Fatalf("step %q: condition %q not understood by this test", st.Name, st.If)
				}
				stepEnv := slicesClone(env)
				for k, v := range st.Env {
					v = regexp.MustCompile(`\$\{\{\s*([^}]*?)\s*\}\}`).ReplaceAllStringFunc(v, func(s string) string {
						return vars[strings.TrimSpace(s[3:len(s)-2])]
					})
					stepEnv = append(stepEnv, k+"="+v)
				}
				cmd := exec.Command("bash", "-e", "-c", st.Run)
				cmd.Dir, cmd.Env = repo, stepEnv
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("step %q: %v\n%s", st.Name, err, out)
				}
				ran++
			}
			logged, _ := os.ReadFile(calls)
			switch event {
			case "pull_request":
				plan, err := os.ReadFile(filepath.Join(repo, "plan.md"))
				if err != nil || !strings.Contains(string(plan), "UCPhone/Polycom/CX600/A/ENU CPE | production | 4.0.7577.4363 | downloads=0 (nothing to do) | update to 4.0.7577.4398") {
					t.Errorf("plan.md does not show the approval: %v\n%s", err, plan)
				}
				if !strings.Contains(string(logged), "gh pr comment 7 --body-file plan.md") {
					t.Errorf("no comment posted: %s", logged)
				}
			case "push":
				tree, _ := os.Readlink(filepath.Join(repo, "site", "current"))
				if !strings.Contains(string(logged), "ssh deploy.example.com duws publish --out /srv/duws/site "+filepath.Base(tree)) || !strings.Contains(string(logged), "rsync -a site/trees site/answers site/files") {
					t.Errorf("not published: %s", logged)
				}
			}
			if ran < 4 {
				t.Errorf("only %d steps ran", ran)
			}
		})
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func TestServeRefusesExternalWithoutTLS(t *testing.T) {
	code, _, errs := runCLI(t, "serve", "--site", t.TempDir(), "--external", "127.0.0.1:0")
	if code != exitUsage || !strings.Contains(errs, "needs TLS") {
		t.Errorf("exit %d: %s", code, errs)
	}
}
