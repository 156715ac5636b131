package workspace

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/duws/duws/builder/cab"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/update"
)

// Report says what an import did.
type Report struct {
	Packages []Stored // in the order the files were named
	// Edits describe each policy edit, oldest version first.
	Edits []string
	// Changed reports whether the policy changed and was saved.
	Changed bool
}

// Stored is one package file an import stored.
type Stored struct {
	File    string // the file named
	Path    string // where the store keeps it
	Created bool   // false: the store held it already
	Offset  int64  // where the cabinet starts in File (an .exe holds it after its code)
	Updates int    // updates in the package
}

// pendingImport is a checked package waiting to be stored: one cabinet of
// a file named to Import.
type pendingImport struct {
	file string
	r    *cab.Reader
	pkg  *update.Package
}

// Import imports update packages (UCUpdates.cab, or UCUpdates.exe holding
// one): new versions become pending. A file holding several cabinets one
// after another gives one package per cabinet. Every package is checked
// in full and every policy edit tried before anything is written; then
// the packages are stored, then the policy is saved (only when it
// changed).
func (w *Workspace) Import(files []string) (Report, error) {
	var rep Report
	// Check every package in full before storing anything.
	var todo []pendingImport
	var open []io.Closer
	defer func() {
		for _, c := range open {
			c.Close()
		}
	}()
	var problems []string
	for _, file := range files {
		got, closer, err := readPackages(file)
		if closer != nil {
			open = append(open, closer)
		}
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		todo = append(todo, got...)
	}
	if len(problems) > 0 {
		return rep, fmt.Errorf("nothing imported:\n%s", strings.Join(problems, "\n"))
	}
	edits, changed, err := w.importEdits(todo)
	if err != nil {
		return rep, err
	}
	// Store the cabinets, then write the policy: an interruption between
	// the two leaves a package no rule refers to yet, which a second
	// import adopts and clean removes.
	for _, p := range todo {
		s, err := w.store(p)
		if err != nil {
			return rep, err
		}
		rep.Packages = append(rep.Packages, s)
	}
	rep.Edits, rep.Changed = edits, changed
	if !rep.Changed {
		return rep, nil
	}
	if w.beforeSave != nil {
		if err := w.beforeSave(); err != nil {
			return rep, err
		}
	}
	return rep, w.Save()
}

// importEdits tries the policy edits, on the Doc only: an edit that fails
// (a rule id clash) stops the import before anything is written. Several
// versions of one rule in one run: the newest becomes pending, whatever
// order the files were named in.
func (w *Workspace) importEdits(todo []pendingImport) (edits []string, changed bool, err error) {
	type imported struct {
		file string
		u    update.Update
	}
	var all []imported
	for _, p := range todo {
		for _, u := range p.pkg.Updates {
			all = append(all, imported{p.file, u})
		}
	}
	slices.SortStableFunc(all, func(a, b imported) int { return a.u.Version.Compare(b.u.Version) })
	for _, im := range all {
		u := im.u
		opts := policy.ImportOptions{DerivedID: u.DerivedID, OnIDConflict: w.OnIDConflict}
		ch, desc, err := w.Doc.ImportVersionWith(opts, u.RuleID, u.Identity, u.UpdateType, u.Version)
		if err != nil {
			return nil, false, fmt.Errorf("nothing imported: %s: %w", im.file, err)
		}
		changed = changed || ch
		edits = append(edits, desc)
	}
	return edits, changed, nil
}

// readPackages reads the packages of one file: its cabinet, or each of
// the cabinets of a file holding several. The closer, when not nil, must
// be closed once the packages are stored.
func readPackages(file string) ([]pendingImport, io.Closer, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if offs, err := cab.Search(f, fi.Size(), 2); err == nil && len(offs) >= 2 {
		rs, err := cab.NewReaders(f, fi.Size())
		if err != nil {
			return nil, f, fmt.Errorf("%s: %w", file, err)
		}
		var out []pendingImport
		var problems []string
		for _, r := range rs {
			name := fmt.Sprintf("%s (the cabinet at offset %d)", file, r.Cabinets[0].Offset)
			if p, err := readPackage(r, name); err != nil {
				problems = append(problems, err.Error())
			} else {
				out = append(out, pendingImport{file: file, r: r, pkg: p})
			}
		}
		if len(problems) > 0 {
			return nil, f, errors.New(strings.Join(problems, "\n"))
		}
		return out, f, nil
	}
	f.Close()
	rc, err := cab.OpenReader(file)
	if err != nil {
		return nil, nil, err
	}
	p, err := readPackage(&rc.Reader, file)
	if err != nil {
		return nil, rc, err
	}
	return []pendingImport{{file: file, r: &rc.Reader, pkg: p}}, rc, nil
}

// readPackage checks one cabinet as a package: a cabinet set is refused,
// an update package being one cabinet.
func readPackage(r *cab.Reader, name string) (*update.Package, error) {
	if len(r.Cabinets) > 1 || r.Cabinets[0].Next != "" || r.Cabinets[0].Prev != "" {
		return nil, fmt.Errorf("%s: a multi-cabinet set; import takes a single cabinet", name)
	}
	return update.ReadCabinet(r, name)
}

// store puts a checked package's cabinet into the store: exactly the
// cabinet's bytes, also when a larger file (a self-extracting program, a
// file holding several cabinets) carries it.
func (w *Workspace) store(p pendingImport) (Stored, error) {
	// The hashes of every file, learnt checking the package, are kept
	// beside it: a build need not decompress the files again.
	name, created, err := w.Store.PutWith(p.r.OpenRaw(), p.pkg.Hashes().Encode())
	if err != nil {
		return Stored{}, fmt.Errorf("storing %s: %w", p.file, err)
	}
	return Stored{File: p.file, Path: w.Store.Path(name), Created: created, Offset: p.r.Cabinets[0].Offset, Updates: len(p.pkg.Updates)}, nil
}
