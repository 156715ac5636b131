package responder

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlySiteFormat keeps the responder from knowing the policy or
// the cabinet code: it serves what the builder decided, and must never
// re-derive it.
func TestImportsOnlySiteFormat(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if !strings.HasPrefix(dep, "github.com/duws/duws/") {
			continue
		}
		switch dep {
		case "github.com/duws/duws/responder", "github.com/duws/duws/builder/site", "github.com/duws/duws/builder/device":
		default:
			if !strings.HasPrefix(dep, "github.com/duws/duws/responder/") {
				t.Errorf("the responder depends on %s", dep)
			}
		}
	}
}
