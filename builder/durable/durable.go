// Package durable writes files so that an interruption at any point (a
// crash, a kill, a full disk) leaves either the old state or the new one:
// write under a temporary name in the same directory, flush the file to
// stable storage, rename it into place, flush the directory. Every writer
// of duws (policy, store, trees, htpasswd) goes through it.
//
// Only what was written is flushed, file by file and directory by
// directory, never the whole host.
package durable

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// WriteFile writes data to the file at path atomically: it writes a
// temporary file in the same directory, flushes it to stable storage,
// renames it over path and flushes the directory. Readers see the old
// file or the new one, never a mix, and a write interrupted at any point
// leaves the old file intact (at worst with a stray temporary file
// named .NAME.tmp-* next to it).
//
// The new file gets mode perm exactly: it is set with chmod, so the umask
// does not apply.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return writeFile(path, data, perm, nil)
}

// writeFile is WriteFile with a hook run just before the rename, which
// tests use to simulate an interruption.
func writeFile(path string, data []byte, perm fs.FileMode, beforeRename func(tmp string) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	t, err := CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			t.Abort()
		}
	}()
	if _, err := t.Write(data); err != nil {
		return err
	}
	if err := t.Finish(perm, time.Time{}); err != nil {
		return err
	}
	if beforeRename != nil {
		if err := beforeRename(t.Name()); err != nil {
			return err
		}
	}
	return t.Commit(path)
}

// Temp is a file being written under a temporary name, for a streamed
// write whose final name may be known only at the end (the store names a
// package by its hash). Write to it, then Finish and Commit, or Abort.
type Temp struct {
	*os.File
	finished bool
}

// CreateTemp creates a temporary file in dir, as os.CreateTemp does. dir
// must be the directory of the final name, for the rename to be atomic.
func CreateTemp(dir, pattern string) (*Temp, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	return &Temp{File: f}, nil
}

// Finish sets the file's mode to perm exactly (the umask does not apply)
// and, unless mtime is zero, its modification time, then flushes it to
// stable storage and closes it.
func (t *Temp) Finish(perm fs.FileMode, mtime time.Time) error {
	if err := t.Chmod(perm); err != nil {
		return err
	}
	if !mtime.IsZero() {
		if err := os.Chtimes(t.Name(), mtime, mtime); err != nil {
			return err
		}
	}
	if err := t.Sync(); err != nil {
		return err
	}
	t.finished = true
	return t.Close()
}

// Commit renames the finished file to path, in the same directory, and
// flushes the directory so that the rename survives a crash.
func (t *Temp) Commit(path string) error {
	if err := t.Rename(path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// Rename renames the finished file to path without flushing the
// directory: for a writer that puts many files in one directory and
// flushes it once (with SyncDir) after the last.
func (t *Temp) Rename(path string) error {
	return os.Rename(t.Name(), path)
}

// Abort closes and removes the temporary file. It may be called after
// anything has failed, including Commit.
func (t *Temp) Abort() {
	if !t.finished {
		t.Close()
	}
	os.Remove(t.Name())
}

// WriteNew creates the file at path (which must not be visible to readers
// yet: a file of a directory that is itself renamed into place once
// complete) with data and mode perm (the umask applies, as for
// os.WriteFile), sets its modification time unless mtime is zero, and
// flushes it to stable storage. The directory holding it is the caller's
// to flush.
func WriteNew(path string, data []byte, perm fs.FileMode, mtime time.Time) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && !mtime.IsZero() {
		err = os.Chtimes(path, mtime, mtime)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// SyncDir flushes a directory, so that the creations and renames in it
// survive a crash. Windows cannot open directories for syncing, and does
// not need to.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
