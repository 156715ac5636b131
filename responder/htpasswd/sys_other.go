//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package htpasswd

import (
	"io/fs"
	"os"
)

// lockDir does nothing here: concurrent edits can lose one another's
// change on this platform.
func lockDir(dir string) (unlock func(), err error) {
	return func() {}, nil
}

// keepOwner does nothing: ownership is not a mode and uid here.
func keepOwner(tmp *os.File, old fs.FileInfo) error {
	return nil
}
