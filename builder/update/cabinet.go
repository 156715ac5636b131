package update

import (
	"fmt"
	"strings"

	"github.com/duws/duws/builder/cab"
)

// ReadCabinet reads and checks the package in a cabinet. Beyond [Read]'s
// checks, every name in the cabinet must be safe to create on disk
// ([cab.ValidName]) and unique ignoring case: the fs.FS view of a cabinet
// leaves such files out, and a package must not hide files that way.
func ReadCabinet(r *cab.Reader, name string) (*Package, error) {
	probs := &problems{pkg: name}
	seen := map[string]bool{}
	for _, f := range r.File {
		if err := cab.ValidName(f.Name); err != nil {
			probs.add("", "%v", err)
			continue
		}
		key := strings.ToLower(f.Name)
		if seen[key] {
			probs.add(f.Name, "file name occurs twice")
		}
		seen[key] = true
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	pkg, err := Read(r, name)
	if err != nil {
		return nil, err
	}
	return pkg, nil
}

// Summary returns one line per update, for messages: identity, update
// type, version and rule id.
func (p *Package) Summary() []string {
	var out []string
	for _, u := range p.Updates {
		out = append(out, fmt.Sprintf("%s %s %s (rule %s)", u.Identity, u.UpdateType, u.Version, u.RuleID))
	}
	return out
}
