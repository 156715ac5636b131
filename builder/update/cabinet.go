package update

import (
	"fmt"
	"io/fs"
	"strings"

	"github.com/duws/duws/builder/cab"
)

// ReadCabinet reads and checks the package in a cabinet. Beyond [Read]'s
// checks, every name in the cabinet must be safe to create on disk
// ([cab.ValidName]) and unique ignoring case: the fs.FS view of a cabinet
// leaves such files out, and a package must not hide files that way.
func ReadCabinet(r *cab.Reader, name string) (*Package, error) {
	if err := checkNames(r, name); err != nil {
		return nil, err
	}
	return Read(r, name)
}

// ScanCabinet is [ReadCabinet] with [Scan]: the names and updateInfo.xml
// are checked, the files are not read.
func ScanCabinet(r *cab.Reader, name string) (*Package, error) {
	if err := checkNames(r, name); err != nil {
		return nil, err
	}
	return Scan(r, name)
}

// HashFiles reads and hashes the files of u from the package in fsys,
// filling in their sizes and SHA-256.
func HashFiles(fsys fs.FS, u *Update) error {
	for i, f := range u.Files {
		h, err := hashFile(fsys, f.Path)
		if err != nil {
			return err
		}
		u.Files[i].Size, u.Files[i].SHA256 = h.Size, h.SHA256
	}
	return nil
}

func checkNames(r *cab.Reader, name string) error {
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
	return probs.err()
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
