package workspace

import (
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

// pendingImport is a checked package waiting to be stored.
type pendingImport struct {
	file string
	r    *cab.ReadCloser
	pkg  *update.Package
}

// Import imports update packages (UCUpdates.cab, or UCUpdates.exe holding
// one): new versions become pending. Every package is checked in full and
// every policy edit tried before anything is written; then the packages
// are stored, then the policy is saved (only when it changed).
func (w *Workspace) Import(files []string) (Report, error) {
	var rep Report
	// Check every package in full before storing anything.
	var todo []pendingImport
	defer func() {
		for _, p := range todo {
			p.r.Close()
		}
	}()
	var problems []string
	for _, file := range files {
		r, err := cab.OpenReader(file)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if len(r.Cabinets) > 1 || r.Cabinets[0].Next != "" || r.Cabinets[0].Prev != "" {
			r.Close()
			problems = append(problems, fmt.Sprintf("%s: a multi-cabinet set; import takes a single cabinet", file))
			continue
		}
		pkg, err := update.ReadCabinet(&r.Reader, file)
		if err != nil {
			r.Close()
			problems = append(problems, err.Error())
			continue
		}
		todo = append(todo, pendingImport{file: file, r: r, pkg: pkg})
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

// store puts a checked package's cabinet into the store.
func (w *Workspace) store(p pendingImport) (Stored, error) {
	c := p.r.Cabinets[0]
	f, err := os.Open(p.file)
	if err != nil {
		return Stored{}, err
	}
	defer f.Close()
	raw, err := cabinetBytes(f, c.Offset, c.Size)
	if err != nil {
		return Stored{}, err
	}
	// The hashes of every file, learnt checking the package, are kept
	// beside it: a build need not decompress the files again.
	name, created, err := w.Store.PutWith(raw, p.pkg.Hashes().Encode())
	if err != nil {
		return Stored{}, fmt.Errorf("storing %s: %w", p.file, err)
	}
	return Stored{File: p.file, Path: w.Store.Path(name), Created: created, Offset: c.Offset, Updates: len(p.pkg.Updates)}, nil
}

// cabinetBytes returns the bytes of the cabinet at offset in f, size
// bytes long as its header says, or up to the end of f.
//
// TODO: use (*cab.Reader).OpenRaw, which gives the cabinet's bytes within
// the larger file, once builder/cab has it; then the store reads the open
// reader and import stops re-opening the file.
func cabinetBytes(f *os.File, offset, size int64) (io.Reader, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(f, offset, min(size, fi.Size()-offset)), nil
}
