package audit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// hdr13 is the header of files written before the request, path,
// account, account_source, listener and cut columns: they are read too.
const hdr13 = "time,client,device_type,mac,serial,vendor,model,revision,locale,request_modules,response_modules,user,outcome\n"

// row returns a log row of the given fields around cx600's.
func row(time, mac, serial, client, model, modules, user, outcome string) string {
	return fmt.Sprintf("%s,%s,UCPhone,%s,%s,Polycom,%s,A,ENU,%s,,%s,%s\n", time, client, mac, serial, model, modules, user, outcome)
}

func TestInventory(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"logs/srv-2024-05-01.csv": hdr13 +
			row("2024-05-01T09:00:00Z", "00-04-F2-12-34-56", "S1", "10.0.0.5", "CX600", "CPE.nbt:4.0.7577.4363", "sip:alice@contoso.com", "update") +
			row("2024-05-01T09:00:00Z", "", "cx700b0001", "10.0.0.6", "CX700", "CPE.nbt:4.0.7577.4363", "sip:bob@contoso.com", "update") +
			"2024-05-01T09:30:00Z,broken\n" +
			row("2024-05-01T10:00:00Z", "", "", "10.0.0.7", "CX500", "", "", "bad-request"),
		// A later day from another server: the same phone by another
		// spelling of its MAC, now updated.
		"logs/edge-2024-05-02.csv": hdr13 +
			row("2024-05-02T08:00:00Z", "0004f2123456", "S1", "192.0.2.1", "CX600", "Sig.nbt:1.0.0.1;CPE.nbt:4.0.7577.4398;CPE.nbt:4.0.7577.4399", "sip:carol@contoso.com", "no-update"),
		// An older record read after the newer one does not win.
		"logs/srv-2024-04-30.csv": hdr13 +
			row("2024-04-30T08:00:00Z", "00:04:f2:12:34:56", "S1", "10.0.0.5", "CX600", "CPE.nbt:4.0.7577.4000", "sip:old@contoso.com", "update") +
			row("2024-04-30T08:00:00Z", "", "CX700B0001", "10.0.0.6", "CX700", "CPE.nbt:4.0.7577.4000", "", "update"),
		"logs/notes.txt":      "not read",
		"logs/other.csv":      "name,value\nx,1\n",
		"logs/sub/deeper.csv": hdr13 + row("2030-01-01T00:00:00Z", "", "", "10.9.9.9", "CX600", "", "", "update"),
		"extra/same-time.csv": hdr13 + row("2024-05-01T09:00:00Z", "", "CX700B0001", "10.0.0.66", "CX700", "CPE.nbt:4.0.7577.4363", "sip:dave@contoso.com", "no-update") + "x,y\n",
	})
	logs := filepath.Join(dir, "logs")
	fleet, err := Inventory([]string{logs, filepath.Join(dir, "extra", "same-time.csv"), logs + "/"})
	if err != nil {
		t.Fatal(err)
	}
	want := &Fleet{
		Devices: []Device{
			{
				Key: "client:10.0.0.7", Identity: "UCPhone/Polycom/CX500/A/ENU",
				LastSeen: at("2024-05-01T10:00:00Z"), Client: "10.0.0.7", Outcome: "bad-request",
			},
			{
				Key: "mac:0004f2123456", MAC: "0004f2123456", Serial: "S1", Identity: "UCPhone/Polycom/CX600/A/ENU",
				Modules:  []Module{{"CPE.nbt", "4.0.7577.4399"}, {"Sig.nbt", "1.0.0.1"}},
				LastSeen: at("2024-05-02T08:00:00Z"), User: "sip:carol@contoso.com", Client: "192.0.2.1", Outcome: "no-update",
			},
			{
				// Same time twice: the one read last wins.
				Key: "serial:CX700B0001", Serial: "CX700B0001", Identity: "UCPhone/Polycom/CX700/A/ENU",
				Modules:  []Module{{"CPE.nbt", "4.0.7577.4363"}},
				LastSeen: at("2024-05-01T09:00:00Z"), User: "sip:dave@contoso.com", Client: "10.0.0.66", Outcome: "no-update",
			},
		},
		Skipped: 2,
		Problems: []string{
			filepath.Join(logs, "other.csv") + `:1: no column "time": not an audit log`,
			filepath.Join(logs, "srv-2024-05-01.csv") + ":4: 2 fields, want 13",
			filepath.Join(dir, "extra", "same-time.csv") + ":3: 2 fields, want 13",
		},
	}
	if diff := cmp.Diff(want, fleet); diff != "" {
		t.Errorf("fleet (-want +got):\n%s", diff)
	}
}

func TestInventoryProblemLimit(t *testing.T) {
	dir := t.TempDir()
	content := hdr13 + strings.Repeat("bad\n", 15)
	writeFiles(t, dir, map[string]string{"a.csv": content})
	fleet, err := Inventory([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if fleet.Skipped != 15 || len(fleet.Problems) != problemLimit || len(fleet.Devices) != 0 {
		t.Errorf("skipped %d, %d problems, %d devices; want 15, %d, 0", fleet.Skipped, len(fleet.Problems), len(fleet.Devices), problemLimit)
	}
	if want := filepath.Join(dir, "a.csv") + ":2: 1 field, want 13"; len(fleet.Problems) > 0 && fleet.Problems[0] != want {
		t.Errorf("first problem %q, want %q", fleet.Problems[0], want)
	}
}

func TestInventoryErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Inventory([]string{filepath.Join(dir, "missing")}); err == nil || !strings.HasPrefix(err.Error(), "audit: stat ") {
		t.Errorf("missing path: err %v", err)
	}
	fleet, err := Inventory(nil)
	if err != nil || len(fleet.Devices) != 0 {
		t.Errorf("no paths: %v, %v", fleet, err)
	}
}
