package responder

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsOnlySiteFormat keeps every responder package from knowing
// the policy or the cabinet code: the responder serves what the builder
// decided, and must never re-derive it. Of the builder it may use only the
// site format, the device vocabulary and the durability helper.
func TestImportsOnlySiteFormat(t *testing.T) {
	pkgs, err := exec.Command("go", "list", "github.com/duws/duws/responder/...").Output()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/duws/duws/builder/site":    true,
		"github.com/duws/duws/builder/device":  true,
		"github.com/duws/duws/builder/durable": true,
	}
	for _, pkg := range strings.Fields(string(pkgs)) {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, "github.com/duws/duws/builder/") && !allowed[dep] || strings.HasPrefix(dep, "github.com/duws/duws/cmd/") {
				t.Errorf("%s depends on %s", pkg, dep)
			}
		}
	}
}
