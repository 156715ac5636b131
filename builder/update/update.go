// Package update reads vendor update packages: the files of a
// UCUpdates.cab and the updateInfo.xml that describes them, cross-checked
// against each other.
//
// # Layout
//
// A package holds, for each update, the files of one folder
//
//	<DeviceType>/<Brand>/<Model>/<Revision>/<Locale>/<Version>/<UpdateType>/
//
// (the image *.nbt, its security catalog *.cat, a description *.xml) and,
// at its root, updateInfo.xml in the schema documented in
// docs/PACKAGE.md. A package without updateInfo.xml is accepted too: its
// updates are read from the folder tree alone, and each rule id is a UUID
// derived from the identity and update type (see [DerivedRuleID]), the
// same in every package.
//
// # Checks
//
// [Read] decompresses and hashes every file and refuses the whole package
// when anything disagrees: a file listed but missing or present but not
// listed, a size or SHA-256 mismatch, two versions of one rule, a version
// that is not four dotted numbers, an identity component that is empty or
// holds "/", "\" or "..". Every problem is reported, each naming the
// package and the path.
package update

import (
	"cmp"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/duws/duws/builder/device"
)

// ErrPackage is wrapped by every error about a package's contents.
var ErrPackage = errors.New("invalid update package")

// InfoName is the name of the package description at the package root.
const InfoName = "updateInfo.xml"

// Package is a checked update package.
type Package struct {
	// Version is the package version updateInfo.xml gives, or "".
	Version string
	// HasInfo reports whether the package has an updateInfo.xml.
	HasInfo bool
	// Updates lists the package's updates sorted by identity and update
	// type.
	Updates []Update
	// Ignored lists files at the package root other than updateInfo.xml
	// (such as a licence text), which belong to no update.
	Ignored []string
}

// Update is one device update of a package.
type Update struct {
	RuleID string // canonical lower-case GUID
	// DerivedID is set when the package names no rule id and RuleID was
	// derived from the identity and update type (see [DerivedRuleID]).
	DerivedID  bool
	Identity   device.Identity
	UpdateType string
	Version    device.Version
	Files      []File // sorted by name
}

// Dir returns the folder of the update's files in the package and in the
// site: <DeviceType>/<Brand>/<Model>/<Revision>/<Locale>/<Version>/<UpdateType>.
func (u *Update) Dir() string {
	id := u.Identity
	return path.Join(id.DeviceType, id.Brand, id.Model, id.Revision, id.Locale, u.Version.String(), u.UpdateType)
}

// Key returns the identity and update type, the rule's natural key.
func (u *Update) Key() string { return u.Identity.String() + " " + u.UpdateType }

// File is one file of an update.
type File struct {
	Name   string // base name, such as CPE.nbt
	Path   string // path in the package, which may differ in case from Dir
	Size   int64
	SHA256 string // lower-case hex
}

// Role says what a file is by its extension: "image" (.nbt), "catalog"
// (.cat), "description" (.xml) or "other".
func (f File) Role() string {
	switch strings.ToLower(path.Ext(f.Name)) {
	case ".nbt":
		return "image"
	case ".cat":
		return "catalog"
	case ".xml":
		return "description"
	}
	return "other"
}

// problems collects every error found in one package.
type problems struct {
	pkg  string
	list []string
}

func (p *problems) add(where, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if where != "" {
		msg = where + ": " + msg
	}
	p.list = append(p.list, msg)
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	slices.Sort(p.list)
	p.list = slices.Compact(p.list)
	return fmt.Errorf("%s: %w:\n  %s", p.pkg, ErrPackage, strings.Join(p.list, "\n  "))
}

// Read reads and checks the package in fsys; name is used in messages
// (the cabinet's file name). Every file is read in full and hashed.
func Read(fsys fs.FS, name string) (*Package, error) {
	return read(fsys, name, true)
}

// Scan is [Read] without reading the files' contents: sizes come from the
// file headers and SHA256 is left empty, so only what updateInfo.xml says
// of sizes is checked. It is for listing a package already checked by
// Read, such as one in the store.
func Scan(fsys fs.FS, name string) (*Package, error) {
	return read(fsys, name, false)
}

func read(fsys fs.FS, name string, verify bool) (*Package, error) {
	probs := &problems{pkg: name}
	pkg := &Package{}
	var info *info
	found := map[string]*foundUpdate{} // by update folder
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		parts := strings.Split(p, "/")
		switch {
		case len(parts) == 1 && strings.EqualFold(p, InfoName):
			if info != nil {
				probs.add(p, "second package description")
				return nil
			}
			b, err := readLimited(fsys, p, maxInfoSize)
			if err != nil {
				return err
			}
			info, err = parseInfo(b)
			if err != nil {
				probs.add(p, "%v", err)
			}
			pkg.HasInfo = true
		case len(parts) == 1:
			pkg.Ignored = append(pkg.Ignored, p)
		case len(parts) == 8:
			dir := path.Dir(p)
			fu := found[dir]
			if fu == nil {
				fu = &foundUpdate{dir: dir}
				if err := fu.parseDir(parts[:7]); err != nil {
					probs.add(dir, "%v", err)
					fu.bad = true
				}
				found[dir] = fu
			}
			var f File
			if verify {
				f, err = hashFile(fsys, p)
			} else {
				f, err = statFile(d, p)
			}
			if err != nil {
				return err
			}
			fu.files = append(fu.files, f)
		default:
			probs.add(p, "not in an update folder <DeviceType>/<Brand>/<Model>/<Revision>/<Locale>/<Version>/<UpdateType>/")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if pkg.HasInfo && info == nil {
		return nil, probs.err()
	}
	if info != nil {
		pkg.Version = info.packageVersion
		pkg.Updates = crossCheck(info, found, probs)
	} else {
		for _, fu := range found {
			if fu.bad {
				continue
			}
			u := fu.update()
			u.RuleID, u.DerivedID = DerivedRuleID(u.Identity, u.UpdateType), true
			pkg.Updates = append(pkg.Updates, u)
		}
	}
	if len(found) == 0 && (info == nil || len(info.updates) == 0) {
		probs.add("", "no updates")
	}
	// One rule, one version per package.
	byKey := map[string]*Update{}
	byID := map[string]*Update{}
	for i := range pkg.Updates {
		u := &pkg.Updates[i]
		k := strings.ToLower(u.Key())
		if prev := byKey[k]; prev != nil && prev.Version != u.Version {
			probs.add(u.Dir(), "second version of %s (also %s)", u.Key(), prev.Version)
		} else if prev != nil {
			probs.add(u.Dir(), "update listed twice")
		}
		byKey[k] = u
		if prev := byID[u.RuleID]; prev != nil && !strings.EqualFold(prev.Key(), u.Key()) {
			probs.add(u.Dir(), "rule id %s also used by %s", u.RuleID, prev.Key())
		} else if prev != nil && prev.Version != u.Version {
			probs.add(u.Dir(), "second version of rule %s (also %s)", u.RuleID, prev.Version)
		}
		byID[u.RuleID] = u
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	slices.SortFunc(pkg.Updates, func(a, b Update) int {
		return cmp.Or(strings.Compare(a.Key(), b.Key()), a.Version.Compare(b.Version))
	})
	slices.Sort(pkg.Ignored)
	return pkg, nil
}

// foundUpdate is an update folder of the package tree.
type foundUpdate struct {
	dir        string
	identity   device.Identity
	version    device.Version
	updateType string
	files      []File
	bad        bool
	listed     bool
}

func (fu *foundUpdate) parseDir(parts []string) error {
	id := device.Identity{DeviceType: parts[0], Brand: parts[1], Model: parts[2], Revision: parts[3], Locale: parts[4]}
	if err := id.Check(); err != nil {
		return err
	}
	v, err := device.ParseVersion(parts[5])
	if err != nil {
		return err
	}
	if err := checkComponent("update type", parts[6]); err != nil {
		return err
	}
	fu.identity, fu.version, fu.updateType = id, v, parts[6]
	return nil
}

func (fu *foundUpdate) update() Update {
	files := slices.Clone(fu.files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return Update{Identity: fu.identity, UpdateType: fu.updateType, Version: fu.version, Files: files}
}

func checkComponent(what, s string) error {
	id := device.Identity{DeviceType: s, Brand: "x", Model: "x", Revision: "x", Locale: "x"}
	if err := id.Check(); err != nil {
		return fmt.Errorf("malformed %s %q", what, s)
	}
	return nil
}

// crossCheck matches the updates updateInfo.xml lists with the folders
// found, file by file.
func crossCheck(in *info, found map[string]*foundUpdate, probs *problems) []Update {
	var out []Update
	for _, iu := range in.updates {
		u, err := iu.update()
		if err != nil {
			probs.add(InfoName, "update %d: %v", iu.index, err)
			continue
		}
		dir := u.Dir()
		fu := found[dir]
		if fu == nil {
			// The folder may differ in case only from what is listed.
			for d, f := range found {
				if strings.EqualFold(d, dir) {
					fu = f
					break
				}
			}
		}
		if fu == nil {
			probs.add(dir, "listed in %s, missing from the package", InfoName)
			continue
		}
		fu.listed = true
		have := map[string]File{}
		for _, f := range fu.files {
			have[strings.ToLower(f.Name)] = f
		}
		for _, lf := range iu.files {
			f, ok := have[strings.ToLower(lf.name)]
			if !ok {
				probs.add(path.Join(dir, lf.name), "listed in %s, missing from the package", InfoName)
				continue
			}
			delete(have, strings.ToLower(lf.name))
			if lf.size >= 0 && lf.size != f.Size {
				probs.add(path.Join(dir, f.Name), "size %d, %s says %d", f.Size, InfoName, lf.size)
			}
			if lf.sha256 != "" && f.SHA256 != "" && lf.sha256 != f.SHA256 {
				probs.add(path.Join(dir, f.Name), "SHA-256 %s, %s says %s", f.SHA256, InfoName, lf.sha256)
			}
		}
		for _, f := range have {
			probs.add(path.Join(dir, f.Name), "not listed in %s", InfoName)
		}
		u.Files = fu.update().Files
		out = append(out, u)
	}
	for _, fu := range found {
		if !fu.listed && !fu.bad {
			probs.add(fu.dir, "update folder not listed in %s", InfoName)
		}
	}
	return out
}

func hashFile(fsys fs.FS, name string) (File, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return File{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", name, err)
	}
	return File{Name: path.Base(name), Path: name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

func statFile(d fs.DirEntry, name string) (File, error) {
	fi, err := d.Info()
	if err != nil {
		return File{}, err
	}
	return File{Name: path.Base(name), Path: name, Size: fi.Size()}, nil
}

func readLimited(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes: %w", name, limit, ErrPackage)
	}
	return b, nil
}

// ruleNamespace is the UUID namespace of derived rule ids, fixed forever:
// changing it would change the id of every rule imported without an
// updateInfo.xml.
var ruleNamespace = [16]byte{0x3c, 0x8e, 0x1d, 0x52, 0x6f, 0x0a, 0x4b, 0x7e, 0x9d, 0x21, 0x5a, 0xc4, 0x70, 0xe3, 0x18, 0xb6}

// DerivedRuleID returns the rule id of an update whose package does not
// give one: a name-based (version 5) UUID of the identity and update type,
// compared ignoring case.
func DerivedRuleID(id device.Identity, updateType string) string {
	h := sha1.New()
	h.Write(ruleNamespace[:])
	h.Write([]byte(strings.ToLower(id.String() + "/" + updateType)))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	s := hex.EncodeToString(u[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
