package audit

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	long := Record{Time: at("2024-05-01T10:00:00Z"), Model: strings.Repeat("m", 300), User: "+" + strings.Repeat("ü", 200), Vendor: "'quoted",
		RequestModules: []Module{{strings.Repeat("n", 900), "1.0"}, {"@x", strings.Repeat("9", 400)}}, Outcome: "-"}
	return []Record{plain, bare, odd, quoted, long}
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

		checkWriteRead(t, in, encode(in))
	})
}

// encode returns the file a [Log] writes for the one record r, without
// its goroutine and fsync, which would make fuzzing slow.
// TestSeedsThroughLog checks that it is what a Log writes.
func encode(r Record) string {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(header[:])
	w.Write(appendRow(nil, r))
	w.Flush()
	return b.String()
}

func TestSeedsThroughLog(t *testing.T) {
	for _, in := range fuzzSeeds() {
		dir := t.TempDir()
		writeAll(t, dir, []Record{in})
		name := "srv-" + in.Time.UTC().Format("2006-01-02") + ".csv"
		if diff := gocmp.Diff(map[string]string{name: encode(in)}, readDir(t, dir)); diff != "" {
			t.Fatalf("files (-want +got):\n%s", diff)
		}
		checkWriteRead(t, in, encode(in))
	}
}

// checkWriteRead checks that content, the file written for the one record
// in, is a header and one line, and that Reader and Inventory read in back
// as the package documentation promises.
func checkWriteRead(t *testing.T, in Record, content string) {
	t.Helper()
	if lines := strings.Count(content, "\n"); lines != 2 || strings.ContainsRune(content, '\r') || !strings.HasSuffix(content, "\n") {
		t.Fatalf("file is not a header and one line:\n%q", content)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "srv-x.csv"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}

	want := Record{
		Time:   in.Time.UTC().Truncate(time.Second),
		Client: clean(in.Client), DeviceType: clean(in.DeviceType), MAC: clean(in.MAC), Serial: clean(in.Serial),
		Vendor: clean(in.Vendor), Model: clean(in.Model), Revision: clean(in.Revision), Locale: clean(in.Locale),
		User: clean(in.User), Outcome: clean(in.Outcome),
	}
	for _, m := range in.RequestModules {
		want.RequestModules = append(want.RequestModules, Module{cleanModule(m.Name), cleanModule(m.Version)})
	}
	for _, m := range in.ResponseModules {
		want.ResponseModules = append(want.ResponseModules, Module{cleanModule(m.Name), cleanModule(m.Version)})
	}
	checkCleaned(t, in, want)

	got, errs := readAll(t, dir)
	if len(errs) > 0 {
		t.Fatalf("read errors: %v\n%q", errs, content)
	}
	if len(got) == 1 {
		reconcileCuts(t, &want, got[0], content)
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
}

// reconcileCuts checks the cuts the row limits made, as the package
// documentation promises: exactly the columns named in the cut column are
// cut, each to a prefix of its value ending in "…", no value is longer
// than its limit, and the row's values together stay within the row
// limit. It then takes the cut values into want.
func reconcileCuts(t *testing.T, want *Record, got Record, content string) {
	t.Helper()
	row := appendRow(nil, *want)
	total := 0
	for c := colClient; c < colCut; c++ {
		v := undefuse(row[c])
		limit := fieldLimit
		if c == colRequestModules || c == colResponseModules {
			limit = modulesLimit
		}
		if len(v) > limit {
			t.Fatalf("column %s: %d bytes, over its limit %d", header[c], len(v), limit)
		}
		total += len(v)
	}
	if total > rowLimit {
		t.Fatalf("row values: %d bytes, over the row limit %d", total, rowLimit)
	}
	whole := []string{"", clean(want.Client), want.DeviceType, want.MAC, want.Serial, want.Vendor, want.Model, want.Revision, want.Locale,
		formatModules(want.RequestModules), formatModules(want.ResponseModules), want.User, want.Outcome}
	for c := colClient; c < colRequest; c++ {
		v := undefuse(row[c])
		isCut := slices.Contains(got.Cut, header[c])
		if isCut != (v != whole[c]) {
			t.Fatalf("column %s: cut %v, but written %q of %q", header[c], isCut, v, whole[c])
		}
		if isCut && !(strings.HasSuffix(v, cutMark) && strings.HasPrefix(whole[c], strings.TrimSuffix(v, cutMark))) {
			t.Fatalf("column %s: %q is not a prefix of %q and %q", header[c], v, whole[c], cutMark)
		}
	}
	for _, f := range []struct {
		col       int
		got, want *string
	}{{colClient, &got.Client, &want.Client}, {colDeviceType, &got.DeviceType, &want.DeviceType}, {colMAC, &got.MAC, &want.MAC},
		{colSerial, &got.Serial, &want.Serial}, {colVendor, &got.Vendor, &want.Vendor}, {colModel, &got.Model, &want.Model},
		{colRevision, &got.Revision, &want.Revision}, {colLocale, &got.Locale, &want.Locale}, {colUser, &got.User, &want.User},
		{colOutcome, &got.Outcome, &want.Outcome}} {
		if slices.Contains(got.Cut, header[f.col]) {
			*f.want = *f.got
		}
	}
	if slices.Contains(got.Cut, header[colRequestModules]) {
		want.RequestModules = got.RequestModules
	}
	if slices.Contains(got.Cut, header[colResponseModules]) {
		want.ResponseModules = got.ResponseModules
	}
	want.Cut = got.Cut
}

// checkCleaned checks what the package documentation promises of the
// fields of want, cleaned from those of in: each rune is kept, or replaced
// with U+FFFD, one for one, exactly when it is a control character, U+2028,
// U+2029, a byte of invalid UTF-8 or, in modules, ":" or ";".
func checkCleaned(t *testing.T, in, want Record) {
	t.Helper()
	check := func(in, out, also string) {
		t.Helper()
		var b strings.Builder
		for i := 0; i < len(in); {
			r, n := utf8.DecodeRuneInString(in[i:])
			if (r == utf8.RuneError && n == 1) || r < 0x20 || (0x7f <= r && r <= 0x9f) || r == 0x2028 || r == 0x2029 || strings.ContainsRune(also, r) {
				r = 0xfffd
			}
			b.WriteRune(r)
			i += n
		}
		if b.String() != out {
			t.Fatalf("%q cleaned to %q, want %q", in, out, b.String())
		}
	}
	check(in.Client, want.Client, "")
	check(in.DeviceType, want.DeviceType, "")
	check(in.MAC, want.MAC, "")
	check(in.Serial, want.Serial, "")
	check(in.Vendor, want.Vendor, "")
	check(in.Model, want.Model, "")
	check(in.Revision, want.Revision, "")
	check(in.Locale, want.Locale, "")
	check(in.User, want.User, "")
	check(in.Outcome, want.Outcome, "")
	for _, pair := range [][2][]Module{{in.RequestModules, want.RequestModules}, {in.ResponseModules, want.ResponseModules}} {
		if len(pair[0]) != len(pair[1]) {
			t.Fatalf("modules %q cleaned to %q", pair[0], pair[1])
		}
		for i := range pair[0] {
			check(pair[0][i].Name, pair[1][i].Name, ":;")
			check(pair[0][i].Version, pair[1][i].Version, ":;")
		}
	}
}

func TestFuzzSeedsNeedReplacement(t *testing.T) {
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
