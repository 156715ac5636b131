package htpasswd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Hashes made by htpasswd -B -C 4 (alice-pw, bob-pw) and -C 5 (carol-pw).
const (
	aliceHash = "$2y$04$x1vzZb2uAcwoxW9iF5OEH.bSk016ZZSQXKZ03LHRe.I/g2NgQ9hZ2"
	bobHash   = "$2y$04$qqPaTJhrvjcc25mF2aPZ8.nKNw64Q4s/q5GytNBVa98WILHWVKC/u"
	carolHash = "$2y$05$5jEwdgXH8Y53EoiE3VOVnu.IPpu5IhicuXZ7zIpK2VrqlDzYPz4vG"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		data string
		want map[string]string // user → hash
		errs []string          // substrings of the error, in order; nil for success
		is   error
	}{
		{name: "empty", data: "", want: map[string]string{}},
		{
			name: "one user",
			data: "alice:" + aliceHash + "\n",
			want: map[string]string{"alice": aliceHash},
		},
		{
			name: "no final newline",
			data: "alice:" + aliceHash + "\nbob:" + bobHash,
			want: map[string]string{"alice": aliceHash, "bob": bobHash},
		},
		{
			name: "comments and blank lines",
			data: "# accounts\n\n  # indented\n\t\nalice:" + aliceHash + "\n\n#bob:" + bobHash + "\n",
			want: map[string]string{"alice": aliceHash},
		},
		{
			name: "CRLF",
			data: "# accounts\r\nalice:" + aliceHash + "\r\nbob:" + bobHash + "\r\n",
			want: map[string]string{"alice": aliceHash, "bob": bobHash},
		},
		{
			name: "surrounding white space, as Apache trims it",
			data: "  alice:" + aliceHash + " \t\n",
			want: map[string]string{"alice": aliceHash},
		},
		{
			name: "byte order mark",
			data: bom + "alice:" + aliceHash + "\n",
			want: map[string]string{"alice": aliceHash},
		},
		{
			name: "spaces and UTF-8 in names",
			data: "carol smith:" + carolHash + "\nzoë:" + bobHash + "\n",
			want: map[string]string{"carol smith": carolHash, "zoë": bobHash},
		},
		{
			name: "all bcrypt prefixes",
			data: "a:$2a$" + aliceHash[4:] + "\nb:$2b$" + aliceHash[4:] + "\ny:" + aliceHash + "\n",
			want: map[string]string{"a": "$2a$" + aliceHash[4:], "b": "$2b$" + aliceHash[4:], "y": aliceHash},
		},
		{
			name: "missing colon",
			data: "# ok\nalice " + aliceHash + "\n",
			errs: []string{`users:2: malformed line: no ':'`},
			is:   ErrFormat,
		},
		{
			name: "empty user",
			data: ":" + aliceHash + "\n",
			errs: []string{`users:1: malformed line: invalid user name: empty`},
			is:   ErrFormat,
		},
		{
			name: "control character in user",
			data: "al\x00ice:" + aliceHash + "\n",
			errs: []string{`users:1: malformed line: invalid user name "al\x00ice": contains a control character`},
			is:   ErrInvalidUser,
		},
		{
			name: "long user",
			data: strings.Repeat("u", 256) + ":" + aliceHash + "\n",
			errs: []string{`users:1: malformed line: invalid user name: longer than 255 bytes`},
			is:   ErrFormat,
		},
		{
			name: "duplicate user",
			data: "alice:" + aliceHash + "\n\nalice:" + bobHash + "\n",
			errs: []string{`users:3: malformed line: user "alice" already on line 1`},
			is:   ErrFormat,
		},
		{
			name: "truncated bcrypt hash",
			data: "alice:" + aliceHash[:59] + "\n",
			errs: []string{`users:1: user "alice": malformed line: malformed bcrypt hash`},
			is:   ErrFormat,
		},
		{
			name: "bcrypt cost out of range",
			data: "alice:$2y$03$" + aliceHash[7:] + "\n",
			errs: []string{`users:1: user "alice": malformed line: malformed bcrypt hash`},
			is:   ErrFormat,
		},
		{
			name: "bcrypt $2x$ variant",
			data: "alice:$2x$" + aliceHash[4:] + "\n",
			errs: []string{`malformed bcrypt hash`},
			is:   ErrFormat,
		},
		{
			name: "character outside bcrypt alphabet",
			data: "alice:" + aliceHash[:59] + "+\n",
			errs: []string{`malformed bcrypt hash`},
			is:   ErrFormat,
		},
		{
			name: "extra field",
			data: "alice:" + aliceHash + ":comment\n",
			errs: []string{`malformed bcrypt hash`},
			is:   ErrFormat,
		},
		{
			name: "every bad line reported",
			data: "a\nalice:" + aliceHash + "\nb\n",
			errs: []string{"users:1: malformed line", "\nusers:3: malformed line"},
			is:   ErrFormat,
		},
		{
			name: "bad lines beyond the limit counted",
			data: strings.Repeat("x\n", 13),
			errs: []string{"users:10: malformed line", "\nusers: 3 more bad lines"},
			is:   ErrFormat,
		},
		{
			name: "empty hash",
			data: "alice:\n",
			errs: []string{`users:1: user "alice": unsupported password hash: none (empty password field); only bcrypt (htpasswd -B) is supported`},
			is:   ErrUnsupportedHash,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := parse("users", []byte(tt.data))
			if tt.errs != nil {
				if err == nil {
					t.Fatalf("parse succeeded, want error containing %q", tt.errs)
				}
				msg := err.Error()
				for _, want := range tt.errs {
					i := strings.Index(msg, want)
					if i < 0 {
						t.Fatalf("error %q does not contain %q", msg, want)
					}
					msg = msg[i+len(want):]
				}
				if !errors.Is(err, tt.is) {
					t.Errorf("error %q is not %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := make(map[string]string)
			for _, l := range tab.lines {
				if l.user != "" {
					got[l.user] = l.hash
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("accounts (-want +got):\n%s", diff)
			}
			if got := string(tab.bytes()); got != tt.data {
				t.Errorf("bytes() = %q, want the input %q", got, tt.data)
			}
		})
	}
}

// TestParseUnsupportedHashes reads a file of every other scheme htpasswd
// can write: each line is reported, named, and no hash is quoted.
func TestParseUnsupportedHashes(t *testing.T) {
	path := filepath.Join("testdata", "unsupported.htpasswd")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = parse(path, data)
	if !errors.Is(err, ErrUnsupportedHash) {
		t.Fatalf("parse: %v, want ErrUnsupportedHash", err)
	}
	want := []string{
		path + `:1: user "md5": unsupported password hash: Apache MD5 ($apr1$, htpasswd -m); only bcrypt (htpasswd -B) is supported`,
		path + `:2: user "sha": unsupported password hash: SHA-1 ({SHA}, htpasswd -s); only bcrypt (htpasswd -B) is supported`,
		path + `:3: user "crypt": unsupported password hash: crypt(3) or plain text; only bcrypt (htpasswd -B) is supported`,
		path + `:4: user "plain": unsupported password hash: crypt(3) or plain text; only bcrypt (htpasswd -B) is supported`,
		path + `:5: user "sha256": unsupported password hash: SHA-256-crypt ($5$, htpasswd -2); only bcrypt (htpasswd -B) is supported`,
		path + `:6: user "sha512": unsupported password hash: SHA-512-crypt ($6$, htpasswd -5); only bcrypt (htpasswd -B) is supported`,
	}
	if diff := cmp.Diff(want, strings.Split(err.Error(), "\n")); diff != "" {
		t.Errorf("error lines (-want +got):\n%s", diff)
	}
	if strings.Contains(err.Error(), "plain-pw") {
		t.Errorf("error quotes a password: %v", err)
	}
}

// TestParseTestdata reads the files made by Apache's htpasswd.
func TestParseTestdata(t *testing.T) {
	want := []string{"alice", "bob", "carol smith"}
	for _, name := range []string{"apache.htpasswd", "comments.htpasswd", "crlf.htpasswd"} {
		t.Run(name, func(t *testing.T) {
			got, err := List(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("users (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTableEdits(t *testing.T) {
	const newHash = "$2y$04$" + "n0MVg7iYBBKcfg3zuwmwaOzUFM73clAOrNTjWX80tEGxQoA.EDcZ."
	tests := []struct {
		name   string
		data   string
		edit   func(*table)
		want   string
		wantOK bool
	}{
		{
			name: "append to empty",
			data: "",
			edit: func(t *table) { t.set("dave", newHash) },
			want: "dave:" + newHash + "\n",
		},
		{
			name: "append after a last line without newline",
			data: "# c\nalice:" + aliceHash,
			edit: func(t *table) { t.set("dave", newHash) },
			want: "# c\nalice:" + aliceHash + "\ndave:" + newHash + "\n",
		},
		{
			name: "append keeps CRLF",
			data: "# c\r\nalice:" + aliceHash + "\r\n",
			edit: func(t *table) { t.set("dave", newHash) },
			want: "# c\r\nalice:" + aliceHash + "\r\ndave:" + newHash + "\r\n",
		},
		{
			name: "replace in place",
			data: "# c\n\n  alice:" + aliceHash + "  \r\n# after\nbob:" + bobHash,
			edit: func(t *table) { t.set("alice", newHash) },
			want: "# c\n\nalice:" + newHash + "\r\n# after\nbob:" + bobHash,
		},
		{
			name: "remove keeps the rest",
			data: bom + "# c\nalice:" + aliceHash + "\n\nbob:" + bobHash + "\n# end",
			edit: func(t *table) { t.remove("alice") },
			want: bom + "# c\n\nbob:" + bobHash + "\n# end",
		},
		{
			name: "remove then set",
			data: "alice:" + aliceHash + "\nbob:" + bobHash + "\ncarol smith:" + carolHash + "\n",
			edit: func(t *table) { t.remove("alice"); t.set("bob", newHash) },
			want: "bob:" + newHash + "\ncarol smith:" + carolHash + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := parse("users", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(tab)
			if got := string(tab.bytes()); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
			back, err := parse("users", tab.bytes())
			if err != nil {
				t.Fatalf("edited file does not parse: %v", err)
			}
			if diff := cmp.Diff(tab.users(), back.users()); diff != "" {
				t.Errorf("users after reparse (-edited +reparsed):\n%s", diff)
			}
		})
	}
}
