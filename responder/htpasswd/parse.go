package htpasswd

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// Sentinel errors, for use with [errors.Is].
var (
	// ErrFormat reports a line that is not a comment, a blank line or
	// USER:HASH, or that repeats a user.
	ErrFormat = errors.New("malformed line")
	// ErrUnsupportedHash reports a well-formed line whose hash is not bcrypt.
	ErrUnsupportedHash = errors.New("unsupported password hash")
	// ErrNoUser reports that a user is not in the file.
	ErrNoUser = errors.New("no such user")
	// ErrInvalidUser reports a user name that cannot be stored in an
	// htpasswd file.
	ErrInvalidUser = errors.New("invalid user name")
)

const (
	// maxFileSize bounds what is read: 16 MiB holds about 200,000 bcrypt
	// accounts, so anything bigger is the wrong file (a log, a disk image)
	// and must not be read into memory.
	maxFileSize = 16 << 20
	// maxUserLen is Apache htpasswd's own limit, in bytes.
	maxUserLen = 255
	// maxErrors bounds how many bad lines one error lists, so that opening
	// the wrong file does not print it back line by line.
	maxErrors = 10
	// bcryptLen is the length of "$2y$NN$" plus 22 characters of salt and
	// 31 of hash.
	bcryptLen = 60
	// bcryptAlphabet is bcrypt's own base64 alphabet.
	bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	// bom is the UTF-8 byte order mark some Windows editors put first.
	bom = "\ufeff"
	// space is what Apache's line reader trims from both ends of a line.
	space = " \t\r\v\f"
)

// A line is one line of an htpasswd file, kept as written so that edits
// leave every other line byte for byte as it was.
type line struct {
	text string // without the line ending
	eol  string // "\n", "\r\n", or "" for a last line without one
	user string // "" for comments and blank lines
	hash string
}

// A table is a parsed htpasswd file.
type table struct {
	bom   string // a leading byte order mark, kept on rewrite
	lines []line
	index map[string]int // user → index into lines
}

// parse parses an htpasswd file named name (used only in errors). It
// reports every bad line, up to maxErrors, as NAME:LINE: MESSAGE.
func parse(name string, data []byte) (*table, error) {
	t := &table{index: make(map[string]int)}
	rest := string(data)
	if strings.HasPrefix(rest, bom) {
		t.bom, rest = bom, rest[len(bom):]
	}
	var errs []error
	bad := 0
	for n := 1; rest != ""; n++ {
		var l line
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			l.text, l.eol, rest = rest[:i], "\n", rest[i+1:]
			if strings.HasSuffix(l.text, "\r") {
				l.text, l.eol = l.text[:len(l.text)-1], "\r\n"
			}
		} else {
			l.text, rest = rest, ""
		}
		if err := l.parse(); err != nil {
			bad++
			if bad <= maxErrors {
				errs = append(errs, fmt.Errorf("%s:%d: %w", name, n, err))
			}
		} else if l.user != "" {
			if first, dup := t.index[l.user]; dup {
				bad++
				if bad <= maxErrors {
					errs = append(errs, fmt.Errorf("%s:%d: %w: user %q already on line %d", name, n, ErrFormat, l.user, first+1))
				}
			} else {
				t.index[l.user] = len(t.lines)
			}
		}
		t.lines = append(t.lines, l)
	}
	if bad > maxErrors {
		errs = append(errs, fmt.Errorf("%s: %d more bad lines", name, bad-maxErrors))
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

// parse reads l.text as Apache does: surrounding white space is ignored,
// blank lines and lines starting with '#' are comments, and the user name
// ends at the first ':'.
func (l *line) parse() error {
	s := strings.Trim(l.text, space)
	if s == "" || s[0] == '#' {
		return nil
	}
	user, hash, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("%w: no ':' between user name and password hash", ErrFormat)
	}
	if err := checkUser(user); err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if err := checkHash(hash); err != nil {
		return fmt.Errorf("user %q: %w", user, err)
	}
	l.user, l.hash = user, hash
	return nil
}

// checkUser reports whether user can be written as the start of a line
// and read back unchanged, by this package and by Apache.
func checkUser(user string) error {
	switch {
	case user == "":
		return fmt.Errorf("%w: empty", ErrInvalidUser)
	case len(user) > maxUserLen:
		return fmt.Errorf("%w: longer than %d bytes", ErrInvalidUser, maxUserLen)
	case strings.Contains(user, ":"):
		return fmt.Errorf("%w %q: contains ':'", ErrInvalidUser, user)
	case strings.IndexFunc(user, unicode.IsControl) >= 0:
		return fmt.Errorf("%w %q: contains a control character", ErrInvalidUser, user)
	case strings.ContainsAny(user[:1], space+"#"):
		// The line would read back as a comment or with the user trimmed.
		return fmt.Errorf("%w %q: starts with white space or '#'", ErrInvalidUser, user)
	case strings.HasPrefix(user, bom):
		return fmt.Errorf("%w %q: starts with a byte order mark", ErrInvalidUser, user)
	}
	return nil
}

// checkHash accepts exactly the bcrypt hashes written by htpasswd -B and
// by this package, and names the scheme of anything else without quoting
// the hash, which is a secret of sorts.
func checkHash(hash string) error {
	if strings.HasPrefix(hash, "$2") {
		if !validBcrypt(hash) {
			return fmt.Errorf("%w: malformed bcrypt hash", ErrFormat)
		}
		return nil
	}
	scheme := "crypt(3) or plain text"
	switch {
	case hash == "":
		scheme = "none (empty password field)"
	case strings.HasPrefix(hash, "$apr1$"):
		scheme = "Apache MD5 ($apr1$, htpasswd -m)"
	case strings.HasPrefix(hash, "{SHA}"):
		scheme = "SHA-1 ({SHA}, htpasswd -s)"
	case strings.HasPrefix(hash, "$1$"):
		scheme = "MD5-crypt ($1$)"
	case strings.HasPrefix(hash, "$5$"):
		scheme = "SHA-256-crypt ($5$, htpasswd -2)"
	case strings.HasPrefix(hash, "$6$"):
		scheme = "SHA-512-crypt ($6$, htpasswd -5)"
	case strings.HasPrefix(hash, "$"):
		scheme = "unknown crypt scheme"
	}
	return fmt.Errorf("%w: %s; only bcrypt (htpasswd -B) is supported", ErrUnsupportedHash, scheme)
}

// validBcrypt reports whether hash is $2a$, $2b$ or $2y$ (one algorithm,
// named differently over the years), a cost bcrypt allows, and salt and
// hash in bcrypt's alphabet.
func validBcrypt(hash string) bool {
	if len(hash) != bcryptLen || hash[0] != '$' || hash[1] != '2' ||
		!strings.ContainsRune("aby", rune(hash[2])) || hash[3] != '$' || hash[6] != '$' {
		return false
	}
	cost, ok := hashCost(hash)
	if !ok || cost < 4 || cost > 31 {
		return false
	}
	for i := 7; i < len(hash); i++ {
		if strings.IndexByte(bcryptAlphabet, hash[i]) < 0 {
			return false
		}
	}
	return true
}

// hashCost returns the cost field of a bcrypt hash.
func hashCost(hash string) (int, bool) {
	if len(hash) < 7 {
		return 0, false
	}
	d1, d2 := hash[4], hash[5]
	if d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9' {
		return 0, false
	}
	return int(d1-'0')*10 + int(d2-'0'), true
}

// users returns the user names, sorted.
func (t *table) users() []string {
	users := make([]string, 0, len(t.index))
	for u := range t.index {
		users = append(users, u)
	}
	slices.Sort(users)
	return users
}

// set replaces user's line, keeping its place and line ending, or appends
// one in the file's line-ending style.
func (t *table) set(user, hash string) {
	text := user + ":" + hash
	if i, ok := t.index[user]; ok {
		t.lines[i].text, t.lines[i].hash = text, hash
		return
	}
	nl := t.newline()
	if n := len(t.lines); n > 0 && t.lines[n-1].eol == "" {
		t.lines[n-1].eol = nl
	}
	t.index[user] = len(t.lines)
	t.lines = append(t.lines, line{text: text, eol: nl, user: user, hash: hash})
}

// remove deletes user's line and reports whether there was one.
func (t *table) remove(user string) bool {
	i, ok := t.index[user]
	if !ok {
		return false
	}
	t.lines = slices.Delete(t.lines, i, i+1)
	delete(t.index, user)
	for u, j := range t.index {
		if j > i {
			t.index[u] = j - 1
		}
	}
	return true
}

// newline is "\r\n" when the file's first line ends so, else "\n".
func (t *table) newline() string {
	for _, l := range t.lines {
		if l.eol != "" {
			return l.eol
		}
	}
	return "\n"
}

// bytes returns the file's contents.
func (t *table) bytes() []byte {
	var b strings.Builder
	b.WriteString(t.bom)
	for _, l := range t.lines {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return []byte(b.String())
}
