package update

import (
	"os/exec"
	"strings"
	"testing"
)

// The package reader knows packages and the device vocabulary, not the
// approval policy: the policy is checked against what packages hold, never
// the other way round.
func TestImportsNoPolicy(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep == "github.com/duws/duws/builder/policy" {
			t.Errorf("builder/update depends on %s", dep)
		}
	}
}
