package workspace

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/duws/duws/builder/cab"
	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/store"
	"github.com/duws/duws/builder/update"
)

// Sources reads a policy file and its packages into a plan.Input: the policy
// is parsed and checked against the packages (every mistake listed), and
// the files of the versions the policy offers get their hashes, from the
// sidecar import kept beside each package, or (for a package stored
// before sidecars) by reading and hashing them.
type Sources struct {
	PolicyPath string
	Store      *store.Store

	mu   sync.Mutex
	open map[string]*cab.ReadCloser

	// opened, when set, is told of every file of a package opened for
	// reading, to hash it or to copy it (tests count them).
	opened func(pkg, path string)
}

// countOpens is the view of a package that tells s.opened of every file
// opened through it.
type countOpens struct {
	fs.FS
	s   *Sources
	pkg string
}

func (c countOpens) Open(name string) (fs.File, error) {
	if c.s.opened != nil {
		c.s.opened(c.pkg, name)
	}
	return c.FS.Open(name)
}

// Load returns the build input. sourceDateEpoch, when not empty, is the
// SOURCE_DATE_EPOCH to record as the build time; otherwise the newest
// modification time of the package files is used.
func (s *Sources) Load(sourceDateEpoch string) (*plan.Input, error) {
	b, err := os.ReadFile(s.PolicyPath)
	if err != nil {
		return nil, err
	}
	pol, err := policy.Parse(s.PolicyPath, b)
	if err != nil {
		return nil, err
	}
	if s.Store == nil {
		s.Store = &store.Store{Dir: StoreDir(s.PolicyPath, pol.Packages)}
	}
	names, err := s.Store.List()
	if err != nil {
		return nil, err
	}
	in := &plan.Input{Policy: pol, PolicyBytes: b}
	// The packages were checked in full when imported, and the store
	// names each by its hash: here their tables are listed, and only the
	// files of versions the policy offers are read and hashed.
	offered := map[string]bool{}
	for _, r := range pol.Rules {
		for _, v := range []*policy.Version{r.Approved, r.Pending} {
			if v != nil {
				offered[r.ID+" "+v.String()] = true
				offered[r.Identity.Key(r.UpdateType)+" "+v.String()] = true
			}
		}
	}
	var newest time.Time
	intern := newInterner()
	for _, name := range names {
		r, err := cab.OpenReader(s.Store.Path(name))
		if err != nil {
			return nil, err
		}
		pkg, err := update.ScanCabinet(&r.Reader, s.Store.Path(name))
		var hashes update.Hashes
		if err == nil {
			hashes, err = s.sidecar(name)
		}
		if err == nil {
			for i := range pkg.Updates {
				u := &pkg.Updates[i]
				if offered[u.RuleID+" "+u.Version.String()] || offered[u.Identity.Key(u.UpdateType)+" "+u.Version.String()] {
					if hashes.Fill(u) {
						continue
					}
					if err = update.HashFiles(countOpens{&r.Reader, s, name}, u); err != nil {
						break
					}
				} else {
					// Only its version matters to the plan: a large store
					// holds many versions of every rule.
					u.Files = nil
				}
				u.RuleID, u.Identity, u.UpdateType = intern.id(u.RuleID, u.Identity, u.UpdateType)
			}
		}
		for _, f := range r.File {
			if f.Modified.After(newest) {
				newest = f.Modified
			}
		}
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Store.Path(name), err)
		}
		in.Packages = append(in.Packages, plan.Package{Name: name, Updates: pkg.Updates})
	}
	cat := &update.Catalog{}
	for _, p := range in.Packages {
		cat.Packages = append(cat.Packages, update.Stored{Name: p.Name, Package: &update.Package{Updates: p.Updates}})
	}
	if err := pol.CheckVersions(cat.Versions); err != nil {
		return nil, s.Store.ExplainMissing(err)
	}
	switch {
	case sourceDateEpoch != "":
		sec, err := strconv.ParseInt(sourceDateEpoch, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("SOURCE_DATE_EPOCH %q: not a number of seconds", sourceDateEpoch)
		}
		in.Built = time.Unix(sec, 0).UTC()
	case !newest.IsZero():
		in.Built = newest
	default:
		in.Built = time.Unix(0, 0).UTC()
	}
	return in, nil
}

// sidecar returns the hashes import kept beside a package, nil for a
// package stored without them.
func (s *Sources) sidecar(name string) (update.Hashes, error) {
	b, err := s.Store.Sidecar(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return update.DecodeHashes(b)
}

// Open opens a package file, for publish.Writer.Open.
func (s *Sources) Open(src plan.Source) (io.ReadCloser, error) {
	s.mu.Lock()
	if s.open == nil {
		s.open = map[string]*cab.ReadCloser{}
	}
	r := s.open[src.Package]
	if r == nil {
		var err error
		r, err = cab.OpenReader(s.Store.Path(src.Package))
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		s.open[src.Package] = r
	}
	s.mu.Unlock()
	for _, f := range r.File {
		if f.Name == src.Path {
			if s.opened != nil {
				s.opened(src.Package, src.Path)
			}
			return f.Open()
		}
	}
	return nil, fmt.Errorf("%s: no file %q", s.Store.Path(src.Package), src.Path)
}

// Close closes the packages Open opened.
func (s *Sources) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.open {
		r.Close()
	}
	s.open = nil
	return nil
}

// interner shares the strings of rule ids and identities between the
// packages that repeat them, one per version.
type interner map[string]string

func newInterner() interner { return interner{} }

func (in interner) str(s string) string {
	if t, ok := in[s]; ok {
		return t
	}
	in[s] = s
	return s
}

func (in interner) id(ruleID string, id policy.Identity, updateType string) (string, policy.Identity, string) {
	return in.str(ruleID), policy.Identity{
		DeviceType: in.str(id.DeviceType), Brand: in.str(id.Brand), Model: in.str(id.Model),
		Revision: in.str(id.Revision), Locale: in.str(id.Locale),
	}, in.str(updateType)
}
