package policy

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
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
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if beforeRename != nil {
		if err := beforeRename(tmp); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir flushes a directory, so that a rename in it survives a crash.
// Windows cannot open directories for syncing, and does not need to.
func syncDir(dir string) error {
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
