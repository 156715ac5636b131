package responder_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/publish"
	"github.com/duws/duws/builder/update"
	"github.com/duws/duws/responder"
	"github.com/duws/duws/responder/account"
)

const cx600 = "UCPhone/Polycom/CX600/A/ENU"

// fixture builds a site: the CX600 with 4363 approved and 4398 pending,
// a test device by MAC, and an image large enough to stream.
type fixture struct {
	site  string
	files map[plan.Source][]byte
	in    *plan.Input
	w     *publish.Writer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{site: t.TempDir(), files: map[plan.Source][]byte{}}
	id, _ := policy.ParseIdentity(cx600)
	pkg := plan.Package{Name: "p.cab"}
	for _, vs := range []string{"4.0.7577.4100", "4.0.7577.4363", "4.0.7577.4398"} {
		v, _ := policy.ParseVersion(vs)
		u := update.Update{RuleID: update.DerivedRuleID(id, "CPE"), Identity: id, UpdateType: "CPE", Version: v}
		for _, name := range []string{"CPE.cat", "CPE.nbt"} {
			data := []byte("image " + vs + " " + name + strings.Repeat(".", 4096))
			sum := sha256.Sum256(data)
			file := update.File{Name: name, Path: u.Dir() + "/" + name, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])}
			u.Files = append(u.Files, file)
			f.files[plan.Source{Package: pkg.Name, Path: file.Path}] = data
		}
		pkg.Updates = append(pkg.Updates, u)
	}
	f.in = &plan.Input{Packages: []plan.Package{pkg}, Built: time.Date(2013, 7, 1, 0, 0, 0, 0, time.UTC)}
	f.w = &publish.Writer{Dir: f.site, Keep: 200, Open: func(s plan.Source) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(f.files[s])), nil
	}}
	f.publish(t, "4.0.7577.4363", "4.0.7577.4398")
	return f
}

// publish builds and publishes a tree with the given approved and pending
// versions.
func (f *fixture) publish(t testing.TB, approved, pending string) string {
	t.Helper()
	id, _ := policy.ParseIdentity(cx600)
	src := fmt.Sprintf(`packages: packages
service:
  internal_url: https://ucupdates-r2.contoso.com
  external_url: https://ucupdates-r2.contoso.com:4443
network:
  inside: [10.0.0.0/8, 127.0.0.0/8]
  trusted_proxies: [127.0.0.2/32]
rules:
  - id: %s
    identity: %s
    update_type: CPE
    approved: %s
`, update.DerivedRuleID(id, "CPE"), cx600, approved)
	if pending != "" {
		src += "    pending: " + pending + "\n"
	}
	src += "test_devices:\n  - name: lab\n    mac: 00-04-F2-00-00-01\n"
	p, err := policy.Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	f.in.Policy, f.in.PolicyBytes = p, []byte(src)
	pl, err := plan.MakePlan(f.in)
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.w.Write(pl)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.w.Publish(st.ID); err != nil {
		t.Fatal(err)
	}
	return st.ID
}

// users is a fixed account table, an account source.
type users map[string]string

func (u users) Name() string { return "test" }

func (u users) Verify(_ context.Context, user, pass string) (account.Result, error) {
	if p, ok := u[user]; ok && p == pass {
		return account.Result{Account: user, Source: "test"}, nil
	}
	return account.Result{}, account.ErrInvalid
}

// selfSigned makes a certificate for ucupdates-r2.contoso.com and 127.0.0.1.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ucupdates-r2.contoso.com"},
		DNSNames: []string{"ucupdates-r2.contoso.com"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	c, _ := x509.ParseCertificate(der)
	pool.AddCert(c)
	return cert, pool
}

type running struct {
	internal, external string
	client             *http.Client
	r                  *responder.Responder
	events             chan responder.Event
}

func start(t testing.TB, f *fixture) *running {
	t.Helper()
	events := make(chan responder.Event, 10000)
	r, err := responder.New(responder.Config{
		Site: f.site, Accounts: users{"alice": "s3cret"},
		Audit: func(e responder.Event) {
			select {
			case events <- e:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, pool := selfSigned(t)
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var lns []*responder.Listener
	for _, k := range []responder.Kind{responder.Internal, responder.External} {
		l := &responder.Listener{Kind: k, Addr: "127.0.0.1:0", TLS: tlsCfg}
		l.Server = responder.NewServer(r.Handler(k), tlsCfg, nil)
		if err := l.Listen(); err != nil {
			t.Fatal(err)
		}
		lns = append(lns, l)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- responder.Serve(ctx, lns, 5*time.Second) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	t.Cleanup(func() {
		// Connections the client dialled but never used would hold up a
		// graceful shutdown.
		client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &running{internal: "https://" + lns[0].Addr, external: "https://" + lns[1].Addr, client: client, r: r, events: events}
}

func checkBody(mac, user, version string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><DeviceUpdateRequest><Device><DeviceType>UCPhone</DeviceType><MAC>%s</MAC>
<Serial>SN1</Serial><Vendor>Polycom</Vendor><Model>CX600</Model><Revision>A</Revision><Locale>ENU</Locale><User>%s</User></Device>
<Modules><Module><Name>CPE.nbt</Name><Version>%s</Version></Module></Modules></DeviceUpdateRequest>`, mac, user, version)
}

func (rn *running) do(t testing.TB, method, url, body, user, pass string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := rn.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestDecisionTable: inside / outside x user or none x credentials none /
// wrong / right x test or production device x Int or Ext path, over real
// TLS listeners.
func TestDecisionTable(t *testing.T) {
	f := newFixture(t)
	rn := start(t, f)
	type creds struct{ user, pass string }
	for _, listener := range []string{"inside", "outside"} {
		for _, devUser := range []string{"", "sip:alice@contoso.com"} {
			for _, cr := range []creds{{}, {"alice", "wrong"}, {"mallory", "s3cret"}, {"alice", "s3cret"}} {
				for _, mac := range []string{"00:04:f2:00:00:01", "00-04-F2-99-99-99"} {
					for _, p := range []string{"/RequestHandler/ucdevice.upx", "/requesthandlerEXT/UCDevice.upx"} {
						name := fmt.Sprintf("%s/user=%q/creds=%s:%s/mac=%s%s", listener, devUser, cr.user, cr.pass, mac, p)
						base := rn.internal
						if listener == "outside" {
							base = rn.external
						}
						status, hdr, body := rn.do(t, "POST", base+p, checkBody(mac, devUser, "4.0.7577.4363"), cr.user, cr.pass)
						wantStatus := 200
						switch {
						case listener == "inside":
						case devUser == "":
							wantStatus = 403
						case cr != creds{"alice", "s3cret"}:
							wantStatus = 401
						}
						if status != wantStatus {
							t.Errorf("%s: status %d, want %d (%s)", name, status, wantStatus, body)
							continue
						}
						if status == 401 && hdr.Get("WWW-Authenticate") == "" {
							t.Errorf("%s: 401 without WWW-Authenticate", name)
						}
						if status != 200 {
							continue
						}
						test := mac == "00:04:f2:00:00:01"
						switch {
						case test && !strings.Contains(body, "<Version>4.0.7577.4398</Version>"):
							t.Errorf("%s: test device not offered pending 4398:\n%s", name, body)
						case !test && !strings.Contains(body, "downloads=0"):
							t.Errorf("%s: production device on the approved version offered something:\n%s", name, body)
						}
						if hdr.Get("Content-Type") != "text/xml; charset=utf-8" {
							t.Errorf("%s: content type %q", name, hdr.Get("Content-Type"))
						}
					}
				}
			}
		}
	}
	// Downloads: inside free, outside only with valid credentials.
	file := "/DeviceUpdateFiles_Int/UCPhone/Polycom/CX600/A/ENU/4.0.7577.4398/CPE/CPE.nbt"
	for _, tt := range []struct {
		base, path, user, pass string
		want                   int
	}{
		{rn.internal, file, "", "", 200},
		{rn.internal, strings.ToLower(file), "", "", 200},
		{rn.external, file, "", "", 401},
		{rn.external, strings.Replace(file, "_Int", "_Ext", 1), "", "", 401},
		{rn.external, strings.Replace(file, "_Int", "_Ext", 1), "alice", "wrong", 401},
		{rn.external, strings.Replace(file, "_Int", "_Ext", 1), "alice", "s3cret", 200},
		{rn.internal, "/DeviceUpdateFiles_Int/UCPhone/Polycom/CX600/A/ENU/9.9.9.9/CPE/CPE.nbt", "", "", 404},
		{rn.internal, "/DeviceUpdateFiles_Int/../../manifest.json", "", "", 404},
	} {
		status, hdr, body := rn.do(t, "GET", tt.base+tt.path, "", tt.user, tt.pass)
		if status != tt.want {
			t.Errorf("GET %s%s as %q: %d, want %d", tt.base, tt.path, tt.user, status, tt.want)
			continue
		}
		if status == 200 {
			if hdr.Get("Content-Type") != "application/octet-stream" || hdr.Get("ETag") == "" || hdr.Get("Last-Modified") == "" || !strings.HasPrefix(body, "image 4.0.7577.4398") {
				t.Errorf("GET %s: headers %v", tt.path, hdr)
			}
		}
	}
}

func TestMalformedChecksAre4xx(t *testing.T) {
	f := newFixture(t)
	rn := start(t, f)
	for _, tt := range []struct {
		method, body string
		want         int
	}{
		{"POST", "not xml at all <", 400},
		{"POST", checkBody("zz:zz", "", "4.0.7577.4363"), 400},
		{"POST", checkBody("00:04:f2:00:00:01", "", "4.0.x"), 400},
		{"POST", `<!DOCTYPE a [<!ENTITY x "y">]><a/>`, 400},
		{"POST", strings.Repeat("a", 70000), 413},
		{"GET", "", 405},
	} {
		status, _, body := rn.do(t, tt.method, rn.internal+"/RequestHandler/ucdevice.upx", tt.body, "", "")
		if status != tt.want {
			t.Errorf("%s %.40q: %d, want %d (%s)", tt.method, tt.body, status, tt.want, body)
		}
	}
	// Every check is audited, the malformed ones too.
	n := 0
	for len(rn.events) > 0 {
		e := <-rn.events
		if e.Outcome != responder.OutcomeBadRequest {
			t.Errorf("event outcome %q", e.Outcome)
		}
		n++
	}
	if n != 6 {
		t.Errorf("%d checks audited, want 6", n)
	}
}

// TestSwapUnderLoad publishes 100 trees while clients keep checking: no
// request fails, and every answer is one a published tree gives.
func TestSwapUnderLoad(t *testing.T) {
	f := newFixture(t)
	rn := start(t, f)
	// Alternate between two policies whose answers differ for a device
	// on 4100: approved 4363 or approved 4398.
	valid := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	requests := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", rn.internal+"/RequestHandler/ucdevice.upx", strings.NewReader(checkBody("00-04-F2-99-99-99", "", "4.0.7577.4100")))
				resp, err := rn.client.Do(req)
				if err != nil {
					mu.Lock()
					bad = append(bad, err.Error())
					mu.Unlock()
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				requests++
				if resp.StatusCode != 200 {
					bad = append(bad, fmt.Sprintf("status %d", resp.StatusCode))
				}
				valid[string(b)] = true
				mu.Unlock()
			}
		}()
	}
	for i := range 100 {
		approved := []string{"4.0.7577.4363", "4.0.7577.4398"}[i%2]
		f.publish(t, approved, "")
		if _, err := rn.r.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	// Each body seen must be the complete answer of one version.
	for body := range valid {
		if !(strings.Contains(body, "<Version>4.0.7577.4363</Version>") != strings.Contains(body, "<Version>4.0.7577.4398</Version>")) ||
			!strings.HasSuffix(body, "</DeviceUpdateResponse>\n") {
			bad = append(bad, "mixed or partial answer: "+body)
		}
	}
	if len(bad) > 0 {
		t.Fatalf("%d problems in %d requests, first: %s", len(bad), requests, bad[0])
	}
	if requests < 100 || len(valid) != 2 {
		t.Errorf("%d requests saw %d distinct answers; want many requests and both answers", requests, len(valid))
	}
}
