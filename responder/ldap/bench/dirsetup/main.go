// Command dirsetup prepares the benchmark's directory: the test
// directory of package ldaptest plus many accounts, loaded but not
// started, and the wrk scripts that log in as them. It prints what the
// benchmark script needs as shell assignments.
package main

import (
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/duws/duws/responder/ldap/ldaptest"
)

func main() {
	dir := flag.String("dir", "", "the `DIR` to prepare it in")
	users := flag.Int("users", 20000, "how many extra accounts (user00000, password pw-user00000, ...)")
	body := flag.String("body", "", "`FILE` with the check body the wrk scripts POST")
	flag.Parse()
	if *dir == "" || *body == "" {
		log.Fatal("dirsetup: give -dir and -body")
	}
	check, err := os.ReadFile(*body)
	if err != nil {
		log.Fatal(err)
	}
	extra := make([]ldaptest.User, *users)
	auths := make([]string, *users)
	for i := range extra {
		name := fmt.Sprintf("user%05d", i)
		extra[i] = ldaptest.User{RDN: "uid=" + name, UID: name, Password: "pw-" + name}
		auths[i] = basic(name, "pw-"+name)
	}
	s, err := ldaptest.Prepare(*dir, extra)
	if err != nil {
		log.Fatalf("dirsetup: %v", err)
	}
	script := func(name string, auths []string) {
		var b strings.Builder
		fmt.Fprintf(&b, "wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"text/xml; charset=utf-8\"\nwrk.body = [[%s]]\n", strings.TrimSpace(string(check)))
		b.WriteString("local auths = {\n")
		for _, a := range auths {
			fmt.Fprintf(&b, "%q,\n", a)
		}
		// Each of wrk's two threads (bench.sh runs -t2) starts at its
		// own half of the accounts, so that no two requests present the
		// same credentials until the accounts run out.
		b.WriteString(`}
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) i = (id or 0) * math.floor(#auths / 2) end
function request()
	i = i % #auths + 1
	wrk.headers["Authorization"] = auths[i]
	return wrk.format()
end
`)
		if err := os.WriteFile(filepath.Join(*dir, name), []byte(b.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	script("warm.lua", []string{basic("alice", "alice-pw")})
	script("cold.lua", auths)
	script("htpasswd.lua", []string{basic("lab-phone", "lab-pw")})
	fmt.Printf("slapd=%q\nconf=%q\nldaps=%q\nca=%q\nbind_dn=%q\nbind_pw=%q\nbase=%q\n",
		s.Slapd, s.Conf, s.LDAPSAddr, s.CAFile, ldaptest.BindDN, ldaptest.BindPassword, ldaptest.BaseDN)
}

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}
