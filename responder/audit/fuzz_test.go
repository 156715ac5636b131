package audit

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/duws/duws/builder/device"
)

// fuzzSeeds are the records FuzzWriteRead starts from: the ordinary and the
// hostile.
func fuzzSeeds() []Record {
	plain := cx600("2024-05-01T10:00:00Z")
	bare := Record{Time: at("0000-01-01T00:00:00Z")}
	odd := Record{
		Time:            at("9999-12-31T23:59:59.999999999Z"),
		Client:          "2001:db8::1",
		DeviceType:      "UC Phone, \"deluxe\"",
		MAC:             " 00:04:f2:12:34:56",
		Serial:          "line\nbreak\r\nand\rreturn",
		Vendor:          "tab\there\x00nul\x7fdel\u0085nel",
		Model:           "sep\u2028line\u2029para",
		Revision:        "bad\xffutf8\xc3",
		Locale:          "=cmd|' /C calc'!A0",
		RequestModules:  []Module{{"a:b;c.nbt", "1;2:3"}, {"", ""}},
		ResponseModules: []Module{{"\"q\"", "\\."}},
		User:            `\.`,
		Outcome:         "\ufeff" + `"`,
	}
	quoted := Record{Time: at("2024-05-01T10:00:00Z"), Serial: `"`, Client: "time", DeviceType: "client"}
	return []Record{plain, bare, odd, quoted}
}

// minFuzzTime and maxFuzzTime bound the times tried: RFC 3339 has four-digit
// years.
var (
	minFuzzTime = time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxFuzzTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

func module(ms []Module, i int) (string, string) {
	if i < len(ms) {
		return ms[i].Name, ms[i].Version
	}
	return "", ""
}

// FuzzWriteRead checks that whatever record is written is read back, by
// Reader and by Inventory, with the same fields once control characters
// and invalid UTF-8 (and ":" and ";" in modules) are replaced, and always
// as exactly one line.
func FuzzWriteRead(f *testing.F) {
	seeds := fuzzSeeds()
	if len(seeds) == 0 {
		f.Fatal("empty seed corpus")
	}
	for _, r := range seeds {
		n1, v1 := module(r.RequestModules, 0)
		n2, v2 := module(r.RequestModules, 1)
		n3, v3 := module(r.ResponseModules, 0)
		counts := uint8(len(r.RequestModules) | len(r.ResponseModules)<<2)
		f.Add(r.Time.Unix(), int64(r.Time.Nanosecond()), r.Client, r.DeviceType, r.MAC, r.Serial, r.Vendor, r.Model, r.Revision, r.Locale,
			r.User, r.Outcome, counts, n1, v1, n2, v2, n3, v3)
	}
	f.Fuzz(func(t *testing.T, sec, nsec int64, client, deviceType, mac, serial, vendor, model, revision, locale, user, outcome string,
		counts uint8, n1, v1, n2, v2, n3, v3 string) {
		sec = minFuzzTime + ((sec-minFuzzTime)%(maxFuzzTime-minFuzzTime+1)+(maxFuzzTime-minFuzzTime+1))%(maxFuzzTime-minFuzzTime+1)
		in := Record{
			Time:   time.Unix(sec, ((nsec%1e9)+1e9)%1e9).In(time.FixedZone("x", 3600)),
			Client: client, DeviceType: deviceType, MAC: mac, Serial: serial,
			Vendor: vendor, Model: model, Revision: revision, Locale: locale,
			RequestModules:  []Module{{n1, v1}, {n2, v2}}[:min(int(counts&3), 2)],
			ResponseModules: []Module{{n3, v3}}[:min(int(counts>>2&3), 1)],
			User:            user, Outcome: outcome,
		}
		if in.Time.IsZero() {
			return // would be taken as now
		}

		dir := t.TempDir()
		l, err := Open(dir, "srv", nil)
		if err != nil {
			t.Fatal(err)
		}
		l.Write(in)
		if err := l.Close(); err != nil || l.Errors() != 0 {
			t.Fatalf("Close: %v, Errors() = %d", err, l.Errors())
		}

		files := readDir(t, dir)
		name := "srv-" + in.Time.UTC().Format("2006-01-02") + ".csv"
		content, ok := files[name]
		if len(files) != 1 || !ok {
			t.Fatalf("files %v, want only %s", slices.Sorted(maps.Keys(files)), name)
		}
		if lines := strings.Count(content, "\n"); lines != 2 || strings.ContainsRune(content, '\r') || !strings.HasSuffix(content, "\n") {
			t.Fatalf("file is not a header and one line:\n%q", content)
		}

		want := Record{
			Time:   in.Time.UTC().Truncate(time.Second),
			Client: clean(client), DeviceType: clean(deviceType), MAC: clean(mac), Serial: clean(serial),
			Vendor: clean(vendor), Model: clean(model), Revision: clean(revision), Locale: clean(locale),
			User: clean(user), Outcome: clean(outcome),
		}
		for _, m := range in.RequestModules {
			want.RequestModules = append(want.RequestModules, Module{cleanModule(m.Name), cleanModule(m.Version)})
		}
		for _, m := range in.ResponseModules {
			want.ResponseModules = append(want.ResponseModules, Module{cleanModule(m.Name), cleanModule(m.Version)})
		}
		checkCleaned(t, want)

		got, errs := readAll(t, dir)
		if len(errs) > 0 {
			t.Fatalf("read errors: %v\n%q", errs, content)
		}
		if diff := gocmp.Diff([]Record{want}, got, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("read back (-want +got):\n%s\nfile:\n%q", diff, content)
		}

		fleet, err := Inventory([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		wantDevice := Device{
			Serial:   want.Serial,
			Identity: strings.Join([]string{want.DeviceType, want.Vendor, want.Model, want.Revision, want.Locale}, "/"),
			LastSeen: want.Time,
			User:     want.User, Client: want.Client, Outcome: want.Outcome,
		}
		switch {
		case want.MAC != "":
			wantDevice.MAC = want.MAC
			if m, err := device.NormalizeMAC(want.MAC); err == nil {
				wantDevice.MAC = m
			}
			wantDevice.Key = "mac:" + wantDevice.MAC
		case want.Serial != "":
			wantDevice.Key = "serial:" + want.Serial
			if s, err := device.NormalizeSerial(want.Serial); err == nil {
				wantDevice.Key = "serial:" + s
			}
		default:
			wantDevice.Key = "client:" + want.Client
		}
		last := make(map[string]string)
		for _, m := range want.RequestModules {
			last[m.Name] = m.Version
		}
		for n, v := range last {
			wantDevice.Modules = append(wantDevice.Modules, Module{n, v})
		}
		slices.SortFunc(wantDevice.Modules, func(a, b Module) int { return cmp.Compare(a.Name, b.Name) })
		if diff := gocmp.Diff(&Fleet{Devices: []Device{wantDevice}}, fleet, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("inventory (-want +got):\n%s", diff)
		}
	})
}

// checkCleaned checks what the package documentation promises of a record
// as written: no control characters, line separators or invalid UTF-8, and
// no ":" or ";" inside module names and versions.
func checkCleaned(t *testing.T, r Record) {
	t.Helper()
	for _, s := range []string{r.Client, r.DeviceType, r.MAC, r.Serial, r.Vendor, r.Model, r.Revision, r.Locale, r.User, r.Outcome} {
		if strings.ContainsFunc(s, unsafeRune) || !utf8Valid(s) {
			t.Fatalf("%q not cleaned", s)
		}
	}
	for _, m := range append(slices.Clone(r.RequestModules), r.ResponseModules...) {
		if strings.ContainsAny(m.Name+m.Version, ":;") || strings.ContainsFunc(m.Name+m.Version, unsafeRune) {
			t.Fatalf("module %q not cleaned", m)
		}
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestFuzzSeedsWritten(t *testing.T) {
	// The seeds must exercise the replacements, or the fuzz target starts
	// from nothing interesting.
	var b strings.Builder
	for _, r := range fuzzSeeds() {
		b.WriteString(strings.Join(appendRow(nil, r), ","))
	}
	if !strings.ContainsRune(b.String(), '\uFFFD') {
		t.Error("no seed needs a replacement")
	}
}
