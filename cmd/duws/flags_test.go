package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Flags are built for each run: a value taken from the environment in one
// run does not stay for the next.
func TestFlagsDoNotOutliveARun(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	other := filepath.Join(dir, "other.yaml")
	t.Setenv("DUWS_POLICY", other)
	if code, _, stderr := runCLI(t, "validate"); code == 0 || !strings.Contains(stderr, "other.yaml") {
		t.Fatalf("with DUWS_POLICY set: exit %d, %q; want an error naming other.yaml", code, stderr)
	}
	os.Unsetenv("DUWS_POLICY")
	code, _, stderr := runCLI(t, "validate")
	if code == 0 || strings.Contains(stderr, "other.yaml") || !strings.Contains(stderr, "policy.yaml") {
		t.Errorf("after unsetting DUWS_POLICY: exit %d, %q; want an error naming policy.yaml", code, stderr)
	}
}
