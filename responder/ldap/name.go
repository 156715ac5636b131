package ldap

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"
)

// The forms of a user name.
const (
	formBare   = "bare"
	formDomain = `DOMAIN\user`
	formUPN    = "user@domain"
)

// A query is a user name taken apart: the attribute to search and the
// value it must have.
type query struct {
	form  string
	attr  string
	value string
}

// filter is the search filter for q, within the configured user filter.
// The value is escaped: nothing in a user name can widen the search.
func (q query) filter(userFilter string) string {
	return "(&" + userFilter + "(" + q.attr + "=" + goldap.EscapeFilter(q.value) + "))"
}

var errName = errors.New("malformed user name")

// parseName maps a name a phone sent to a query: DOMAIN\user and bare
// names search UserAttr; user@domain searches UPNAttr with the whole
// name, or UserAttr with the local part when UPNAttr is empty.
func parseName(name string, cfg Config) (query, error) {
	if name == "" || len(name) > maxNameLen || !utf8.ValidString(name) {
		return query{}, fmt.Errorf("%q: %w", name, errName)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return query{}, fmt.Errorf("%q: control character: %w", name, errName)
		}
	}
	if dom, user, ok := strings.Cut(name, `\`); ok {
		if dom == "" || user == "" {
			return query{}, fmt.Errorf("%q: %w", name, errName)
		}
		if !domainAccepted(dom, cfg.Domains) {
			return query{}, fmt.Errorf("%q: domain %q not accepted", name, dom)
		}
		return query{form: formDomain, attr: cfg.UserAttr, value: user}, nil
	}
	if i := strings.LastIndexByte(name, '@'); i >= 0 {
		user, dom := name[:i], name[i+1:]
		if user == "" || dom == "" {
			return query{}, fmt.Errorf("%q: %w", name, errName)
		}
		if !domainAccepted(dom, cfg.Domains) {
			return query{}, fmt.Errorf("%q: domain %q not accepted", name, dom)
		}
		if cfg.UPNAttr != "" {
			return query{form: formUPN, attr: cfg.UPNAttr, value: name}, nil
		}
		return query{form: formUPN, attr: cfg.UserAttr, value: user}, nil
	}
	return query{form: formBare, attr: cfg.UserAttr, value: name}, nil
}

func domainAccepted(dom string, domains []string) bool {
	if len(domains) == 0 {
		return true
	}
	for _, d := range domains {
		if strings.EqualFold(d, dom) {
			return true
		}
	}
	return false
}
