package htpasswd

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/duws/duws/builder/durable"
	"golang.org/x/crypto/bcrypt"
)

// newFileMode is the mode of a file Add creates: the hashes are for the
// responder's eyes only.
const newFileMode fs.FileMode = 0o600

// maxPasswordLen is where bcrypt stops reading.
const maxPasswordLen = 72

// Add sets user's password in the htpasswd file at path, replacing the
// user's line in place or appending one, and creates the file if it does
// not exist. cost is the bcrypt cost, bcrypt.DefaultCost when 0. The
// password is hashed before the file is locked.
//
// User names must be non-empty, at most 255 bytes, without ':' or
// control characters, and must not start with white space or '#' (the
// line would read back differently); such names wrap [ErrInvalidUser].
// Passwords must be 1 to 72 bytes. A file that does not parse is left
// alone and its error returned.
func Add(path, user, password string, cost int) error {
	if err := checkUser(user); err != nil {
		return err
	}
	cost, err := resolveCost(cost)
	if err != nil {
		return err
	}
	switch {
	case password == "":
		return errors.New("empty password")
	case len(password) > maxPasswordLen:
		return fmt.Errorf("password longer than %d bytes, which bcrypt would ignore", maxPasswordLen)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return err
	}
	hash := string(h)
	if strings.HasPrefix(hash, "$2a$") {
		// Same algorithm; $2y$ is what htpasswd -B writes, so files stay
		// uniform whichever tool added a user.
		hash = "$2y$" + hash[len("$2a$"):]
	}
	if !validBcrypt(hash) {
		return fmt.Errorf("bcrypt produced a hash this package would not read back")
	}
	return edit(path, true, func(t *table) error {
		t.set(user, hash)
		return nil
	})
}

// resolveCost turns 0 into bcrypt.DefaultCost and refuses costs bcrypt
// does not have. bcrypt.GenerateFromPassword would quietly use
// DefaultCost below MinCost; an explicit cost is a decision, so refuse it
// instead.
func resolveCost(cost int) (int, error) {
	if cost == 0 {
		return bcrypt.DefaultCost, nil
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return 0, fmt.Errorf("bcrypt cost %d out of range [%d, %d]", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return cost, nil
}

// Remove deletes user's line from the htpasswd file at path. Removing a
// user who is not there is an error wrapping [ErrNoUser], and leaves the
// file alone.
func Remove(path, user string) error {
	return edit(path, false, func(t *table) error {
		if !t.remove(user) {
			return fmt.Errorf("%s: user %q: %w", path, user, ErrNoUser)
		}
		return nil
	})
}

// List returns the user names in the htpasswd file at path, sorted.
func List(path string) ([]string, error) {
	data, _, err := readFile(path)
	if err != nil {
		return nil, err
	}
	t, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	return t.users(), nil
}

// edit applies change to the file at path under the directory lock and
// writes the result atomically. A missing file is an empty one when
// create is set.
func edit(path string, create bool, change func(*table) error) error {
	// Edit the file a symbolic link points to rather than replacing the
	// link with a file.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	unlock, err := lockDir(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("lock directory of %s: %w", path, err)
	}
	defer unlock()

	data, info, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		data, info, err = nil, nil, nil
	}
	if err != nil {
		return err
	}
	t, err := parse(path, data)
	if err != nil {
		return err
	}
	if err := change(t); err != nil {
		return err
	}
	return writeAtomic(path, t.bytes(), info)
}

// writeAtomic replaces the file at path with data: readers see the old
// file or the new one, never a mix, and an interruption at any point
// leaves the old file intact (at worst with a stray .NAME.tmp-* beside
// it). old describes the file being replaced, whose mode and owner the
// new one keeps; nil means a new file of mode newFileMode.
func writeAtomic(path string, data []byte, old fs.FileInfo) (err error) {
	// The same directory, for the rename to be atomic.
	dir := filepath.Dir(path)
	tmp, err := durable.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Abort()
		}
	}()
	mode := newFileMode
	if old != nil {
		mode = old.Mode().Perm()
		// The responder may read the file as another user than the admin
		// editing it; a new owner could lock it out.
		if err := keepOwner(tmp.File, old); err != nil {
			return fmt.Errorf("keep owner of %s: %w", path, err)
		}
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	// The exact mode rather than a create mode, so that the umask does
	// not apply.
	if err := tmp.Finish(mode, time.Time{}); err != nil {
		return err
	}
	return tmp.Commit(path)
}
