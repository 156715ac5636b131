// Package ldaptest runs a real OpenLDAP server for tests: Debian's slapd,
// configured by a throwaway slapd.conf in a temporary directory, its
// database loaded from an LDIF with slapadd, listening on loopback ports
// (LDAP with StartTLS, and LDAPS) with TLS from a throwaway CA.
//
// The directory holds the accounts in [Users] under ou=people, a service
// account ([BindDN]) that may read everything, and a group ([Group]).
// Each user entry carries both OpenLDAP attributes (uid) and Active
// Directory ones (sAMAccountName, userPrincipalName, userAccountControl,
// accountExpires, memberOf, from a small schema of the test's own), so
// both configurations can be tried against it. Without slapd, [Start]
// fails the test when CI is set and skips it otherwise.
package ldaptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// adSchema gives the test directory the Active Directory attributes
// the source reads, with matching rules (OpenLDAP's msuser.schema has
// none, so filters on it match nothing). The OIDs are under OpenLDAP's
// experimental arc.
const adSchema = `
attributetype ( 1.3.6.1.4.1.4203.666.11.99.1 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.99.2 NAME 'userPrincipalName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.99.3 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.99.4 NAME 'accountExpires' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.4203.666.11.99.5 NAME 'memberOf' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )
objectclass ( 1.3.6.1.4.1.4203.666.11.99.10 NAME 'duwsTestADUser' AUXILIARY MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ accountExpires $ memberOf ) )
`

// The test directory's names.
const (
	// ServerName is the name its certificate carries (besides 127.0.0.1).
	ServerName   = "ldap.contoso.com"
	BaseDN       = "dc=contoso,dc=com"
	BindDN       = "cn=duws,ou=services,dc=contoso,dc=com"
	BindPassword = "svc-secret"
	Group        = "cn=phones,ou=groups,dc=contoso,dc=com"
)

// User is an account of the test directory.
type User struct {
	RDN      string // under ou=people
	UID      string
	Password string
	Extra    string // more LDIF lines
	InGroup  bool
}

// Users are the test directory's accounts: alice is in Group, bob is
// not; carol is disabled (userAccountControl), dave expired
// (shadowExpire), erin expired (accountExpires), frank locked by an
// administrator (pwdAccountLockedTime); grace has expiry dates in the
// future; star, paren and back have filter metacharacters in their names;
// two entries share the name twin.
var Users = []User{
	{RDN: "uid=alice", UID: "alice", Password: "alice-pw", InGroup: true, Extra: "userAccountControl: 512\naccountExpires: 0\n"},
	{RDN: "uid=bob", UID: "bob", Password: "bob-pw", Extra: "userAccountControl: 512\n"},
	{RDN: "uid=carol", UID: "carol", Password: "carol-pw", InGroup: true, Extra: "userAccountControl: 514\n"},
	{RDN: "uid=dave", UID: "dave", Password: "dave-pw", InGroup: true, Extra: "objectClass: shadowAccount\nshadowExpire: 1\n"},
	{RDN: "uid=erin", UID: "erin", Password: "erin-pw", InGroup: true, Extra: "accountExpires: 116444736000000000\n"}, // 1970
	{RDN: "uid=frank", UID: "frank", Password: "frank-pw", InGroup: true, Extra: "pwdAccountLockedTime: 000001010000Z\n"},
	{RDN: "uid=grace", UID: "grace", Password: "grace-pw", InGroup: true, Extra: "objectClass: shadowAccount\nshadowExpire: 99999\naccountExpires: 9223372036854775807\n"},
	{RDN: "cn=star", UID: "st*r", Password: "star-pw", InGroup: true},
	{RDN: "cn=paren", UID: "p(a)ren", Password: "paren-pw", InGroup: true},
	{RDN: "cn=back", UID: `b\ack`, Password: "back-pw", InGroup: true},
	{RDN: "cn=twin1", UID: "twin", Password: "twin-pw", InGroup: true},
	{RDN: "cn=twin2", UID: "twin", Password: "twin-pw", InGroup: true},
}

// DN is the user's entry.
func (u User) DN() string { return u.RDN + ",ou=people," + BaseDN }

// LDIF is the test directory's content.
func LDIF() string { return ldifOf(Users) }

func ldifOf(users []User) string {
	var b strings.Builder
	fmt.Fprintf(&b, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: contoso\no: Contoso\n\n", BaseDN)
	for _, ou := range []string{"people", "services", "groups"} {
		fmt.Fprintf(&b, "dn: ou=%s,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, BaseDN, ou)
	}
	fmt.Fprintf(&b, "dn: %s\nobjectClass: person\ncn: duws\nsn: service\nuserPassword: %s\n\n", BindDN, BindPassword)
	fmt.Fprintf(&b, "dn: %s\nobjectClass: groupOfNames\ncn: phones\n", Group)
	for _, u := range users {
		if u.InGroup {
			fmt.Fprintf(&b, "member: %s\n", u.DN())
		}
	}
	b.WriteString("\n")
	for _, u := range users {
		cn, _ := strings.CutPrefix(u.RDN, "cn=")
		if strings.HasPrefix(u.RDN, "uid=") {
			cn = u.UID
		}
		fmt.Fprintf(&b, "dn: %s\nobjectClass: inetOrgPerson\nobjectClass: duwsTestADUser\ncn: %s\nsn: %s\nuid: %s\nsAMAccountName: %s\nuserPrincipalName: %s@contoso.com\nuserPassword: %s\n%s",
			u.DN(), cn, cn, u.UID, u.UID, u.UID, u.Password, u.Extra)
		if u.InGroup {
			fmt.Fprintf(&b, "memberOf: %s\n", Group)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// A Setup is a test directory made ready to run: its configuration,
// certificates and database written under Dir, slapd not started.
type Setup struct {
	Dir, Conf, Slapd    string
	LDAPAddr, LDAPSAddr string // loopback addresses chosen for it
	CAFile              string
}

// Args are slapd's arguments to serve the setup in the foreground.
func (s *Setup) Args() []string {
	return []string{"-f", s.Conf, "-h", "ldap://" + s.LDAPAddr + "/ ldaps://" + s.LDAPSAddr + "/", "-d", "0"}
}

// ErrNoSlapd means Debian's slapd (and slapadd) are not installed.
var ErrNoSlapd = errors.New("slapd not installed (apt-get install slapd ldap-utils)")

// A Directory is a running slapd; Stop and Start take it away and bring
// it back on the same addresses, with the same data.
type Directory struct {
	Setup
	t      testing.TB
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *strings.Builder
}

// findTool finds a Debian tool in PATH or /usr/sbin.
func findTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if p := "/usr/sbin/" + name; fileExists(p) {
		return p, nil
	}
	return "", fmt.Errorf("%s: %w", name, ErrNoSlapd)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Start loads the test LDIF into a new slapd and starts it; the test's
// cleanup stops it. Without slapd, the test fails when CI is set and is
// skipped otherwise.
func Start(t testing.TB) *Directory {
	t.Helper()
	s, err := Prepare(t.TempDir(), nil)
	if errors.Is(err, ErrNoSlapd) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("%v (in CI, .ci/run installs slapd)", err)
	}
	d := &Directory{Setup: *s, t: t}
	d.Start()
	t.Cleanup(d.Stop)
	return d
}

// Prepare writes a test directory holding Users and extra into dir and
// loads its database, without starting slapd.
func Prepare(dir string, extra []User) (*Setup, error) {
	slapd, err := findTool("slapd")
	if err != nil {
		return nil, err
	}
	slapadd, err := findTool("slapadd")
	if err != nil {
		return nil, err
	}
	s := &Setup{Dir: dir, Conf: filepath.Join(dir, "slapd.conf"), Slapd: slapd}
	if s.LDAPAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.LDAPSAddr, err = freeAddr(); err != nil {
		return nil, err
	}
	if s.CAFile, err = writePKI(dir); err != nil {
		return nil, err
	}
	modules := "moduleload back_mdb\n"
	overlay := ""
	if fileExists("/usr/lib/ldap/ppolicy.la") {
		modules += "moduleload ppolicy\n"
		overlay = "overlay ppolicy\n"
	}
	conf := fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include %[1]s/ad.schema
modulepath /usr/lib/ldap
%[2]s
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCACertificateFile %[1]s/ca.pem
TLSCertificateFile %[1]s/server.pem
TLSCertificateKeyFile %[1]s/server.key
database mdb
maxsize 268435456
suffix "%[3]s"
rootdn "cn=admin,%[3]s"
directory %[1]s/db
index objectClass eq
index uid,sAMAccountName,userPrincipalName,member eq
%[4]s
access to attrs=userPassword
	by anonymous auth
	by * none
access to *
	by dn.exact="%[5]s" read
	by * none
`, dir, modules, BaseDN, overlay, BindDN)
	ldif := filepath.Join(dir, "data.ldif")
	for _, f := range []struct {
		name string
		data string
	}{{"ad.schema", adSchema}, {"slapd.conf", conf}, {"data.ldif", ldifOf(append(slices.Clone(Users), extra...))}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.data), 0o600); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}
	if out, err := exec.Command(slapadd, "-f", s.Conf, "-l", ldif).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	return s, nil
}

// Start starts slapd (again) on the directory's ports and waits until
// both accept connections.
func (d *Directory) Start() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	cmd := exec.Command(d.Slapd, d.Args()...)
	dieWithParent(cmd)
	d.stderr = new(strings.Builder)
	cmd.Stdout, cmd.Stderr = d.stderr, d.stderr
	if err := cmd.Start(); err != nil {
		d.t.Fatalf("slapd: %v", err)
	}
	d.cmd, d.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { cmd.Wait(); close(exited) }(d.exited)
	deadline := time.Now().Add(15 * time.Second)
	for _, addr := range []string{d.LDAPAddr, d.LDAPSAddr} {
		for {
			c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-d.exited:
				d.t.Fatalf("slapd exited at start:\n%s", d.stderr)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				d.t.Fatalf("slapd does not listen on %s:\n%s", addr, d.stderr)
			}
		}
	}
}

// Stop kills slapd and waits for it; stopping a stopped directory does
// nothing.
func (d *Directory) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Kill()
	<-d.exited
	d.cmd = nil
}

// writePKI writes a throwaway CA (ca.pem) and a server certificate
// for ldap.contoso.com and 127.0.0.1 (server.pem, server.key) into dir,
// and returns the CA file.
func writePKI(dir string) (string, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "duws test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: ServerName},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{ServerName, "localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return "", err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	for _, f := range []struct {
		name, typ string
		der       []byte
	}{{"ca.pem", "CERTIFICATE", caDER}, {"server.pem", "CERTIFICATE", der}, {"server.key", "PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "ca.pem"), nil
}
