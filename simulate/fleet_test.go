package simulate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/builder/device"
	"github.com/duws/duws/builder/site"
	"github.com/google/go-cmp/cmp"
)

func testTree() *Tree {
	t := &Tree{byKey: map[string]*site.Lookup{}, Devices: site.Devices{
		MACs: map[string]string{"0004f2123456": "global"}, Serials: map[string]string{"4120A0099871": "Dublin"}}}
	for _, l := range []*site.Lookup{
		{Identity: "UCPhone/Polycom/CX600/A/ENU", UpdateType: "CPE",
			Production: site.Table{Target: "4.0.7577.4363", Versions: map[string]int{"4.0.7577.4100": 0, "4.0.7577.4363": 0, "4.0.7577.4398": 0}},
			Test:       site.Table{Target: "4.0.7577.4398"}},
		{Identity: "UCPhone/HP/4120/A/ENU", UpdateType: "CPE",
			Production: site.Table{Target: "4.0.7577.4366", Versions: map[string]int{"4.0.7577.4366": 0}},
			Test:       site.Table{Target: "4.0.7577.4398"}},
	} {
		t.Tables = append(t.Tables, l)
		t.byKey[tableKey(l.Identity, l.UpdateType)] = l
	}
	return t
}

func TestGenerate(t *testing.T) {
	tr := testTree()
	mix := Mix{Phones: 500, Outside: 20, NoUser: 30, WrongPassword: 50, Newer: 10, Users: []string{"alice", "bob"}, Seed: 3, Start: epoch}
	f, err := Generate(tr, mix)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := Generate(tr, mix)
	if diff := cmp.Diff(f, again); diff != "" {
		t.Errorf("the same mix gave another fleet (-first +second):\n%s", diff)
	}
	if err := f.Check(); err != nil {
		t.Errorf("a made-up fleet does not pass its own check: %v", err)
	}
	macs, serials := map[string]bool{}, map[string]bool{}
	count := map[string]int{}
	for _, p := range f.Phones {
		mac, _ := device.NormalizeMAC(p.MAC)
		serial, _ := device.NormalizeSerial(p.Serial)
		if macs[mac] || serials[serial] {
			t.Errorf("%s: MAC %s or serial %s used twice", p.Name, p.MAC, p.Serial)
		}
		macs[mac], serials[serial] = true, true
		if tr.Audience(p, "Dublin") == site.Test {
			count["test"]++
		}
		if p.Outside {
			count["outside"]++
		}
		if p.User == "" {
			count["no user"]++
		}
		if p.WrongPassword {
			count["wrong password"]++
			if !p.Outside || p.User == "" {
				t.Errorf("%s: a wrong password on a phone that never sends one", p.Name)
			}
		}
		if _, known := tr.byKey[tableKey(p.Identity, p.UpdateType)].Production.Versions[p.Version]; !known {
			count["newer"]++
		}
	}
	if count["test"] != 2 {
		t.Errorf("%d test phones, want one per entry of the test-device table (2)", count["test"])
	}
	// Shares within a wide margin of the mix (500 phones).
	for k, want := range map[string]float64{"outside": 100, "no user": 150, "newer": 50, "wrong password": 35} {
		if got := float64(count[k]); got < want*0.6 || got > want*1.4 {
			t.Errorf("%s: %v phones, want about %v", k, got, want)
		}
	}
	for _, bad := range []Mix{{Phones: 0}, {Phones: MaxPhones + 1}, {Phones: 1, Outside: 101}, {Phones: 1, Newer: -1}} {
		if _, err := Generate(tr, bad); err == nil {
			t.Errorf("Generate(%+v) accepted", bad)
		}
	}
}

func TestTarget(t *testing.T) {
	tr := testTree()
	for _, tt := range []struct {
		p            Phone
		site, target string
		ok           bool
	}{
		{Phone{Identity: "UCPhone/Polycom/CX600/A/ENU", UpdateType: "CPE", MAC: "00-04-F2-00-00-09"}, "", "4.0.7577.4363", true},
		{Phone{Identity: "ucphone/polycom/cx600/a/enu", UpdateType: "cpe", MAC: "00:04:f2:12:34:56"}, "", "4.0.7577.4398", true},
		{Phone{Identity: "UCPhone/HP/4120/A/ENU", UpdateType: "CPE", Serial: "4120a0099871"}, "", "4.0.7577.4366", true},
		{Phone{Identity: "UCPhone/HP/4120/A/ENU", UpdateType: "CPE", Serial: "4120a0099871"}, "Dublin", "4.0.7577.4398", true},
		{Phone{Identity: "UCPhone/HP/4110/A/ENU", UpdateType: "CPE"}, "", "", false},
	} {
		target, ok := tr.Target(&tt.p, tt.site)
		if target != tt.target || ok != tt.ok {
			t.Errorf("Target(%+v, %q) = %q, %v; want %q, %v", tt.p, tt.site, target, ok, tt.target, tt.ok)
		}
	}
}

func TestDecodeFleet(t *testing.T) {
	good := `{"clock":"2026-01-05T08:00:00Z","phones":[{"name":"a","identity":"UCPhone/Polycom/CX600/A/ENU","update_type":"CPE","mac":"00-04-F2-00-00-01","serial":"S1","version":"4.0.7577.4363"}]}`
	if _, err := DecodeFleet(strings.NewReader(good)); err != nil {
		t.Fatalf("good fleet: %v", err)
	}
	for _, tt := range []struct{ name, in, want string }{
		{"empty", `{"phones":[]}`, "0 phones"},
		{"unknown field", strings.Replace(good, `"name"`, `"nmae"`, 1), "unknown field"},
		{"two values", good + good, "more than one"},
		{"bad identity", strings.Replace(good, "CX600/A/ENU", "CX600", 1), "malformed identity"},
		{"bad version", strings.Replace(good, "4.0.7577.4363", "4.0", 1), "malformed version"},
		{"bad MAC", strings.Replace(good, "00-04-F2-00-00-01", "00-04", 1), "malformed MAC"},
		{"control character", strings.Replace(good, `"S1"`, `"S\u0001"`, 1), "control character"},
		{"long field", strings.Replace(good, `"S1"`, `"`+strings.Repeat("S", fieldLimit+1)+`"`, 1), "longer than"},
		{"duplicate name", strings.Replace(good, `}]}`, `},`+good[strings.Index(good, `{"name"`):], 1), "unique"},
		{"bad state", strings.Replace(good, `"version"`, `"state":"asleep","version"`, 1), "unknown state"},
		{"null phone", `{"phones":[null]}`, "null"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFleet(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestFleetRoundTrip(t *testing.T) {
	f, _ := Generate(testTree(), Mix{Phones: 20, Outside: 50, NoUser: 50, Seed: 1, Start: epoch})
	now := epoch.Add(time.Hour)
	f.Phones[0].LastUpdate, f.Phones[0].NextCheck, f.Phones[0].State = &now, &now, StateUpToDate
	path := filepath.Join(t.TempDir(), "fleet.json")
	if err := WriteFleet(path, f); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFleet(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
}

func TestParseAccounts(t *testing.T) {
	a, err := ParseAccounts("acc", strings.NewReader("# users\nalice:s3cret\r\n\nbob:with:colons\ncarol:\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, u := range a.Users {
		got[u], _ = a.Password(u)
	}
	if diff := cmp.Diff(map[string]string{"alice": "s3cret", "bob": "with:colons", "carol": ""}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, tt := range []struct{ in, want string }{
		{"alice\n", "acc:1: want user:password"},
		{":pw\n", "acc:1: want user:password"},
		{"a:1\nb c:2\n", `acc:2: bad user name "b c"`},
		{"a:1\n\na:2\n", `acc:3: user "a" twice`},
		{strings.Repeat("x", 5000) + ":1\n", "token too long"},
	} {
		if _, err := ParseAccounts("acc", strings.NewReader(tt.in)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAccounts(%.20q): %v, want %q", tt.in, err, tt.want)
		}
	}
}

// FuzzDecodeFleet checks that a fleet file the simulator accepts is
// written back as one that reads the same.
func FuzzDecodeFleet(f *testing.F) {
	seeds := 0
	fl, _ := Generate(testTree(), Mix{Phones: 5, Outside: 50, NoUser: 40, WrongPassword: 50, Newer: 30, Seed: 2, Start: epoch})
	b, _ := json.Marshal(fl)
	for _, s := range []string{string(b), `{"phones":[{"name":"a","identity":"a/b/c/d/e","update_type":"CPE","mac":"","serial":"","version":"1.2.3.4"}]}`, `{}`, `[]`} {
		f.Add([]byte(s))
		seeds++
	}
	if seeds == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fl, err := DecodeFleet(bytes.NewReader(data))
		if err != nil {
			return
		}
		out, err := json.Marshal(fl)
		if err != nil {
			t.Fatal(err)
		}
		again, err := DecodeFleet(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("an accepted fleet written back is refused: %v\n%s", err, out)
		}
		if diff := cmp.Diff(fl, again); diff != "" {
			t.Errorf("written back and read again (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseAccounts checks that accepted accounts, written back one
// user:password a line, read the same.
func FuzzParseAccounts(f *testing.F) {
	seeds := 0
	for _, s := range []string{"alice:s3cret\nbob:x:y\n", "# c\r\n\ncarol:\n", "a\n", "a:1\na:2\n", ":x\n", "é:ü\n"} {
		f.Add([]byte(s))
		seeds++
	}
	if seeds == 0 {
		f.Fatal("empty seed corpus")
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAccounts("fuzz", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "simulate: fuzz") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		var b strings.Builder
		for _, u := range a.Users {
			p, ok := a.Password(u)
			if !ok {
				t.Fatalf("user %q without a password entry", u)
			}
			fmt.Fprintf(&b, "%s:%s\n", u, p)
		}
		again, err := ParseAccounts("again", strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("written back: %v\n%q", err, b.String())
		}
		if diff := cmp.Diff(a.Users, again.Users); diff != "" {
			t.Errorf("users (-first +second):\n%s", diff)
		}
		for _, u := range a.Users {
			p1, _ := a.Password(u)
			p2, _ := again.Password(u)
			if p1 != p2 {
				t.Errorf("user %q: password %q, read back %q", u, p1, p2)
			}
		}
	})
}
