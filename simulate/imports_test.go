package simulate

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlySiteFormat keeps the simulator a client: it reads the
// tree's format and device versions, never the policy, the builder or the
// responder, so what it reports is what the responder answered.
func TestImportsOnlySiteFormat(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case !strings.HasPrefix(dep, "github.com/duws/duws/"):
		case dep == "github.com/duws/duws/simulate", dep == "github.com/duws/duws/builder/site", dep == "github.com/duws/duws/builder/device":
		default:
			t.Errorf("the simulator depends on %s", dep)
		}
	}
}
