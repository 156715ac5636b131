package update

import (
	"strings"

	"github.com/duws/duws/builder/cab"
	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/store"
)

// Catalog lists the updates of every package in a store.
type Catalog struct {
	Packages []Stored // sorted by name
}

// Stored is a package in the store.
type Stored struct {
	Name string // store name, <sha256>.cab
	*Package
}

// ScanStore lists the packages of s with [Scan]: names and updateInfo.xml
// only, no file contents.
func ScanStore(s *store.Store) (*Catalog, error) {
	names, err := s.List()
	if err != nil {
		return nil, err
	}
	c := &Catalog{}
	for _, name := range names {
		r, err := cab.OpenReader(s.Path(name))
		if err != nil {
			return nil, err
		}
		pkg, err := Scan(r, s.Path(name))
		r.Close()
		if err != nil {
			return nil, err
		}
		c.Packages = append(c.Packages, Stored{Name: name, Package: pkg})
	}
	return c, nil
}

// Matches reports whether u is an update of the rule: the same rule id,
// or the same identity and update type (ignoring case).
func Matches(u *Update, ruleID string, id device.Identity, updateType string) bool {
	return u.RuleID == ruleID || strings.EqualFold(u.Key(), id.String()+" "+updateType)
}

// Versions returns the versions the catalog provides for a rule.
func (c *Catalog) Versions(ruleID string, id device.Identity, updateType string) []device.Version {
	var out []device.Version
	for _, p := range c.Packages {
		for i := range p.Updates {
			if Matches(&p.Updates[i], ruleID, id, updateType) {
				out = append(out, p.Updates[i].Version)
			}
		}
	}
	return out
}
