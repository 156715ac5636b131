package plan_test

import (
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duws/duws/builder/site"
)

func TestIndexSelfContained(t *testing.T) {
	in, _ := testInput(t)
	// <wbr> lets identities wrap after their slashes.
	html := strings.ReplaceAll(string(mustPlan(t, in).Files[site.IndexName].Data), "<wbr>", "")
	for _, bad := range []string{"<script", "src=", "href=\"http", "@import", "url("} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html is not self-contained: has %q", bad)
		}
	}
	for _, want := range []string{"Pending updates", "UCPhone/HP/4120/A/ENU", "4.0.7577.4398", "lab", "Dublin", "update to 4.0.7577.4363"} {
		if !strings.Contains(html, want) {
			t.Errorf("index.html lacks %q", want)
		}
	}
}

// chromium finds Debian's headless browser.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is needed in CI (.ci/run installs it)")
	}
	t.Skip("chromium not installed")
	return ""
}

// TestIndexInBrowser renders index.html in a real browser: the text must
// be there and the screenshot must not be blank.
func TestIndexInBrowser(t *testing.T) {
	browser := chromium(t)
	in, _ := testInput(t)
	// The page is self-contained: it needs none of the rest of the tree.
	page := filepath.Join(t.TempDir(), site.IndexName)
	if err := os.WriteFile(page, mustPlan(t, in).Files[site.IndexName].Data, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(extra ...string) []byte { return runChromium(t, browser, extra...) }
	dom := strings.ReplaceAll(string(run("--dump-dom", "file://"+page)), "<wbr>", "")
	for _, want := range []string{"Pending updates", "Deployed updates", "UCPhone/Polycom/CX600/A/ENU", "What devices are told"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	shot := filepath.Join(t.TempDir(), "index.png")
	run("--screenshot="+shot, "--window-size=1200,900", "file://"+page)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if dark := darkPixels(img); dark < 2000 {
		t.Errorf("screenshot is (nearly) blank: %d dark pixels", dark)
	}
}

func darkPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if (r+g+bl)/3 < 0x8000 {
				n++
			}
		}
	}
	return n
}
