// Package workspace is an administrator's working copy: a policy file and
// the package store beside it, and the transactions that change them
// together (import, clean). Every change is all or nothing: each package is
// checked in full and every policy edit is tried in memory before anything
// is written; packages are stored before the policy that refers to them is
// saved, so an interruption leaves the old state intact, at most with a
// package no rule refers to yet (a second import adopts it, clean removes
// it).
package workspace

import (
	"os"
	"path/filepath"

	"github.com/duws/duws/builder/durable"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/store"
	"github.com/duws/duws/builder/update"
)

// Workspace is a loaded policy and the store beside it.
type Workspace struct {
	Path  string // the policy file
	Doc   *policy.Doc
	Store *store.Store
	// OnIDConflict says what Import does with a package naming another
	// rule id than the policy holds for the same device.
	OnIDConflict policy.IDConflict

	// beforeSave, when set, runs as Import is about to save the policy:
	// tests inject a failure there.
	beforeSave func() error
}

// StoreDir is where the store of the policy at policyPath lives: its
// packages key, relative to the policy file's directory unless absolute.
// It is the one rule every command follows.
func StoreDir(policyPath, packages string) string {
	if filepath.IsAbs(packages) {
		return packages
	}
	return filepath.Join(filepath.Dir(policyPath), packages)
}

// Open loads the policy at policyPath.
func Open(policyPath string) (*Workspace, error) {
	doc, err := policy.Load(policyPath)
	if err != nil {
		return nil, err
	}
	dir := StoreDir(policyPath, doc.Policy().Packages)
	return &Workspace{Path: policyPath, Doc: doc, Store: &store.Store{Dir: dir}}, nil
}

// Check verifies that every version the policy names is in the store.
func (w *Workspace) Check() (*update.Catalog, error) {
	cat, err := update.ScanStore(w.Store)
	if err != nil {
		return nil, err
	}
	if err := w.Doc.Policy().CheckVersions(cat.Versions); err != nil {
		return nil, w.Store.ExplainMissing(err)
	}
	return cat, nil
}

// Save writes the policy back atomically, keeping the file's mode.
func (w *Workspace) Save() error {
	b, err := w.Doc.Bytes()
	if err != nil {
		return err
	}
	perm := os.FileMode(0o644)
	if fi, err := os.Stat(w.Path); err == nil {
		perm = fi.Mode().Perm()
	}
	return durable.WriteFile(w.Path, b, perm)
}
