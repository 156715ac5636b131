package plan_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/policy"
	"github.com/duws/duws/builder/site"
)

// bigInput is a fleet whose page is long and wide: many identities with
// long names and notes, many versions each, pending and approved rules.
func bigInput(t testing.TB) *plan.Input {
	t.Helper()
	files := fakeFiles{}
	src := policyHead + "rules:\n"
	var pkgs []plan.Package
	versions := []string{"4.0.7577.4100", "4.0.7577.4200", "4.0.7577.4300", "4.0.7577.4363", "4.0.7577.4398", "4.0.7577.4400", "4.0.7577.4455", "4.0.7577.4500"}
	for i := range 24 {
		id := fmt.Sprintf("UCPhone/%s/%s/Revision%d/%s", []string{"Polycom", "Aastra", "Hewlett-Packard"}[i%3], []string{"CX600", "CX3000", "6725ip", "4120"}[i%4], i, []string{"ENU", "DEU", "FRA"}[i%3])
		kv := []string{"approved", versions[3], "restore", versions[0], "note", `"` + strings.Repeat("a note long enough to wrap on a narrow screen ", 2) + `"`}
		if i%2 == 0 {
			kv = append(kv, "pending", versions[6])
		}
		src += ruleYAML(id, kv...)
		pkgs = append(pkgs, fakePackage(files, fmt.Sprintf("p%02d.cab", i), []string{id}, versions...))
	}
	src += "test_devices:\n  - name: lab-cx600-on-the-bench-in-building-seven\n    mac: 00-04-F2-12-34-56\n  - name: dublin\n    serial: sn-1\n    scope: Dublin\n"
	pol, err := policy.Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return &plan.Input{Policy: pol, PolicyBytes: []byte(src), Built: time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), Packages: pkgs}
}

// measureScript writes what the test asserts into the page: the page's
// scroll and client widths, and how many elements stick out of the body.
const measureScript = `<script>
(function () {
  var d = document.documentElement, b = document.body.getBoundingClientRect(), out = 0;
  document.querySelectorAll("body *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > b.right + 1) out++;
    // A table's box scrolls rather than widen the page; it must not
    // need to here, or columns are cut off.
    if (e.classList.contains("table") && e.scrollWidth > e.clientWidth) out++;
  });
  document.body.insertAdjacentHTML("beforeend", '<p id="measure">scroll=' + d.scrollWidth + ' client=' + d.clientWidth + ' out=' + out + '</p>');
})();
</script>`

// TestIndexFitsWidths renders the dashboard in headless Chromium at a
// phone's 400 px and at 800, 1400 and 1920 px: the page must never be
// wider than the window (no horizontal scrolling), nothing may stick out
// of the page's box, no table may need to scroll inside its box (cut
// columns), and every section must be there. Screenshots are
// kept for the test log in DUWS_SCREENSHOTS, or else in
// $TMPDIR/duws-dashboard-screenshots, one per width, replaced each run.
func TestIndexFitsWidths(t *testing.T) {
	browser := chromium(t)
	p := mustPlan(t, bigInput(t))
	page := string(p.Files[site.IndexName].Data)
	if strings.Contains(page, "<script") {
		t.Fatal("index.html has a script")
	}
	dir := t.TempDir()
	measured := filepath.Join(dir, "measure.html")
	plain := filepath.Join(dir, "index.html")
	os.WriteFile(plain, []byte(page), 0o644)
	os.WriteFile(measured, []byte(strings.Replace(page, "</body>", measureScript+"</body>", 1)), 0o644)
	// Kept after the test, for a person to look at: the log names them.
	shots := os.Getenv("DUWS_SCREENSHOTS")
	if shots == "" {
		shots = filepath.Join(os.TempDir(), "duws-dashboard-screenshots")
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`id="measure">scroll=(\d+) client=(\d+) out=(\d+)<`)
	for _, width := range []int{400, 800, 1400, 1920} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			size := fmt.Sprintf("--window-size=%d,1000", width)
			dom := string(runChromium(t, browser, size, "--dump-dom", "file://"+measured))
			m := re.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("no measurement in the page:\n%.2000s", dom)
			}
			if m[1] != m[2] {
				t.Errorf("at %d px the page scrolls sideways: scroll width %s, client width %s", width, m[1], m[2])
			}
			if m[3] != "0" {
				t.Errorf("at %d px %s element(s) stick out of the page's box", width, m[3])
			}
			for _, want := range []string{"Pending updates", "Deployed updates", "Test devices", "What devices are told", "<details"} {
				if !strings.Contains(dom, want) {
					t.Errorf("rendered page lacks %q", want)
				}
			}
			shot := filepath.Join(shots, fmt.Sprintf("index-%d.png", width))
			runChromium(t, browser, size, "--screenshot="+shot, "file://"+plain)
			if fi, err := os.Stat(shot); err != nil || fi.Size() == 0 {
				t.Fatalf("no screenshot: %v", err)
			}
			t.Logf("screenshot at %d px: %s", width, shot)
		})
	}
}

// runChromium runs headless Chromium once, with a fresh profile and no
// network chatter, and returns its standard output.
func runChromium(t *testing.T, browser string, extra ...string) []byte {
	t.Helper()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--hide-scrollbars=false", "--user-data-dir=" + t.TempDir()}
	cmd := exec.Command(browser, append(args, extra...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("chromium %v timed out\n%s", extra, errb.String())
	}
	return out.Bytes()
}
