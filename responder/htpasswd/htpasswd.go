// Package htpasswd checks passwords against an Apache htpasswd file of
// bcrypt hashes, and edits such files. A [File] is an [account.Source];
// the responder caches and rate-limits verifications for every source.
//
// # What it promises
//
// A [File] answers [File.Check] from many goroutines without holding a
// lock while hashing. It notices when the file changes (a different
// inode, size or modification time, looked at most once per
// [File.ReloadInterval]) and reloads it, so accounts added with [Add]
// take effect without a restart. A reload that fails keeps the accounts
// loaded before, is logged once per distinct error and is retried at
// every look until it succeeds.
//
// Check costs one bcrypt comparison whether or not the user exists: an
// unknown user is compared against a dummy hash of the cost most common
// in the file, so response times do not tell which users exist.
//
// [Add] and [Remove] rewrite the file atomically (a temporary file in the
// same directory, fsync, rename, fsync of the directory), keep every
// other line, comments and blank lines included, byte for byte, keep the
// mode and owner of an existing file and give a new one mode 0600. Edits
// made through this package at the same time are serialized by a lock on
// the directory (on Unix).
//
// Files written by htpasswd -B are read, and files written here are
// read by Apache and by htpasswd -v.
//
// # Limits
//
//   - Only bcrypt hashes ($2y$, $2b$, $2a$) are accepted. A file with any
//     other hash (htpasswd -m, -s, -d, -p, -2, -5) is rejected as a whole,
//     naming each offending line, rather than letting some accounts
//     silently fail.
//   - A user may appear only once; Apache would silently use the first.
//   - User names are at most 255 bytes and contain no ':' or control
//     characters. Files are at most 16 MiB.
//   - bcrypt reads only the first 72 bytes of a password, here as in
//     Apache. [Add] refuses longer passwords rather than truncating them.
//   - Hashes of several costs in one file make Check take several
//     different times; only the most common one is matched for unknown
//     users.
//   - A program that rewrites the file in place (Apache's htpasswd does)
//     can be caught halfway through; what was read is replaced at the
//     next look, one interval later, or kept out if it does not parse.
//   - The directory lock does not exclude other programs, such as
//     htpasswd or an editor, from writing the file at the same time.
package htpasswd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duws/duws/responder/account"
	"golang.org/x/crypto/bcrypt"
)

// DefaultReloadInterval is how often a [File] looks for changes unless
// told otherwise: often enough that a new account works by the time its
// owner has typed the password into a phone, rarely enough that the stat
// is lost among the bcrypt comparisons.
const DefaultReloadInterval = time.Second

// dummySaltAndHash is the salt and hash of a bcrypt hash of a random
// password that was thrown away. Unknown users are compared against it,
// with the cost put in front, so that they cost a full comparison and can
// never match.
const dummySaltAndHash = "n0MVg7iYBBKcfg3zuwmwaOzUFM73clAOrNTjWX80tEGxQoA.EDcZ."

// A File is an htpasswd file of bcrypt hashes, loaded into memory and
// reloaded when it changes. Its methods are safe for concurrent use.
type File struct {
	// ReloadInterval is how long the File trusts what it loaded before it
	// looks at the file again; zero looks on every call. Open sets it to
	// DefaultReloadInterval. Change it, if at all, before the first Check.
	ReloadInterval time.Duration

	path   string
	logger *slog.Logger
	// now and compare are time.Now and bcrypt.CompareHashAndPassword,
	// replaced by tests to move time and to count comparisons.
	now     func() time.Time
	compare func(hash, password []byte) error

	accounts atomic.Pointer[accounts]
	lastLook atomic.Int64 // UnixNano of the last look at the file

	reloadMu sync.Mutex  // held while looking at and loading the file, never while hashing
	info     fs.FileInfo // what was loaded; nil after a failure, so the next look retries
	lastErr  string      // the last reload error logged, so that it is logged once
}

// accounts is one immutable load of the file.
type accounts struct {
	hashes map[string][]byte
	users  []string // sorted
	dummy  []byte   // compared against for unknown users
}

// Open loads the htpasswd file at path. logger receives reload errors and
// may be nil. The error of a malformed file names every bad line as
// PATH:LINE: MESSAGE and wraps [ErrFormat] or [ErrUnsupportedHash].
func Open(path string, logger *slog.Logger) (*File, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	f := &File{
		ReloadInterval: DefaultReloadInterval,
		path:           path,
		logger:         logger,
		now:            time.Now,
		compare:        bcrypt.CompareHashAndPassword,
	}
	f.reloadMu.Lock()
	defer f.reloadMu.Unlock()
	f.lastLook.Store(f.now().UnixNano())
	if err := f.load(); err != nil {
		return nil, err
	}
	return f, nil
}

// Check reports whether password is user's password. It takes one bcrypt
// comparison whatever the answer. It never logs the user or the
// password; the only thing it may log is a reload of the file.
func (f *File) Check(user, password string) bool {
	f.maybeReload()
	a := f.accounts.Load()
	hash, known := a.hashes[user]
	if !known {
		hash = a.dummy
	}
	err := f.compare(hash, []byte(password))
	return known && err == nil
}

// SourceName is the Name of a File as an account source.
const SourceName = "htpasswd"

// Name implements [account.Source].
func (f *File) Name() string { return SourceName }

// Verify implements [account.Source]: a Result naming user when password
// is user's password, else an error wrapping [account.ErrInvalid]. It
// takes one bcrypt comparison whatever the answer, and never reports
// [account.ErrUnavailable]: a file that cannot be reloaded keeps the
// accounts loaded before.
func (f *File) Verify(_ context.Context, user, password string) (account.Result, error) {
	if !f.Check(user, password) {
		return account.Result{}, fmt.Errorf("htpasswd %s: unknown user or wrong password: %w", f.path, account.ErrInvalid)
	}
	return account.Result{Account: user, Source: SourceName}, nil
}

// Users returns the user names, sorted.
func (f *File) Users() []string {
	f.maybeReload()
	return slices.Clone(f.accounts.Load().users)
}

// maybeReload looks at the file if ReloadInterval has passed since the
// last look, and reloads it if it changed. Callers that find another
// goroutine already looking go on with the accounts they have rather
// than wait for it.
func (f *File) maybeReload() {
	due := func(now time.Time) bool {
		return now.Sub(time.Unix(0, f.lastLook.Load())) >= f.ReloadInterval
	}
	if !due(f.now()) || !f.reloadMu.TryLock() {
		return
	}
	defer f.reloadMu.Unlock()
	now := f.now()
	if !due(now) { // another goroutine looked meanwhile
		return
	}
	f.lastLook.Store(now.UnixNano())
	fi, err := os.Stat(f.path)
	if err == nil && f.info != nil && sameVersion(f.info, fi) {
		return
	}
	if err == nil {
		err = f.load()
	}
	if err != nil {
		f.info = nil
		if msg := err.Error(); msg != f.lastErr {
			f.lastErr = msg
			f.logger.Error("htpasswd reload failed, keeping the accounts loaded before",
				"path", f.path, "err", err)
		}
		return
	}
	f.lastErr = ""
	f.logger.Info("htpasswd reloaded", "path", f.path, "users", len(f.accounts.Load().users))
}

// sameVersion reports whether a and b describe the same version of a
// file. An atomic rewrite is a new inode; an in-place one changes the
// size or the modification time.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// load reads and parses the file and publishes its accounts. The caller
// holds reloadMu.
func (f *File) load() error {
	data, info, err := readFile(f.path)
	if err != nil {
		return err
	}
	t, err := parse(f.path, data)
	if err != nil {
		return err
	}
	a := &accounts{hashes: make(map[string][]byte, len(t.index)), users: t.users()}
	costs := make(map[int]int)
	for _, l := range t.lines {
		if l.user != "" {
			a.hashes[l.user] = []byte(l.hash)
			cost, _ := hashCost(l.hash)
			costs[cost]++
		}
	}
	a.dummy = dummyHash(commonCost(costs))
	f.accounts.Store(a)
	f.info = info
	return nil
}

// commonCost returns the most common cost, the higher on a tie, or
// bcrypt.DefaultCost for an empty file.
func commonCost(costs map[int]int) int {
	best, n := bcrypt.DefaultCost, 0
	for _, c := range slices.Sorted(maps.Keys(costs)) {
		if costs[c] >= n {
			best, n = c, costs[c]
		}
	}
	return best
}

// dummyHash returns a bcrypt hash of the given cost that no password is
// known to match.
func dummyHash(cost int) []byte {
	return fmt.Appendf(nil, "$2y$%02d$%s", cost, dummySaltAndHash)
}

// readFile reads the file at path, refusing one bigger than maxFileSize,
// and returns the FileInfo of what it read.
func readFile(path string) ([]byte, fs.FileInfo, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	var b bytes.Buffer
	if _, err := io.Copy(&b, io.LimitReader(fh, maxFileSize+1)); err != nil {
		return nil, nil, err
	}
	if b.Len() > maxFileSize {
		return nil, nil, fmt.Errorf("%s: bigger than %d MiB, not an htpasswd file", path, maxFileSize>>20)
	}
	return b.Bytes(), info, nil
}
