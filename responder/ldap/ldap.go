// Package ldap is an [account.Source] that verifies user names and
// passwords against an LDAP directory: Active Directory, or OpenLDAP.
//
// # How a password is verified
//
// A service account, bound once per pooled connection, searches the user
// under the base DN; then a separate connection binds as the user's DN
// with the password. The directory decides whether the password is
// right, and whether the account may sign in at all (Active Directory
// refuses the bind of a disabled, expired or locked account; OpenLDAP
// with the ppolicy overlay refuses a locked one). On top of that the
// source reads, from the user's entry:
//
//   - userAccountControl (Active Directory): the ACCOUNTDISABLE (0x2) and
//     LOCKOUT (0x10) bits refuse the account;
//   - accountExpires (Active Directory): a time in the past refuses it
//     (0 and 0x7FFFFFFFFFFFFFFF mean never);
//   - pwdAccountLockedTime (OpenLDAP ppolicy): the value 000001010000Z,
//     an administrative lock, refuses it (temporary lockouts are the
//     overlay's business: it refuses the bind while they last);
//   - shadowExpire (OpenLDAP nis schema): a day, counted from 1970-01-01,
//     on or before today refuses it (-1 means never).
//
// With a required group ([Config.Group]), membership is asked of the
// directory after the bind succeeded: with [GroupMemberOf] by the user's
// memberOf attribute (Active Directory, or OpenLDAP with the memberof
// overlay), with [GroupMemberOfNested] through Active Directory's
// in-chain matching rule (1.2.840.113556.1.4.1941, so membership
// through nested groups counts), with [GroupMember] by the group entry's
// member, uniqueMember or memberUid values (any OpenLDAP, no overlay
// needed; direct members only).
//
// # Names
//
// Phones send DOMAIN\user, user@domain (a UPN) or a bare user. DOMAIN\user
// and bare names are searched in [Config.UserAttr] (sAMAccountName, or
// uid); a UPN is searched whole in [Config.UPNAttr] (userPrincipalName)
// or, when that is empty, by its local part in UserAttr. When
// [Config.Domains] is set, the domain a name carries must be one of them.
// Every value is escaped before it enters a filter, so `*`, `(`, `)`,
// `\` and NUL match themselves; names with control characters are
// refused before any search.
//
// # What clients can tell
//
// Unknown user, wrong password, disabled or expired account and missing
// group membership all return an error wrapping [account.ErrInvalid],
// with the reason for the log; an unknown or refused user costs a bind
// too (against a DN that does not exist), so that the time taken does not
// tell which users exist. A directory that cannot be reached, times out
// or answers with a server error gives [account.ErrUnavailable]; that is
// logged once per [Config.LogInterval] (and when it recovers) and counted
// in [Stats]. Connections are re-dialled as needed, so recovery needs no
// restart.
//
// # Limits
//
//   - At most [Config.PoolSize] searches and as many user binds are in
//     flight at once; further verifications wait for a free connection
//     until their context ends.
//   - The source caches nothing: the responder caches successful
//     verifications, for every source.
//   - Simple binds only (no Kerberos, no NTLM), and only over TLS unless
//     [Config.Insecure] is set.
package ldap

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/duws/duws/responder/account"
	goldap "github.com/go-ldap/ldap/v3"
)

// Schemas: the kinds of directory whose defaults [Config] knows.
const (
	SchemaAD       = "ad"
	SchemaOpenLDAP = "openldap"
)

// Group checks: how membership of [Config.Group] is asked.
const (
	GroupMemberOf       = "memberof"
	GroupMemberOfNested = "memberof-nested"
	GroupMember         = "member"
)

// Defaults and limits.
const (
	// DefaultPoolSize bounds the connections per pool: a few searches
	// in flight keep a directory's answers flowing without letting a
	// flood of outside logins become a flood of directory connections.
	DefaultPoolSize = 4
	// DefaultDialTimeout bounds a connection with its TLS handshake and
	// service bind: a directory on the LAN answers in milliseconds.
	DefaultDialTimeout = 5 * time.Second
	// DefaultTimeout bounds one search or bind; a phone gives up on the
	// responder after some tens of seconds.
	DefaultTimeout = 5 * time.Second
	// DefaultLogInterval is how often a directory that stays unavailable
	// is logged again.
	DefaultLogInterval = time.Minute
	// maxIdle is how long an idle connection is kept: directories and
	// firewalls drop idle connections after some minutes, and a dead
	// connection costs a failed request before it is noticed.
	maxIdle = 2 * time.Minute
	// maxNameLen bounds a user name (bytes): AD's UPNs are at most 1024
	// characters, but no phone sends anything near that.
	maxNameLen = 256
	// maxPasswordLen bounds a password (bytes): AD's limit is 256
	// characters, at most 4 bytes each in UTF-8.
	maxPasswordLen = 1024
)

// Config says where the directory is and how its accounts are found.
type Config struct {
	// URL is the directory: ldaps://host[:port], or ldap://host[:port]
	// with StartTLS or Insecure.
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before anything else
	// is sent.
	StartTLS bool
	// CAFile is a PEM file of the certificates that issued the
	// directory's certificate; empty means the system's roots.
	CAFile string
	// ServerName is the name the directory's certificate must carry;
	// empty means the URL's host.
	ServerName string
	// Insecure allows ldap:// without StartTLS, where passwords cross
	// the network in clear. For tests and loopback only.
	Insecure bool
	// BindDN and BindPassword are the service account's, which searches
	// users. The password is never logged.
	BindDN, BindPassword string
	// BaseDN is where users are searched (the whole subtree).
	BaseDN string
	// Schema sets the defaults of the fields below: SchemaAD (the
	// default) or SchemaOpenLDAP.
	Schema string
	// UserFilter is what a user entry must also match. Default:
	// (&(objectCategory=person)(objectClass=user)) for AD,
	// (objectClass=person) for OpenLDAP.
	UserFilter string
	// UserAttr holds bare and DOMAIN\ user names: sAMAccountName (AD),
	// uid (OpenLDAP).
	UserAttr string
	// UPNAttr holds user@domain names: userPrincipalName (AD). Empty
	// (the OpenLDAP default) searches the local part in UserAttr.
	UPNAttr string
	// Domains, when not empty, are the domains a name may carry: the
	// NetBIOS names of DOMAIN\user and the suffixes of user@domain,
	// compared without regard to case. Bare names are always accepted.
	Domains []string
	// Group is the DN of a group the user must be a member of; empty
	// means any account.
	Group string
	// GroupCheck is how membership is asked: GroupMemberOf (the AD
	// default), GroupMemberOfNested (AD only) or GroupMember (the
	// OpenLDAP default).
	GroupCheck string
	// PoolSize bounds the connections of each of the two pools (service
	// searches, user binds). Default DefaultPoolSize.
	PoolSize int
	// DialTimeout bounds a new connection; Timeout bounds each search
	// and bind. Defaults DefaultDialTimeout and DefaultTimeout.
	DialTimeout, Timeout time.Duration
	// LogInterval is how often a directory that stays unavailable is
	// logged again. Default DefaultLogInterval.
	LogInterval time.Duration
	// Logger receives unavailability and recovery; nil discards.
	Logger *slog.Logger
}

// Stats counts a source's verifications.
type Stats struct {
	Accepted, Refused, Unavailable int64
	// Down says the last verification found the directory unavailable.
	Down bool
}

// Source verifies credentials against a directory. It is safe for
// concurrent use.
type Source struct {
	cfg      Config
	search   *pool // bound as the service account
	bind     *pool // binds as users
	dummyDN  string
	health   *health
	accepted atomic.Int64
	refused  atomic.Int64
	now      func() time.Time
}

var _ account.Source = (*Source)(nil)

// New checks cfg and returns a Source. It does not connect: the first
// verification does, so a directory that is down at start-up delays
// nothing but outside logins.
func New(cfg Config) (*Source, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("ldap: url %q: want ldaps://host[:port] or ldap://host[:port]", cfg.URL)
	}
	var tc *tls.Config
	switch {
	case u.Scheme == "ldaps" && cfg.StartTLS:
		return nil, fmt.Errorf("ldap: url %q: StartTLS is for ldap:// URLs", cfg.URL)
	case u.Scheme == "ldaps" || u.Scheme == "ldap" && cfg.StartTLS:
		if tc, err = tlsConfig(cfg, u.Hostname()); err != nil {
			return nil, err
		}
	case u.Scheme == "ldap" && !cfg.Insecure:
		return nil, fmt.Errorf("ldap: url %q: plain LDAP sends passwords in clear; use ldaps://, StartTLS, or the insecure setting", cfg.URL)
	case u.Scheme != "ldap":
		return nil, fmt.Errorf("ldap: url %q: unknown scheme %q", cfg.URL, u.Scheme)
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	s := &Source{
		cfg: cfg,
		// A DN under the base that no account has, bound for users
		// that are not found so that they cost what a wrong password does.
		dummyDN: "cn=duws-no-such-account-" + hex.EncodeToString(nonce[:]) + "," + cfg.BaseDN,
		health:  newHealth(cfg.Logger, cfg.LogInterval, cfg.URL),
		now:     time.Now,
	}
	d := dialer{url: cfg.URL, startTLS: cfg.StartTLS, tls: tc, timeout: cfg.DialTimeout, opTimeout: cfg.Timeout}
	s.search = newPool(cfg.PoolSize, d.withBind(cfg.BindDN, cfg.BindPassword))
	s.bind = newPool(cfg.PoolSize, d.withBind("", ""))
	return s, nil
}

// String shows the configuration without the service account's
// password, so that printing or logging a Config cannot leak it.
func (cfg Config) String() string {
	if cfg.BindPassword != "" {
		cfg.BindPassword = "(hidden)"
	}
	type plain Config // without this method
	return fmt.Sprintf("%+v", plain(cfg))
}

// GoString is String, for %#v.
func (cfg Config) GoString() string { return cfg.String() }

// LogValue is String, for log/slog.
func (cfg Config) LogValue() slog.Value { return slog.StringValue(cfg.String()) }

func (cfg *Config) fill() error {
	switch cfg.Schema {
	case "", SchemaAD:
		cfg.Schema = SchemaAD
		def(&cfg.UserFilter, "(&(objectCategory=person)(objectClass=user))")
		def(&cfg.UserAttr, "sAMAccountName")
		def(&cfg.UPNAttr, "userPrincipalName")
		def(&cfg.GroupCheck, GroupMemberOf)
	case SchemaOpenLDAP:
		def(&cfg.UserFilter, "(objectClass=person)")
		def(&cfg.UserAttr, "uid")
		def(&cfg.GroupCheck, GroupMember)
	default:
		return fmt.Errorf("ldap: schema %q: want %q or %q", cfg.Schema, SchemaAD, SchemaOpenLDAP)
	}
	switch cfg.GroupCheck {
	case GroupMemberOf, GroupMemberOfNested, GroupMember:
	default:
		return fmt.Errorf("ldap: group check %q: want %q, %q or %q", cfg.GroupCheck, GroupMemberOf, GroupMemberOfNested, GroupMember)
	}
	if _, err := goldap.CompileFilter(cfg.UserFilter); err != nil {
		return fmt.Errorf("ldap: user filter %q: %v", cfg.UserFilter, err)
	}
	for _, a := range []string{cfg.UserAttr, cfg.UPNAttr} {
		if !validAttr(a) {
			return fmt.Errorf("ldap: attribute %q: want a name such as sAMAccountName", a)
		}
	}
	if cfg.UserAttr == "" {
		return errors.New("ldap: no user attribute")
	}
	if cfg.BaseDN == "" {
		return errors.New("ldap: no base DN")
	}
	for _, dn := range []string{cfg.BaseDN, cfg.BindDN, cfg.Group} {
		if dn == "" {
			continue
		}
		if _, err := goldap.ParseDN(dn); err != nil {
			return fmt.Errorf("ldap: DN %q: %v", dn, err)
		}
	}
	if cfg.BindDN == "" || cfg.BindPassword == "" {
		return errors.New("ldap: the service account needs a DN and a password")
	}
	if cfg.PoolSize <= 0 {
		cfg.PoolSize = DefaultPoolSize
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = DefaultLogInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

func def(s *string, v string) {
	if *s == "" {
		*s = v
	}
}

// validAttr accepts attribute descriptions (RFC 4512 descr), or empty.
func validAttr(a string) bool {
	for i, c := range a {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')
		if !ok {
			return false
		}
	}
	return true
}

func tlsConfig(cfg Config, host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.ServerName != "" {
		tc.ServerName = cfg.ServerName
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: CA file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: CA file %s: no PEM certificate in it", cfg.CAFile)
		}
	}
	return tc, nil
}

// Name is "ldap".
func (s *Source) Name() string { return "ldap" }

// Stats returns the counts so far.
func (s *Source) Stats() Stats {
	return Stats{Accepted: s.accepted.Load(), Refused: s.refused.Load(), Unavailable: s.health.failures.Load(), Down: s.health.isDown()}
}

// Close closes the pooled connections. Verifications after Close dial
// again.
func (s *Source) Close() error {
	s.search.close()
	s.bind.close()
	return nil
}

// Verify checks password for user; see the package documentation. Its
// errors do not name the source: a [account.Chain] does.
func (s *Source) Verify(ctx context.Context, user, password string) (account.Result, error) {
	res, err := s.verify(ctx, user, password)
	switch {
	case err == nil:
		s.accepted.Add(1)
		s.health.ok()
	case errors.Is(err, account.ErrUnavailable):
		s.health.fail(err)
	default:
		s.refused.Add(1)
		s.health.ok()
	}
	return res, err
}

// An entry is the part of a user's entry Verify needs.
type entry struct {
	dn      string
	account string
	uid     string
	attrs   map[string]string
}

// stateAttrs are read with the user, for refusing disabled and expired
// accounts (see state.go).
var stateAttrs = []string{"userAccountControl", "accountExpires", "pwdAccountLockedTime", "shadowExpire"}

func (s *Source) verify(ctx context.Context, user, password string) (account.Result, error) {
	if password == "" {
		// An LDAP bind with a DN and no password is an unauthenticated
		// bind, which directories answer with success.
		return account.Result{}, fmt.Errorf("%q: empty password: %w", user, account.ErrInvalid)
	}
	if len(password) > maxPasswordLen {
		return account.Result{}, fmt.Errorf("%q: password longer than %d bytes: %w", user, maxPasswordLen, account.ErrInvalid)
	}
	q, err := parseName(user, s.cfg)
	if err != nil {
		return account.Result{}, fmt.Errorf("%w: %w", err, account.ErrInvalid)
	}
	e, reason, err := s.find(ctx, q)
	if err != nil {
		return account.Result{}, err
	}
	if reason == "" {
		reason = accountState(e.attrs, s.now())
	}
	if reason != "" {
		// Cost the refused name a bind too.
		if err := s.userBind(ctx, s.dummyDN, password); errors.Is(err, account.ErrUnavailable) {
			return account.Result{}, err
		}
		return account.Result{}, fmt.Errorf("%q: %s: %w", user, reason, account.ErrInvalid)
	}
	if err := s.userBind(ctx, e.dn, password); err != nil {
		return account.Result{}, fmt.Errorf("%q (%s): %w", user, e.dn, err)
	}
	if s.cfg.Group != "" {
		in, err := s.inGroup(ctx, e)
		if err != nil {
			return account.Result{}, err
		}
		if !in {
			return account.Result{}, fmt.Errorf("%q (%s): not a member of %s: %w", user, e.dn, s.cfg.Group, account.ErrInvalid)
		}
	}
	return account.Result{Account: e.account, Source: s.Name()}, nil
}

// find searches the user. A name that matches no entry, or several,
// returns a reason and no error.
func (s *Source) find(ctx context.Context, q query) (entry, string, error) {
	attrs := append([]string{s.cfg.UserAttr}, stateAttrs...)
	if s.cfg.GroupCheck == GroupMember && s.cfg.Group != "" {
		attrs = append(attrs, "uid")
	}
	req := goldap.NewSearchRequest(s.cfg.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases,
		2, s.timeLimit(), false, q.filter(s.cfg.UserFilter), attrs, nil)
	var res *goldap.SearchResult
	err := s.search.do(ctx, s.cfg.Timeout, func(c *goldap.Conn) error {
		var err error
		res, err = c.Search(req)
		return err
	})
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded):
		return entry{}, "the name matches several accounts", nil
	case err != nil:
		return entry{}, "", unavailable("search", err)
	case len(res.Entries) == 0:
		return entry{}, "no such account", nil
	case len(res.Entries) > 1:
		return entry{}, "the name matches several accounts", nil
	}
	le := res.Entries[0]
	e := entry{dn: le.DN, account: le.GetAttributeValue(s.cfg.UserAttr), uid: le.GetAttributeValue("uid"), attrs: map[string]string{}}
	if e.account == "" {
		e.account = le.DN
	}
	for _, a := range stateAttrs {
		if v := le.GetAttributeValue(a); v != "" {
			e.attrs[a] = v
		}
	}
	return e, "", nil
}

// userBind binds as dn on a connection of the bind pool. A refusal
// wraps ErrInvalid with the directory's reason; anything else wraps
// ErrUnavailable.
func (s *Source) userBind(ctx context.Context, dn, password string) error {
	err := s.bind.do(ctx, s.cfg.Timeout, func(c *goldap.Conn) error { return c.Bind(dn, password) })
	if err == nil {
		return nil
	}
	var le *goldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case goldap.LDAPResultInvalidCredentials, goldap.LDAPResultUnwillingToPerform,
			goldap.LDAPResultInappropriateAuthentication, goldap.LDAPResultConstraintViolation, goldap.ErrorEmptyPassword:
			return fmt.Errorf("directory refused the bind (%s): %w", bindReason(le), account.ErrInvalid)
		}
	}
	return unavailable("bind", err)
}

func (s *Source) inGroup(ctx context.Context, e entry) (bool, error) {
	g := goldap.EscapeFilter(s.cfg.Group)
	var base, filter string
	switch s.cfg.GroupCheck {
	case GroupMemberOf:
		base, filter = e.dn, "(memberOf="+g+")"
	case GroupMemberOfNested:
		base, filter = e.dn, "(memberOf:1.2.840.113556.1.4.1941:="+g+")"
	case GroupMember:
		dn := goldap.EscapeFilter(e.dn)
		filter = "(|(member=" + dn + ")(uniqueMember=" + dn + ")"
		if e.uid != "" {
			filter += "(memberUid=" + goldap.EscapeFilter(e.uid) + ")"
		}
		base, filter = s.cfg.Group, filter+")"
	}
	req := goldap.NewSearchRequest(base, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, s.timeLimit(), false, filter, []string{"1.1"}, nil)
	var n int
	err := s.search.do(ctx, s.cfg.Timeout, func(c *goldap.Conn) error {
		res, err := c.Search(req)
		if err == nil {
			n = len(res.Entries)
		}
		return err
	})
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		// The group is gone (or the user, since the bind): nobody is in it.
		return false, nil
	}
	if err != nil {
		return false, unavailable("group search", err)
	}
	return n > 0, nil
}

// timeLimit is the server-side time limit of a search, in seconds.
func (s *Source) timeLimit() int {
	return max(1, int((s.cfg.Timeout+time.Second-1)/time.Second))
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, err, account.ErrUnavailable)
}

// adBindReasons are the "data" codes Active Directory puts in the message
// of a refused bind.
var adBindReasons = map[string]string{
	"525": "no such user", "52e": "wrong password", "530": "not permitted at this time",
	"531": "not permitted at this workstation", "532": "password expired", "533": "account disabled",
	"568": "too many security IDs", "701": "account expired", "773": "password must be changed",
	"775": "account locked",
}

// bindReason words a refused bind for the log.
func bindReason(le *goldap.Error) string {
	msg := ""
	if le.Err != nil {
		msg = le.Err.Error()
	}
	if i := strings.Index(msg, "data "); i >= 0 {
		code, _, _ := strings.Cut(msg[i+len("data "):], ",")
		if r, ok := adBindReasons[strings.ToLower(strings.TrimSpace(code))]; ok {
			return r
		}
	}
	r := goldap.LDAPResultCodeMap[le.ResultCode]
	if r == "" {
		r = fmt.Sprintf("result %d", le.ResultCode)
	}
	if msg != "" {
		r += ": " + msg
	}
	return r
}

// dialer makes connections.
type dialer struct {
	url       string
	startTLS  bool
	tls       *tls.Config
	timeout   time.Duration
	opTimeout time.Duration
}

// withBind returns a function dialing a connection bound as dn (or not
// bound, for dn "").
func (d dialer) withBind(dn, password string) func(context.Context) (*goldap.Conn, error) {
	return func(ctx context.Context) (*goldap.Conn, error) {
		nd := &net.Dialer{Timeout: d.timeout}
		if dl, ok := ctx.Deadline(); ok {
			nd.Deadline = dl
		}
		opts := []goldap.DialOpt{goldap.DialWithDialer(nd)}
		if d.tls != nil {
			opts = append(opts, goldap.DialWithTLSConfig(d.tls))
		}
		c, err := goldap.DialURL(d.url, opts...)
		if err != nil {
			return nil, err
		}
		t := min(d.timeout, d.opTimeout)
		if dl, ok := ctx.Deadline(); ok {
			t = min(t, time.Until(dl))
		}
		c.SetTimeout(t)
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		if d.startTLS {
			if err := c.StartTLS(d.tls); err != nil {
				c.Close()
				return nil, fmt.Errorf("starttls: %w", err)
			}
		}
		if dn != "" {
			if err := c.Bind(dn, password); err != nil {
				c.Close()
				// Whatever the code: the service account not binding
				// means no user can be verified, and only an
				// administrator can fix it.
				return nil, fmt.Errorf("service account bind: %w", err)
			}
		}
		return c, nil
	}
}
