package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLifecycle runs sequences of operations on one rule, as an
// administrator would, and checks the versions it ends with. A step
// written "op!" must fail and change nothing.
func TestLifecycle(t *testing.T) {
	tests := []struct {
		steps                      string
		approved, pending, restore string // "" for none
	}{
		{"import 1.0.0.1", "", "1.0.0.1", ""},
		{"import 1.0.0.1, approve", "1.0.0.1", "", ""},
		{"import 1.0.0.1, approve, import 1.0.0.2", "1.0.0.1", "1.0.0.2", ""},
		{"import 1.0.0.1, approve, import 1.0.0.2, approve", "1.0.0.2", "", "1.0.0.1"},
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, restore", "1.0.0.1", "", ""},
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, restore, restore!", "1.0.0.1", "", ""},
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, restore, force-restore", "", "", ""},
		{"import 1.0.0.1, approve, import 1.0.0.2, reset", "1.0.0.1", "", ""},
		{"import 1.0.0.1, reset", "", "", ""},
		{"import 1.0.0.1, reset, reset!, approve!", "", "", ""},
		{"import 1.0.0.1, approve, approve!", "1.0.0.1", "", ""},
		// Importing the approved or pending version again changes nothing.
		{"import 1.0.0.1, approve, import 1.0.0.1", "1.0.0.1", "", ""},
		{"import 1.0.0.1, import 1.0.0.1", "", "1.0.0.1", ""},
		// A newer import replaces what was pending.
		{"import 1.0.0.1, import 1.0.0.3", "", "1.0.0.3", ""},
		// An older version than the approved one is not made pending:
		// roll-backs go through restore.
		{"import 1.0.0.2, approve, import 1.0.0.1", "1.0.0.2", "", ""},
		// An older version never replaces a newer pending one.
		{"import 1.0.0.3, import 1.0.0.2", "", "1.0.0.3", ""},
		// Importing the restore version again changes nothing.
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, import 1.0.0.1", "1.0.0.2", "", "1.0.0.1"},
		// Three approvals keep only the last approved version as restore.
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, import 1.0.0.3, approve", "1.0.0.3", "", "1.0.0.2"},
		// Restoring to the version that is pending drops pending.
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, import 1.0.0.1, restore", "1.0.0.1", "", ""},
		// Restore keeps an unrelated pending version.
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, import 1.0.0.3, restore", "1.0.0.1", "1.0.0.3", ""},
		// With a restore version, a forced restore is a plain restore.
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, force-restore, import 1.0.0.4, approve", "1.0.0.4", "", "1.0.0.1"},
		// Clearing the approved version leaves nothing to keep as restore.
		{"import 1.0.0.1, approve, import 1.0.0.2, approve, force-restore, force-restore, import 1.0.0.4, approve", "1.0.0.4", "", ""},
		{"restore!, force-restore!", "", "", ""},
	}
	identity := Identity{DeviceType: "UCPhone", Brand: "Polycom", Model: "CX600", Revision: "A", Locale: "ENU"}
	for _, tt := range tests {
		t.Run(tt.steps, func(t *testing.T) {
			src := "rules:\n  - id: " + idCX600 + "\n    identity: " + identity.String() + "\n    update_type: CPE\n"
			d, err := ParseDoc("policy.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			for _, step := range strings.Split(tt.steps, ", ") {
				step, mustFail := strings.CutSuffix(step, "!")
				before, _ := d.Bytes()
				var err error
				switch op, arg, _ := strings.Cut(step, " "); op {
				case "import":
					_, _, err = d.ImportVersion(idCX600, identity, "CPE", *ver(arg))
				case "approve":
					_, err = d.Approve(idCX600)
				case "reset":
					_, err = d.Reset(idCX600)
				case "restore":
					_, err = d.Restore(idCX600, false)
				case "force-restore":
					_, err = d.Restore(idCX600, true)
				default:
					t.Fatalf("bad step %q", step)
				}
				after, _ := d.Bytes()
				switch {
				case mustFail && err == nil:
					t.Fatalf("%s succeeded", step)
				case mustFail && string(before) != string(after):
					t.Fatalf("failed %s changed the document", step)
				case !mustFail && err != nil:
					t.Fatalf("%s: %v", step, err)
				}
				if _, err := Parse("policy.yaml", after); err != nil {
					t.Fatalf("after %s: %v", step, err)
				}
			}
			r := d.Policy().Rules[0]
			str := func(v *Version) string {
				if v == nil {
					return ""
				}
				return v.String()
			}
			got := fmt.Sprintf("approved=%s pending=%s restore=%s", str(r.Approved), str(r.Pending), str(r.Restore))
			want := fmt.Sprintf("approved=%s pending=%s restore=%s", tt.approved, tt.pending, tt.restore)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("versions mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
