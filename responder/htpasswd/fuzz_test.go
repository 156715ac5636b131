package htpasswd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks, beyond not panicking, that an accepted file is kept
// byte for byte, that its accounts survive being written out anew, and
// that removing and adding a user touch nothing else.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.htpasswd"))
	if err != nil {
		f.Fatal(err)
	}
	seeds := 0
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		seeds++
	}
	for _, s := range []string{
		"",
		"\n\r\n",
		bom + "# c\r\nalice:" + aliceHash,
		"alice:" + aliceHash + "\nalice:" + bobHash + "\n",
		"alice " + aliceHash + "\n",
		":" + aliceHash + "\n",
		"  bob:" + bobHash + " \t\r",
		"a:b:c\n",
		"\x00:" + aliceHash,
	} {
		f.Add([]byte(s))
		seeds++
	}
	if seeds == 0 || len(files) == 0 {
		f.Fatal("empty seed corpus: testdata/*.htpasswd missing")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := parse("fuzz", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		if got := tab.bytes(); string(got) != string(data) {
			t.Fatalf("bytes() = %q, want the input", got)
		}
		accounts := func(t *table) map[string]string {
			m := make(map[string]string)
			for i, l := range t.lines {
				if l.user != "" {
					m[l.user] = l.hash
					if t.index[l.user] != i {
						panic("index out of step with lines")
					}
				}
			}
			if len(m) != len(t.index) {
				panic("index has users without lines")
			}
			return m
		}
		want := accounts(tab)

		// Written out anew, the accounts read back the same.
		var canon strings.Builder
		for _, u := range tab.users() {
			canon.WriteString(u + ":" + want[u] + "\n")
		}
		back, err := parse("canon", []byte(canon.String()))
		if err != nil {
			t.Fatalf("canonical form does not parse: %v\n%q", err, canon.String())
		}
		if diff := cmp.Diff(want, accounts(back)); diff != "" {
			t.Fatalf("canonical round trip (-want +got):\n%s", diff)
		}

		// Removing the first user and adding one back changes only them.
		users := tab.users()
		if len(users) == 0 {
			return
		}
		gone := users[0]
		tab.remove(gone)
		tab.set("fuzz-added", aliceHash)
		edited, err := parse("edited", tab.bytes())
		if err != nil {
			t.Fatalf("edited file does not parse: %v", err)
		}
		delete(want, gone)
		want["fuzz-added"] = aliceHash
		if diff := cmp.Diff(want, accounts(edited)); diff != "" {
			t.Fatalf("accounts after edit (-want +got):\n%s", diff)
		}
	})
}
