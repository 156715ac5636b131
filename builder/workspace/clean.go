package workspace

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/update"
)

// Cleaned is a file Clean deleted (or, in a dry run, would delete).
type Cleaned struct {
	Path string
	Why  string // what the package held, or why the file is there
}

// Clean deletes the packages no rule refers to any more, and the files
// left by interrupted imports. With dryRun it deletes nothing and returns
// what it would delete. On an error it returns what it deleted so far.
func (w *Workspace) Clean(dryRun bool) ([]Cleaned, error) {
	cat, err := update.ScanStore(w.Store)
	if err != nil {
		return nil, err
	}
	used := referenced(cat, w.Doc.Policy())
	var unused []update.Stored
	for _, p := range cat.Packages {
		if !used[p.Name] {
			unused = append(unused, p)
		}
	}
	left, err := w.Store.Leftovers()
	if err != nil {
		return nil, err
	}
	var done []Cleaned
	for _, p := range unused {
		if !dryRun {
			if err := w.Store.Remove(p.Name); err != nil {
				return done, err
			}
		}
		done = append(done, Cleaned{w.Store.Path(p.Name), strings.Join(p.Summary(), "; ")})
	}
	for _, name := range left {
		if !dryRun {
			if err := os.Remove(filepath.Join(w.Store.Dir, name)); err != nil {
				return done, err
			}
		}
		done = append(done, Cleaned{filepath.Join(w.Store.Dir, name), "left by an interrupted import"})
	}
	return done, nil
}

// referenced returns the names of the packages of c that provide a version some
// rule of p refers to (approved, pending or restore).
func referenced(c *update.Catalog, p *policy.Policy) map[string]bool {
	used := map[string]bool{}
	for _, r := range p.Rules {
		for _, v := range []*policy.Version{r.Approved, r.Pending, r.Restore} {
			if v == nil {
				continue
			}
			for _, sp := range c.Packages {
				for i := range sp.Updates {
					if u := &sp.Updates[i]; u.Version == *v && update.Matches(u, r.ID, r.Identity, r.UpdateType) {
						used[sp.Name] = true
					}
				}
			}
		}
	}
	return used
}
