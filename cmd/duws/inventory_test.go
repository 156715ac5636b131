package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/responder/audit"
)

func TestInventoryCommand(t *testing.T) {
	dir := t.TempDir()
	log, err := audit.Open(dir, "edge1", nil)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i, v := range []string{"4.0.7577.4100", "4.0.7577.4363", "4.0.7577.4363"} {
		log.Write(audit.Record{Time: day.Add(time.Duration(i) * time.Minute), Client: "10.0.0.1", DeviceType: "UCPhone",
			MAC: "00-04-F2-00-00-0" + string(rune('1'+i)), Vendor: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU",
			RequestModules: []audit.Module{{Name: "CPE.nbt", Version: v}}, Outcome: "no-update"})
	}
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "inventory", "--policy", "../../policy.yaml", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"UCPhone/Polycom/CX600/A/ENU: 3 devices", "approved 4.0.7577.4363, 1 not on it", "3 devices, 1 not on an approved version"} {
		if !strings.Contains(out, want) {
			t.Errorf("inventory lacks %q:\n%s", want, out)
		}
	}
	if code, out, _ := runCLI(t, "inventory", "--json", filepath.Join(dir, "edge1-2026-11-02.csv")); code != 0 || !strings.Contains(out, "4.0.7577.4100") {
		t.Errorf("inventory --json: %d\n%s", code, out)
	}
}
