package responder_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/responder"
)

// TestRateLimited: after repeated wrong passwords, a user is refused
// without a password check for the rest of the window.
func TestRateLimited(t *testing.T) {
	f := newFixture(t)
	lim := responder.Limits{PerUserAddr: 2, PerAddr: 100, PerUser: 100, Window: time.Hour}
	r, err := responder.New(responder.Config{Site: f.site, Accounts: users{"alice": "s3cret"}, Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	h := r.Handler(responder.External)
	try := func(pass string) int {
		req := httptest.NewRequest("POST", "/RequestHandlerExt/ucdevice.upx", strings.NewReader(checkBody("00-04-F2-99-99-99", "sip:alice@contoso.com", "4.0.7577.4363")))
		req.SetBasicAuth("alice", pass)
		req.TLS = &tls.ConnectionState{}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	got := []int{try("a"), try("b"), try("s3cret")}
	if want := []int{401, 401, 429}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("statuses %v, want %v: the right password after two failures must wait", got, want)
	}
}

// TestCertificateReload: a new certificate in the files is served to the
// next connection, without a restart.
func TestCertificateReload(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func() *x509.Certificate {
		cert, _ := selfSigned(t)
		os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644)
		kb, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600)
		c, _ := x509.ParseCertificate(cert.Certificate[0])
		return c
	}
	first := write()
	cr, err := responder.NewCertReloader(certFile, keyFile, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cr.TLSConfig(tls.VersionTLS12))
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ln.Close()
	addr := ln.Addr().String()
	served := func() []byte {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Raw
	}
	if string(served()) != string(first.Raw) {
		t.Fatal("not serving the first certificate")
	}
	time.Sleep(1100 * time.Millisecond) // past the reload interval, and a new mtime
	second := write()
	time.Sleep(1100 * time.Millisecond)
	if string(served()) != string(second.Raw) {
		t.Error("the rewritten certificate was not picked up")
	}
	// TLS 1.1 is refused by default.
	if _, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		t.Error("a TLS 1.1 handshake succeeded with the 1.2 minimum")
	}
}
