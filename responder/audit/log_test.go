package audit

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

const hdr = "time,client,device_type,mac,serial,vendor,model,revision,locale,request_modules,response_modules,user,outcome,request,path,account,account_source,listener,cut\n"

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// cx600 returns a typical record at time s.
func cx600(s string) Record {
	return Record{
		Time:            at(s),
		Client:          "10.0.0.5",
		DeviceType:      "UCPhone",
		MAC:             "00-04-F2-12-34-56",
		Serial:          "CX600A0012345",
		Vendor:          "Polycom",
		Model:           "CX600",
		Revision:        "A",
		Locale:          "ENU",
		RequestModules:  []Module{{"CPE.nbt", "4.0.7577.4363"}},
		ResponseModules: []Module{{"CPE.nbt", "4.0.7577.4398"}},
		User:            "sip:alice@contoso.com",
		Outcome:         "update",
	}
}

const cx600Row = "10.0.0.5,UCPhone,00-04-F2-12-34-56,CX600A0012345,Polycom,CX600,A,ENU,CPE.nbt:4.0.7577.4363,CPE.nbt:4.0.7577.4398,sip:alice@contoso.com,update,,,,,,\n"

// readDir returns the contents of every file in dir by name.
func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string]string)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func writeAll(t *testing.T, dir string, recs []Record) {
	t.Helper()
	var logs bytes.Buffer
	l, err := Open(dir, "srv", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		l.Write(r)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if n := l.Errors(); n != 0 || logs.Len() != 0 {
		t.Fatalf("Errors() = %d, log:\n%s", n, logs.String())
	}
}

func TestWriteFiles(t *testing.T) {
	odd := cx600("2024-05-01T10:00:00Z")
	odd.Client = "2001:db8::1"
	odd.DeviceType = "UC Phone, \"deluxe\""
	odd.MAC = " leading space"
	odd.Serial = "line\nbreak\r\nand\rreturn"
	odd.Vendor = "tab\there\x00nul\x7fdel\u0085nel"
	odd.Model = "sep\u2028line\u2029para"
	odd.Revision = "bad\xffutf8\xc3"
	odd.Locale = "=cmd|' /C calc'!A0"
	odd.RequestModules = []Module{{"a:b;c.nbt", "1;2:3"}, {"", ""}, {"Sig.nbt", "1.0.0.1"}}
	odd.ResponseModules = nil
	odd.User = `\.`
	odd.Outcome = "bad-request"

	tests := []struct {
		name     string
		existing map[string]string
		records  []Record
		want     map[string]string
	}{
		{
			name:    "one record",
			records: []Record{cx600("2024-05-01T10:00:00Z")},
			want:    map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T10:00:00Z," + cx600Row},
		},
		{
			name:    "quoting and replacement",
			records: []Record{odd},
			want: map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T10:00:00Z,2001:db8::1," +
				`"UC Phone, ""deluxe""",` +
				`" leading space",` +
				"line\uFFFDbreak\uFFFD\uFFFDand\uFFFDreturn," +
				"tab\uFFFDhere\uFFFDnul\uFFFDdel\uFFFDnel," +
				"sep\uFFFDline\uFFFDpara," +
				"bad\uFFFDutf8\uFFFD," +
				"'=cmd|' /C calc'!A0," +
				"a\uFFFDb\uFFFDc.nbt:1\uFFFD2\uFFFD3;:;Sig.nbt:1.0.0.1,," +
				`"\.",bad-request,,,,,,` + "\n"},
		},
		{
			name: "time in UTC with whole seconds",
			records: []Record{
				cx600("2024-05-01T01:30:00.999+02:00"),
			},
			want: map[string]string{"srv-2024-04-30.csv": hdr + "2024-04-30T23:30:00Z," + cx600Row},
		},
		{
			name: "day rollover and back",
			records: []Record{
				cx600("2024-05-01T23:59:59Z"),
				cx600("2024-05-02T00:00:01Z"),
				cx600("2024-05-01T23:59:59.5Z"),
			},
			want: map[string]string{
				"srv-2024-05-01.csv": hdr + "2024-05-01T23:59:59Z," + cx600Row + "2024-05-01T23:59:59Z," + cx600Row,
				"srv-2024-05-02.csv": hdr + "2024-05-02T00:00:01Z," + cx600Row,
			},
		},
		{
			name:     "existing file appended without a second header",
			existing: map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T09:00:00Z," + cx600Row},
			records:  []Record{cx600("2024-05-01T10:00:00Z")},
			want:     map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T09:00:00Z," + cx600Row + "2024-05-01T10:00:00Z," + cx600Row},
		},
		{
			name:     "existing empty file gets the header",
			existing: map[string]string{"srv-2024-05-01.csv": ""},
			records:  []Record{cx600("2024-05-01T10:00:00Z")},
			want:     map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T10:00:00Z," + cx600Row},
		},
		{
			name:     "incomplete last row is ended",
			existing: map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T09:00:00Z,10.0.0.5,UCPh"},
			records:  []Record{cx600("2024-05-01T10:00:00Z")},
			want:     map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T09:00:00Z,10.0.0.5,UCPh\n2024-05-01T10:00:00Z," + cx600Row},
		},
		{
			name:     "incomplete last row inside quotes is ended",
			existing: map[string]string{"srv-2024-05-01.csv": hdr + `2024-05-01T09:00:00Z,10.0.0.5,"UC ""Ph`},
			records:  []Record{cx600("2024-05-01T10:00:00Z")},
			want: map[string]string{"srv-2024-05-01.csv": hdr + `2024-05-01T09:00:00Z,10.0.0.5,"UC ""Ph"` + "\n" +
				"2024-05-01T10:00:00Z," + cx600Row},
		},
		{
			name:     "other servers' files are left alone",
			existing: map[string]string{"other-2024-05-01.csv": "x\n"},
			records:  []Record{cx600("2024-05-01T10:00:00Z")},
			want: map[string]string{
				"other-2024-05-01.csv": "x\n",
				"srv-2024-05-01.csv":   hdr + "2024-05-01T10:00:00Z," + cx600Row,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range tt.existing {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			writeAll(t, dir, tt.records)
			if diff := cmp.Diff(tt.want, readDir(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	dir := t.TempDir()
	writeAll(t, dir, []Record{cx600("2024-05-01T10:00:00Z")})
	fi, err := os.Stat(filepath.Join(dir, "srv-2024-05-01.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o640 {
		t.Errorf("mode %v, want 0640", got)
	}
}

func TestZeroTimeIsNow(t *testing.T) {
	dir := t.TempDir()
	before := time.Now().UTC().Truncate(time.Second)
	r := cx600("2024-05-01T10:00:00Z")
	r.Time = time.Time{}
	writeAll(t, dir, []Record{r})
	after := time.Now().UTC()
	recs, _ := readAll(t, dir)
	if len(recs) != 1 || recs[0].Time.Before(before) || recs[0].Time.After(after) {
		t.Errorf("records %v, want one between %v and %v", recs, before, after)
	}
}

// readAll reads every record of the files in dir, and the row errors.
func readAll(t *testing.T, dir string) ([]Record, []string) {
	t.Helper()
	var recs []Record
	var errs []string
	for name, content := range readDir(t, dir) {
		r := NewReader(strings.NewReader(content))
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", name, err))
				if _, ok := err.(*RowError); ok {
					continue
				}
				break
			}
			recs = append(recs, rec)
		}
	}
	return recs, errs
}

// TestCloseLosesNothing writes from many goroutines, more records than the
// queue holds, and closes at once: every record must be in the file.
func TestCloseLosesNothing(t *testing.T) {
	const goroutines, each = 8, 1250
	dir := t.TempDir()
	l, err := Open(dir, "srv", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r := cx600("2024-05-01T10:00:00Z")
				r.Serial = fmt.Sprintf("g%d-%d", g, i)
				l.Write(r)
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := l.Errors(); n != 0 {
		t.Fatalf("Errors() = %d", n)
	}
	recs, errs := readAll(t, dir)
	if len(errs) > 0 {
		t.Fatalf("read errors: %v", errs)
	}
	seen := make(map[string]bool)
	for _, r := range recs {
		seen[r.Serial] = true
	}
	if len(recs) != goroutines*each || len(seen) != goroutines*each {
		t.Errorf("%d rows, %d distinct; want %d", len(recs), len(seen), goroutines*each)
	}
	if got := strings.Count(readDir(t, dir)["srv-2024-05-01.csv"], "\n"); got != goroutines*each+1 {
		t.Errorf("%d lines, want %d", got, goroutines*each+1)
	}
}

func TestWriteAfterClose(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	l, err := Open(dir, "srv", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l.Write(cx600("2024-05-01T10:00:00Z"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Write(cx600("2024-05-01T11:00:00Z")) // must not panic
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if n := l.Errors(); n != 1 {
		t.Errorf("Errors() = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "record written after close dropped") {
		t.Errorf("log does not report the dropped record:\n%s", logs.String())
	}
	want := map[string]string{"srv-2024-05-01.csv": hdr + "2024-05-01T10:00:00Z," + cx600Row}
	if diff := cmp.Diff(want, readDir(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
}

// TestWriteFailure makes one day's file impossible to open: its records
// are counted and logged, once, and the next day's are written.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "srv-2024-05-01.csv"), 0o700); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	l, err := Open(dir, "srv", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l.Write(cx600("2024-05-01T10:00:00Z"))
	l.Write(cx600("2024-05-01T11:00:00Z"))
	l.Write(cx600("2024-05-02T10:00:00Z"))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if n := l.Errors(); n != 2 {
		t.Errorf("Errors() = %d, want 2", n)
	}
	if got := strings.Count(logs.String(), "audit log: open failed"); got != 1 {
		t.Errorf("%d reports of the failure, want 1:\n%s", got, logs.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "srv-2024-05-02.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), hdr+"2024-05-02T10:00:00Z,"+cx600Row; got != want {
		t.Errorf("next day's file %q, want %q", got, want)
	}
}

// TestFlushedWithoutClose checks that a record reaches the file while the
// log stays open, since the queue ran empty.
func TestFlushedWithoutClose(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, "srv", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Write(cx600("2024-05-01T10:00:00Z"))
	name := filepath.Join(dir, "srv-2024-05-01.csv")
	want := hdr + "2024-05-01T10:00:00Z," + cx600Row
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(name)
		if string(b) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("file holds %q, want %q", b, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ dir, server, want string }{
		{dir, "", "audit: empty server name"},
		{dir, "a/b", `audit: server name "a/b": contains a path separator`},
		{dir, `a\b`, `audit: server name "a\\b": contains a path separator`},
		{dir, "a\nb", `audit: server name "a\nb": contains a control character`},
		{filepath.Join(dir, "missing"), "srv", `audit: directory "` + filepath.Join(dir, "missing") + `" is not writable: `},
	}
	for _, tt := range tests {
		l, err := Open(tt.dir, tt.server, nil)
		if err == nil {
			l.Close()
			t.Errorf("Open(%q, %q) succeeded, want error %q", tt.dir, tt.server, tt.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Open(%q, %q) = %q, want %q", tt.dir, tt.server, err, tt.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Open left files behind: %v", entries)
	}
}

// TestFlushFailure writes to a file that refuses every byte: each record is
// counted as lost and the failure logged once. (Close reports the failure
// too when the last records were still buffered, which is a matter of
// timing here.)
func TestFlushFailure(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	dir := t.TempDir()
	if err := os.Symlink("/dev/full", filepath.Join(dir, "srv-2024-05-01.csv")); err != nil {
		t.Skip(err)
	}
	var logs bytes.Buffer
	l, err := Open(dir, "srv", slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		l.Write(cx600("2024-05-01T10:00:00Z"))
	}
	l.Close()
	if n := l.Errors(); n != 3 {
		t.Errorf("Errors() = %d, want 3", n)
	}
	if got := strings.Count(logs.String(), "audit log: write failed"); got != 1 {
		t.Errorf("%d reports of the failure, want 1:\n%s", got, logs.String())
	}
}

// TestLongRequestCannotWriteLongRow: one check with 64 long module names
// used to write a 57 KB row. Every value is cut to its limit, the row to
// the row limit, and the row names what was cut.
func TestLongRequestCannotWriteLongRow(t *testing.T) {
	r := cx600("2024-05-01T10:00:00Z")
	r.Model = strings.Repeat("M", 5000)
	r.User = strings.Repeat("ü", 2000)
	r.RequestModules = nil
	for i := range 64 {
		r.RequestModules = append(r.RequestModules, Module{fmt.Sprintf("%d%s.nbt", i, strings.Repeat("x", 800)), "4.0.7577.4363"})
	}
	dir := t.TempDir()
	writeAll(t, dir, []Record{r})
	content := readDir(t, dir)["srv-2024-05-01.csv"]
	row := strings.TrimPrefix(content, hdr)
	if len(row) > rowLimit+2*numColumns+64 { // quotes and commas around the values
		t.Errorf("row of %d bytes, want about %d at most", len(row), rowLimit)
	}
	got, errs := readAll(t, dir)
	if len(errs) > 0 || len(got) != 1 {
		t.Fatalf("read %d records, errors %v", len(got), errs)
	}
	if diff := cmp.Diff([]string{"model", "request_modules", "user"}, got[0].Cut); diff != "" {
		t.Errorf("cut (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got[0].Model, "MMMM") || !strings.HasSuffix(got[0].Model, "…") || !utf8.ValidString(got[0].User) {
		t.Errorf("cut values: model %q, user %q", got[0].Model, got[0].User)
	}
	if got[0].Serial != r.Serial || got[0].Client != r.Client {
		t.Errorf("short values changed: %+v", got[0])
	}
}

// TestFormulasNeutralised: a value a spreadsheet would run as a formula
// is written with a "'" in front, as OWASP recommends, and read back as
// it was sent.
func TestFormulasNeutralised(t *testing.T) {
	r := cx600("2024-05-01T10:00:00Z")
	r.Model, r.Revision, r.Locale, r.User, r.Serial = "=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "'already"
	r.RequestModules = []Module{{"=cmd|' /C calc'!A0", "1"}}
	dir := t.TempDir()
	writeAll(t, dir, []Record{r})
	content := readDir(t, dir)["srv-2024-05-01.csv"]
	for _, want := range []string{`,"'=HYPERLINK(""x"")",`, ",'+1,'-2,", ",'@SUM(A1),", ",''already,", ",'=cmd|' /C calc'!A0:1,"} {
		if !strings.Contains(content, want) {
			t.Errorf("no %s in\n%s", want, content)
		}
	}
	got, errs := readAll(t, dir)
	if len(errs) > 0 || len(got) != 1 {
		t.Fatalf("read %d records, errors %v", len(got), errs)
	}
	if diff := cmp.Diff(r, got[0]); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
}

// TestDayFilesBounded: 16 connections once wrote 385 MB in 5 s. A day's
// file is continued in a new one at MaxFileSize, and beyond MaxFiles rows
// are dropped and counted.
func TestDayFilesBounded(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, "srv", nil)
	if err != nil {
		t.Fatal(err)
	}
	l.MaxFileSize, l.MaxFiles = 2000, 3
	for range 100 {
		l.Write(cx600("2024-05-01T10:00:00Z"))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	files := readDir(t, dir)
	var names []string
	written := 0
	for name, content := range files {
		names = append(names, name)
		if len(content) > 2000+len(hdr)+len(cx600Row)+21 {
			t.Errorf("%s: %d bytes, over the limit by more than a row", name, len(content))
		}
		if !strings.HasPrefix(content, hdr) {
			t.Errorf("%s: no header", name)
		}
		written += strings.Count(content, "\n") - 1
	}
	slices.Sort(names)
	if diff := cmp.Diff([]string{"srv-2024-05-01.1.csv", "srv-2024-05-01.2.csv", "srv-2024-05-01.csv"}, names); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	if l.Dropped() == 0 || int(l.Dropped())+written != 100 {
		t.Errorf("%d rows written, %d dropped; want 100 in all, some dropped", written, l.Dropped())
	}
	// A restart on the same day finds the files full too.
	l, _ = Open(dir, "srv", nil)
	l.MaxFileSize, l.MaxFiles = 2000, 3
	l.Write(cx600("2024-05-01T11:00:00Z"))
	l.Close()
	if l.Dropped() != 1 {
		t.Errorf("after a restart: %d dropped, want 1", l.Dropped())
	}
}
