package ldap

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/google/go-cmp/cmp"
)

func TestParseName(t *testing.T) {
	ad := Config{UserAttr: "sAMAccountName", UPNAttr: "userPrincipalName"}
	ol := Config{UserAttr: "uid"}
	only := Config{UserAttr: "uid", Domains: []string{"CONTOSO", "contoso.com"}}
	for _, tt := range []struct {
		name, user string
		cfg        Config
		want       query
		wantErr    bool
	}{
		{"bare", "alice", ad, query{formBare, "sAMAccountName", "alice"}, false},
		{"domain", `CONTOSO\alice`, ad, query{formDomain, "sAMAccountName", "alice"}, false},
		{"upn in its attribute", "alice@contoso.com", ad, query{formUPN, "userPrincipalName", "alice@contoso.com"}, false},
		{"upn local part without one", "alice@contoso.com", ol, query{formUPN, "uid", "alice"}, false},
		{"upn last @", "a@b@contoso.com", ol, query{formUPN, "uid", "a@b"}, false},
		{"domain first backslash", `CONTOSO\a\b`, ol, query{formDomain, "uid", `a\b`}, false},
		{"accepted domain any case", `contoso\alice`, only, query{formDomain, "uid", "alice"}, false},
		{"accepted suffix any case", "alice@CONTOSO.COM", only, query{formUPN, "uid", "alice"}, false},
		{"bare with domains set", "alice", only, query{formBare, "uid", "alice"}, false},
		{"other domain", `FABRIKAM\alice`, only, query{}, true},
		{"other suffix", "alice@fabrikam.com", only, query{}, true},
		{"empty", "", ad, query{}, true},
		{"empty domain", `\alice`, ad, query{}, true},
		{"empty user after domain", `CONTOSO\`, ad, query{}, true},
		{"empty local part", "@contoso.com", ad, query{}, true},
		{"empty suffix", "alice@", ad, query{}, true},
		{"NUL", "alice\x00", ad, query{}, true},
		{"newline", "alice\n", ad, query{}, true},
		{"DEL", "alice\x7f", ad, query{}, true},
		{"not UTF-8", "al\xffice", ad, query{}, true},
		{"too long", strings.Repeat("a", maxNameLen+1), ad, query{}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseName(tt.user, tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseName(%q) error %v, want error %v", tt.user, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(query{})); diff != "" {
				t.Errorf("parseName(%q) (-want +got):\n%s", tt.user, diff)
			}
		})
	}
}

// TestFilterEscaping: a user name can only ever be a value to compare,
// never part of the filter's structure.
func TestFilterEscaping(t *testing.T) {
	for _, tt := range []struct{ value, want string }{
		{"alice", `(&(objectClass=person)(uid=alice))`},
		{"*", `(&(objectClass=person)(uid=\2a))`},
		{"al*", `(&(objectClass=person)(uid=al\2a))`},
		{"alice)(uid=*", `(&(objectClass=person)(uid=alice\29\28uid=\2a))`},
		{"*)(|(objectClass=*", `(&(objectClass=person)(uid=\2a\29\28|\28objectClass=\2a))`},
		{`a\2a`, `(&(objectClass=person)(uid=a\5c2a))`},
		{"a\x00b", `(&(objectClass=person)(uid=a\00b))`},
		{"é", `(&(objectClass=person)(uid=\c3\a9))`},
	} {
		got := query{attr: "uid", value: tt.value}.filter("(objectClass=person)")
		if got != tt.want {
			t.Errorf("filter for %q = %s, want %s", tt.value, got, tt.want)
		}
		// The filter parses, and compiles to an AND of exactly the user
		// filter and one equality match.
		p, err := goldap.CompileFilter(got)
		if err != nil {
			t.Errorf("filter for %q does not compile: %v", tt.value, err)
			continue
		}
		if len(p.Children) != 2 || len(p.Children[1].Children) != 2 {
			t.Errorf("filter for %q has the wrong shape: %s", tt.value, got)
		}
		if dec, _ := goldap.DecompileFilter(p); dec != got {
			t.Errorf("filter for %q round-trips to %s", tt.value, dec)
		}
	}
}

func TestAccountState(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	filetime := func(t time.Time) string { return itoa((t.Unix() + adEpochOffset) * 1e7) }
	for _, tt := range []struct {
		name  string
		attrs map[string]string
		want  string // a substring of the reason; "" for none
	}{
		{"nothing said", map[string]string{}, ""},
		{"normal account", map[string]string{"userAccountControl": "512"}, ""},
		{"disabled", map[string]string{"userAccountControl": "514"}, "disabled"},
		{"locked out", map[string]string{"userAccountControl": "528"}, "locked"},
		{"unreadable control", map[string]string{"userAccountControl": "x"}, "unreadable"},
		{"never expires 0", map[string]string{"accountExpires": "0"}, ""},
		{"never expires max", map[string]string{"accountExpires": "9223372036854775807"}, ""},
		{"expires tomorrow", map[string]string{"accountExpires": filetime(now.Add(24 * time.Hour))}, ""},
		{"expired yesterday", map[string]string{"accountExpires": filetime(now.Add(-24 * time.Hour))}, "expired"},
		{"expired 1970", map[string]string{"accountExpires": "116444736000000000"}, "expired"},
		{"administrative lock", map[string]string{"pwdAccountLockedTime": "000001010000Z"}, "locked"},
		{"temporary lock is the overlay's", map[string]string{"pwdAccountLockedTime": "20261201115900Z"}, ""},
		{"shadow never", map[string]string{"shadowExpire": "-1"}, ""},
		{"shadow future", map[string]string{"shadowExpire": "99999"}, ""},
		{"shadow today", map[string]string{"shadowExpire": itoa(now.Unix() / 86400)}, "expired"},
		{"shadow past", map[string]string{"shadowExpire": "1"}, "expired"},
		{"shadow unreadable", map[string]string{"shadowExpire": "soon"}, "unreadable"},
	} {
		got := accountState(tt.attrs, now)
		if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
			t.Errorf("%s: accountState(%v) = %q, want %q", tt.name, tt.attrs, got, tt.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestBindReason(t *testing.T) {
	for _, tt := range []struct {
		msg  string
		want string
	}{
		{"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563", "account disabled"},
		{"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 52e, v4563", "wrong password"},
		{"80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v4563", "account locked"},
		{"", "Invalid Credentials"},
	} {
		got := bindReason(&goldap.Error{ResultCode: goldap.LDAPResultInvalidCredentials, Err: errors.New(tt.msg)})
		if !strings.Contains(got, tt.want) {
			t.Errorf("bindReason(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	good := Config{URL: "ldaps://ldap.contoso.com", BindDN: "cn=duws,dc=contoso,dc=com", BindPassword: "x", BaseDN: "dc=contoso,dc=com"}
	if _, err := New(good); err != nil {
		t.Fatalf("New(%+v): %v", good, err)
	}
	for _, tt := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"plain LDAP", func(c *Config) { c.URL = "ldap://ldap.contoso.com" }, "in clear"},
		{"StartTLS on ldaps", func(c *Config) { c.StartTLS = true }, "StartTLS"},
		{"other scheme", func(c *Config) { c.URL = "http://ldap.contoso.com" }, "scheme"},
		{"no host", func(c *Config) { c.URL = "ldaps://" }, "want ldaps"},
		{"a path", func(c *Config) { c.URL = "ldaps://h/dc=x" }, "want ldaps"},
		{"no base", func(c *Config) { c.BaseDN = "" }, "base DN"},
		{"bad base", func(c *Config) { c.BaseDN = "contoso" }, "DN"},
		{"no service password", func(c *Config) { c.BindPassword = "" }, "service account"},
		{"bad filter", func(c *Config) { c.UserFilter = "(objectClass=person" }, "user filter"},
		{"bad attribute", func(c *Config) { c.UserAttr = "uid)(x" }, "attribute"},
		{"bad schema", func(c *Config) { c.Schema = "novell" }, "schema"},
		{"bad group check", func(c *Config) { c.GroupCheck = "nested" }, "group check"},
		{"missing CA file", func(c *Config) { c.CAFile = "/nonexistent/ca.pem" }, "CA file"},
	} {
		cfg := good
		tt.change(&cfg)
		_, err := New(cfg)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New error %v, want one saying %q", tt.name, err, tt.want)
		}
	}
	insecure := good
	insecure.URL, insecure.Insecure = "ldap://127.0.0.1:389", true
	if _, err := New(insecure); err != nil {
		t.Errorf("plain LDAP with Insecure: %v", err)
	}
}

// FuzzParseName checks that whatever a phone sends as a user name, an
// accepted name becomes a filter that compiles to the user filter AND
// exactly one equality match on the configured attribute, whose value
// is the name's user part byte for byte: nothing in a name changes the
// filter's structure.
func FuzzParseName(f *testing.F) {
	seeds := []string{
		"alice", `CONTOSO\alice`, "alice@contoso.com", "a@b@contoso.com", `CONTOSO\a\b`, `FABRIKAM\x`,
		"*", "al*", "alice)(uid=*", "*)(|(objectClass=*", `a\2a`, "a\x00b", "é", "p(a)ren", `\`, "@", "",
		"alice\n", "(", ")", `CONTOSO\*)(uid=*`, "*@contoso.com",
	}
	for _, s := range seeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, name string, upn bool) {
		cfg := Config{UserAttr: "uid", Domains: []string{"CONTOSO", "contoso.com"}}
		if upn {
			cfg.UserAttr, cfg.UPNAttr = "sAMAccountName", "userPrincipalName"
		}
		q, err := parseName(name, cfg)
		if err != nil {
			return
		}
		if q.attr != cfg.UserAttr && q.attr != cfg.UPNAttr || q.value == "" || !strings.Contains(name, q.value) {
			t.Fatalf("parseName(%q) = %+v", name, q)
		}
		filter := q.filter("(objectClass=person)")
		p, err := goldap.CompileFilter(filter)
		if err != nil {
			t.Fatalf("filter %s for %q does not compile: %v", filter, name, err)
		}
		if p.Tag != goldap.FilterAnd || len(p.Children) != 2 {
			t.Fatalf("filter %s for %q is not an AND of two", filter, name)
		}
		eq := p.Children[1]
		if eq.Tag != goldap.FilterEqualityMatch || len(eq.Children) != 2 {
			t.Fatalf("filter %s for %q: the second part is not one equality match", filter, name)
		}
		if attr, val := string(eq.Children[0].Data.Bytes()), string(eq.Children[1].Data.Bytes()); attr != q.attr || val != q.value {
			t.Fatalf("filter %s for %q compares %s with %q, want %s with %q", filter, name, attr, val, q.attr, q.value)
		}
	})
}

func TestConfigHidesPassword(t *testing.T) {
	cfg := Config{URL: "ldaps://dc1", BindDN: "cn=duws", BindPassword: "s3cret-service-pw"}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("config", "cfg", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%v", &cfg), log.String()} {
		if strings.Contains(s, cfg.BindPassword) || !strings.Contains(s, "cn=duws") {
			t.Errorf("printed as %s", s)
		}
	}
}
