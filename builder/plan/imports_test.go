package plan_test

import (
	"os/exec"
	"strings"
	"testing"
)

// Planning is pure: no file system, no clock of its own. A published
// tree is read through an fs.FS its caller opens.
func TestImportsNoOS(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range strings.Fields(string(out)) {
		switch imp {
		case "os", "os/exec", "syscall", "path/filepath":
			t.Errorf("builder/plan imports %s", imp)
		}
	}
}
