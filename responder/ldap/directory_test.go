package ldap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duws/duws/responder/account"
	"github.com/duws/duws/responder/ldap/ldaptest"
)

// Integration tests against a real slapd (package ldaptest).

// testConfig is a Config for the test directory over LDAPS.
func testConfig(d *ldaptest.Directory, schema string) Config {
	cfg := Config{
		URL: "ldaps://" + d.LDAPSAddr, CAFile: d.CAFile, ServerName: ldaptest.ServerName,
		BindDN: ldaptest.BindDN, BindPassword: ldaptest.BindPassword, BaseDN: ldaptest.BaseDN, Schema: schema,
		Timeout: 2 * time.Second, DialTimeout: 2 * time.Second,
	}
	if schema == SchemaAD {
		cfg.UserFilter = "(objectClass=person)" // OpenLDAP has no objectCategory
	}
	return cfg
}

func newSource(t *testing.T, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// outcome is what a verification says, in a form tables can hold:
// "ok:ACCOUNT", "invalid: REASON" or "unavailable".
func outcome(res account.Result, err error) string {
	switch {
	case err == nil:
		return "ok:" + res.Account + ":" + res.Source
	case errors.Is(err, account.ErrUnavailable):
		return "unavailable"
	case errors.Is(err, account.ErrInvalid):
		return "invalid"
	}
	return "unexpected: " + err.Error()
}

func TestDirectory(t *testing.T) {
	d := ldaptest.Start(t)
	type login struct{ user, password, want, reason string }
	common := []login{
		{"alice", "alice-pw", "ok:alice:ldap", ""},
		{"alice", "wrong", "invalid", "refused the bind"},
		{"alice", "", "invalid", "empty password"},
		{"alice", "ALICE-PW", "invalid", "refused the bind"},
		{"nobody", "alice-pw", "invalid", "no such account"},
		{`CONTOSO\alice`, "alice-pw", "ok:alice:ldap", ""},
		{`contoso\alice`, "alice-pw", "ok:alice:ldap", ""},
		{`FABRIKAM\alice`, "alice-pw", "invalid", "not accepted"},
		{"alice@contoso.com", "alice-pw", "ok:alice:ldap", ""},
		{"alice@contoso.com", "wrong", "invalid", "refused the bind"},
		{"alice@fabrikam.com", "alice-pw", "invalid", "not accepted"},
		{"carol", "carol-pw", "invalid", "disabled"},
		{"dave", "dave-pw", "invalid", "expired (shadowExpire)"},
		{"erin", "erin-pw", "invalid", "expired (accountExpires)"},
		{"frank", "frank-pw", "invalid", "locked"},
		{"grace", "grace-pw", "ok:grace:ldap", ""},
		{"twin", "twin-pw", "invalid", "several accounts"},
		{"bob", "bob-pw", "ok:bob:ldap", ""},
	}
	for _, tt := range []struct {
		name   string
		schema string
		change func(*Config)
		logins []login
	}{
		{"openldap", SchemaOpenLDAP, nil, common},
		{"ad", SchemaAD, nil, common},
		{"starttls", SchemaOpenLDAP, func(c *Config) { c.URL, c.StartTLS = "ldap://"+d.LDAPAddr, true }, common[:4]},
		{"openldap group", SchemaOpenLDAP, func(c *Config) { c.Group = ldaptest.Group }, []login{
			{"alice", "alice-pw", "ok:alice:ldap", ""},
			{"bob", "bob-pw", "invalid", "not a member"},
			{"bob", "wrong", "invalid", "refused the bind"},
			{"st*r", "star-pw", "ok:st*r:ldap", ""},
		}},
		{"ad memberOf group", SchemaAD, func(c *Config) { c.Group = ldaptest.Group }, []login{
			{`CONTOSO\alice`, "alice-pw", "ok:alice:ldap", ""},
			{`CONTOSO\bob`, "bob-pw", "invalid", "not a member"},
			{"bob@contoso.com", "bob-pw", "invalid", "not a member"},
		}},
		{"a group that is not there", SchemaOpenLDAP, func(c *Config) { c.Group = "cn=gone,ou=groups," + ldaptest.BaseDN }, []login{
			{"alice", "alice-pw", "invalid", "not a member"},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(d, tt.schema)
			cfg.Domains = []string{"CONTOSO", "contoso.com"}
			if tt.change != nil {
				tt.change(&cfg)
			}
			s := newSource(t, cfg)
			for _, l := range tt.logins {
				res, err := s.Verify(context.Background(), l.user, l.password)
				if got := outcome(res, err); got != l.want {
					t.Errorf("Verify(%q, %q) = %s (%v), want %s", l.user, l.password, got, err, l.want)
					continue
				}
				if err != nil && !strings.Contains(err.Error(), l.reason) {
					t.Errorf("Verify(%q, %q): %v, want the reason %q", l.user, l.password, err, l.reason)
				}
				if err != nil && l.password != "" && strings.Contains(err.Error(), l.password) {
					t.Errorf("Verify(%q, %q): the error shows the password: %v", l.user, l.password, err)
				}
			}
		})
	}
}

// TestDirectoryRefusalsCostABind: an unknown, ambiguous or disabled
// account costs the same search and bind as a wrong password, so time
// does not tell them apart.
func TestDirectoryRefusalsCostABind(t *testing.T) {
	d := ldaptest.Start(t)
	s := newSource(t, testConfig(d, SchemaAD))
	for _, user := range []string{"alice", "nobody", "twin", "carol", "frank"} {
		searches, binds := s.search.ops.Load(), s.bind.ops.Load()
		if _, err := s.Verify(context.Background(), user, "wrong"); !errors.Is(err, account.ErrInvalid) {
			t.Errorf("%s: %v", user, err)
		}
		if got := [2]int64{s.search.ops.Load() - searches, s.bind.ops.Load() - binds}; got != [2]int64{1, 1} {
			t.Errorf("%s with a wrong password: %d searches and %d binds, want 1 and 1", user, got[0], got[1])
		}
	}
}

// TestDirectoryInjection: filter metacharacters in a user name match
// themselves and nothing else.
func TestDirectoryInjection(t *testing.T) {
	d := ldaptest.Start(t)
	for _, schema := range []string{SchemaOpenLDAP, SchemaAD} {
		s := newSource(t, testConfig(d, schema))
		for _, tt := range []struct{ user, password, want string }{
			{"st*r", "star-pw", "ok:st*r:ldap"},
			{"p(a)ren", "paren-pw", "ok:p(a)ren:ldap"},
			{`CONTOSO\b\ack`, "back-pw", `ok:b\ack:ldap`},
			{"*", "alice-pw", "invalid"},
			{"al*", "alice-pw", "invalid"},
			{"s*", "star-pw", "invalid"},
			{"*r", "star-pw", "invalid"},
			{"st\\2ar", "star-pw", "invalid"},
			{"alice)(uid=*", "alice-pw", "invalid"},
			{"*)(|(objectClass=*", "alice-pw", "invalid"},
			{"alice)(|(userPassword=*)", "alice-pw", "invalid"},
			{"p(a", "paren-pw", "invalid"},
			{"p(a)ren)", "paren-pw", "invalid"},
			{`CONTOSO\b\\ack`, "back-pw", "invalid"},
			{`CONTOSO\b*`, "back-pw", "invalid"},
			{"alice\x00", "alice-pw", "invalid"},
			{"alice\x00)(uid=*", "alice-pw", "invalid"},
			{"*@contoso.com", "alice-pw", "invalid"},
			{"al*@contoso.com", "alice-pw", "invalid"},
		} {
			res, err := s.Verify(context.Background(), tt.user, tt.password)
			if got := outcome(res, err); got != tt.want {
				t.Errorf("%s: Verify(%q) = %s (%v), want %s", schema, tt.user, got, err, tt.want)
			}
		}
	}
}

// TestDirectoryDownAndBack: a directory that goes away gives
// ErrUnavailable, logged once and counted; when it comes back, logins
// work again without anything being restarted.
func TestDirectoryDownAndBack(t *testing.T) {
	d := ldaptest.Start(t)
	cfg := testConfig(d, SchemaOpenLDAP)
	var log syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&log, nil))
	cfg.Timeout, cfg.DialTimeout = time.Second, time.Second
	s := newSource(t, cfg)
	ctx := context.Background()
	if got := outcome(s.Verify(ctx, "alice", "alice-pw")); got != "ok:alice:ldap" {
		t.Fatalf("before: %s", got)
	}
	d.Stop()
	for i := range 5 {
		start := time.Now()
		got := outcome(s.Verify(ctx, "alice", "alice-pw"))
		if got != "unavailable" {
			t.Errorf("directory down, login %d: %s, want unavailable", i, got)
		}
		if el := time.Since(start); el > 3*cfg.Timeout {
			t.Errorf("directory down, login %d took %v", i, el)
		}
	}
	if st := s.Stats(); st.Unavailable != 5 || !st.Down {
		t.Errorf("stats while down: %+v, want 5 unavailable and down", st)
	}
	if n := strings.Count(log.String(), "directory unavailable"); n != 1 {
		t.Errorf("logged the outage %d times, want once:\n%s", n, log.String())
	}
	d.Start()
	if got := outcome(s.Verify(ctx, "alice", "alice-pw")); got != "ok:alice:ldap" {
		t.Errorf("after the directory came back: %s", got)
	}
	if got := outcome(s.Verify(ctx, "alice", "wrong")); got != "invalid" {
		t.Errorf("after the directory came back, a wrong password: %s", got)
	}
	if st := s.Stats(); st.Down {
		t.Errorf("stats after recovery: %+v", st)
	}
	if !strings.Contains(log.String(), "directory available again") {
		t.Errorf("recovery not logged:\n%s", log.String())
	}
	// The pooled connections died with the directory: a restart while
	// idle costs no login.
	d.Stop()
	d.Start()
	if got := outcome(s.Verify(ctx, "alice", "alice-pw")); got != "ok:alice:ldap" {
		t.Errorf("after a restart while idle: %s", got)
	}
	if strings.Contains(log.String(), ldaptest.BindPassword) {
		t.Errorf("the log shows the service password:\n%s", log.String())
	}
}

// TestDirectoryConcurrent: many logins at once share a bounded pool.
func TestDirectoryConcurrent(t *testing.T) {
	d := ldaptest.Start(t)
	cfg := testConfig(d, SchemaAD)
	cfg.PoolSize = 3
	s := newSource(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for g := range 40 {
		wg.Go(func() {
			for i := range 10 {
				user, pass, want := "alice", "alice-pw", "ok:alice:ldap"
				switch (g + i) % 3 {
				case 1:
					user, pass, want = "grace@contoso.com", "grace-pw", "ok:grace:ldap"
				case 2:
					pass, want = "wrong", "invalid"
				}
				if got := outcome(s.Verify(context.Background(), user, pass)); got != want {
					errs <- fmt.Sprintf("%s/%s: %s, want %s", user, pass, got, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := s.search.dials.Load(); n > int64(cfg.PoolSize) {
		t.Errorf("%d search connections dialled, want at most %d", n, cfg.PoolSize)
	}
	if n := s.bind.dials.Load(); n > int64(cfg.PoolSize) {
		t.Errorf("%d bind connections dialled, want at most %d", n, cfg.PoolSize)
	}
	if st := s.Stats(); st.Accepted+st.Refused != 400 {
		t.Errorf("stats: %+v, want 400 verifications", st)
	}
}

// TestDirectoryWrongCA: a directory whose certificate the CA file did
// not issue is not asked anything.
func TestDirectoryWrongCA(t *testing.T) {
	d := ldaptest.Start(t)
	cfg := testConfig(d, SchemaOpenLDAP)
	cfg.CAFile = "" // the system's roots did not issue it
	s := newSource(t, cfg)
	_, err := s.Verify(context.Background(), "alice", "alice-pw")
	if !errors.Is(err, account.ErrUnavailable) || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("with the wrong CA: %v", err)
	}
}

// TestDirectoryWrongServiceAccount: a service account the directory
// refuses means no user can be verified: unavailable, not invalid.
func TestDirectoryWrongServiceAccount(t *testing.T) {
	d := ldaptest.Start(t)
	cfg := testConfig(d, SchemaOpenLDAP)
	cfg.BindPassword = "not-the-service-password"
	s := newSource(t, cfg)
	_, err := s.Verify(context.Background(), "alice", "alice-pw")
	if !errors.Is(err, account.ErrUnavailable) || !strings.Contains(err.Error(), "service account") {
		t.Errorf("with a wrong service password: %v", err)
	}
	if strings.Contains(err.Error(), cfg.BindPassword) {
		t.Errorf("the error shows the service password: %v", err)
	}
}

// TestSilentDirectory: a directory that accepts connections and never
// answers costs at most the timeout, and is unavailable.
func TestSilentDirectory(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"ldaps handshake", Config{URL: "ldaps://" + l.Addr().String()}},
		{"starttls", Config{URL: "ldap://" + l.Addr().String(), StartTLS: true}},
		{"plain bind", Config{URL: "ldap://" + l.Addr().String(), Insecure: true}},
	} {
		cfg := tt.cfg
		cfg.BindDN, cfg.BindPassword, cfg.BaseDN = "cn=duws,dc=contoso,dc=com", "x", "dc=contoso,dc=com"
		cfg.Timeout, cfg.DialTimeout = 300*time.Millisecond, 300*time.Millisecond
		s := newSource(t, cfg)
		start := time.Now()
		_, err := s.Verify(context.Background(), "alice", "alice-pw")
		if !errors.Is(err, account.ErrUnavailable) {
			t.Errorf("%s: %v, want unavailable", tt.name, err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("%s: took %v with timeouts of 300ms", tt.name, el)
		}
		// The caller's deadline is honoured even when it is shorter.
		cfg.Timeout, cfg.DialTimeout = time.Minute, time.Minute
		s = newSource(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start = time.Now()
		_, err = s.Verify(ctx, "alice", "alice-pw")
		cancel()
		if !errors.Is(err, account.ErrUnavailable) {
			t.Errorf("%s with a deadline: %v, want unavailable", tt.name, err)
		}
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("%s: took %v with a deadline of 200ms", tt.name, el)
		}
	}
}

// TestClosedPort: nothing listening is unavailable at once.
func TestClosedPort(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	s := newSource(t, Config{URL: "ldaps://" + addr, BindDN: "cn=duws,dc=contoso,dc=com", BindPassword: "x", BaseDN: "dc=contoso,dc=com"})
	if _, err := s.Verify(context.Background(), "alice", "alice-pw"); !errors.Is(err, account.ErrUnavailable) {
		t.Errorf("nothing listening: %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
