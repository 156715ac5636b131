package main

import (
	"strings"
	"testing"
)

// TestPlanFailOnDowngrade: a restore sends the devices on the approved
// version back to the restore version; the plan names those answers as
// downgrades and --fail-on-downgrade exits 4. An approval moves devices
// forward: the plan changes (exit 3) but nothing newly goes back.
func TestPlanFailOnDowngrade(t *testing.T) {
	dir := t.TempDir()
	site, pol := exampleSite(t, dir)
	if code, out, errs := runCLI(t, "restore", "--policy", pol, "3757926b"); code != 0 {
		t.Fatalf("restore: %d %s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "plan", "--policy", pol, "--against", site, "--fail-on-downgrade")
	if code != exitDowngrade {
		t.Errorf("plan --fail-on-downgrade after a restore: exit %d, want %d\n%s%s", code, exitDowngrade, out, errs)
	}
	for _, want := range []string{
		"UCPhone/Polycom/CX600/A/ENU CPE  production 4.0.7577.4363            downloads=0 (nothing to do) -> downgrade to 4.0.7577.4100",
		"UCPhone/Polycom/CX600/A/ENU CPE (production): devices on 4.0.7577.4363, 4.0.7577.4398, any other newer version are sent the older 4.0.7577.4100",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "--fail-on-downgrade") {
		t.Errorf("stderr does not say why it failed: %q", errs)
	}
	if code, out, errs := runCLI(t, "plan", "--policy", pol, "--against", site); code != exitChanged {
		t.Errorf("plan after a restore: exit %d, want %d\n%s%s", code, exitChanged, out, errs)
	}

	dir2 := t.TempDir()
	site2, pol2 := exampleSite(t, dir2)
	if code, out, errs := runCLI(t, "approve", "--policy", pol2, "3757926b"); code != 0 {
		t.Fatalf("approve: %d %s%s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "plan", "--policy", pol2, "--against", site2, "--fail-on-downgrade"); code != exitChanged {
		t.Errorf("plan --fail-on-downgrade after an approval: exit %d, want %d\n%s%s", code, exitChanged, out, errs)
	}
}
