//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package htpasswd

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on dir, which every edit through this
// package takes before reading the file, so that two edits at once do
// not lose one another's change. The lock is on the directory because
// the file itself is replaced by each edit. unlock releases it.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(d.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		d.Close()
		return nil, &fs.PathError{Op: "flock", Path: dir, Err: err}
	}
	return func() { d.Close() }, nil // closing releases the lock
}

// keepOwner gives tmp the owner and group of old when they differ. It
// fails when not permitted (not root, not a member of the group), rather
// than leave a file the responder may no longer be able to read.
func keepOwner(tmp *os.File, old fs.FileInfo) error {
	want, ok := old.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	fi, err := tmp.Stat()
	if err != nil {
		return err
	}
	have, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || (have.Uid == want.Uid && have.Gid == want.Gid) {
		return nil
	}
	return tmp.Chown(int(want.Uid), int(want.Gid))
}
