package workspace

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/duws/duws/builder/plan"
	"github.com/duws/duws/builder/publish"
	"github.com/duws/duws/internal/fleettest"
)

// A build over packages import stored reads each cabinet once: the hashes
// import learnt come from the sidecars, so an offered file is decompressed
// at most once per build (to copy it into the tree), and none is opened
// only to hash it.
func TestBuildDecompressesEachOfferedFileOnce(t *testing.T) {
	dir, policyPath := fleettest.ExampleFleet(t, "../..")
	if _, err := importFiles(t, policyPath, vendorFiles(t, dir)...); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	opens := map[[2]string]int{}
	src := &Sources{PolicyPath: policyPath, opened: func(pkg, path string) {
		mu.Lock()
		opens[[2]string{pkg, path}]++
		mu.Unlock()
	}}
	defer src.Close()
	in, err := src.Load("")
	if err != nil {
		t.Fatal(err)
	}
	if len(opens) != 0 {
		t.Errorf("loading the build input opened %d package files; want none (the sidecars hold their hashes)", len(opens))
	}
	p, err := plan.MakePlan(in)
	if err != nil {
		t.Fatal(err)
	}
	w := &publish.Writer{Dir: t.TempDir(), Keep: 1, Open: src.Open}
	if _, err := w.Write(p); err != nil {
		t.Fatal(err)
	}
	offered := 0
	for _, o := range p.Files {
		if o.Source != nil {
			offered++
			if n := opens[[2]string{o.Source.Package, o.Source.Path}]; n != 1 {
				t.Errorf("%s %s decompressed %d times, want once", o.Source.Package, o.Source.Path, n)
			}
		}
	}
	if offered == 0 || len(opens) != offered {
		t.Errorf("%d package files opened for %d offered", len(opens), offered)
	}
}

// A store from before sidecars still builds: the offered files are read
// and hashed, and give the same plan.
func TestBuildWithoutSidecars(t *testing.T) {
	dir, policyPath := fleettest.ExampleFleet(t, "../..")
	if _, err := importFiles(t, policyPath, vendorFiles(t, dir)...); err != nil {
		t.Fatal(err)
	}
	load := func() *plan.Plan {
		src := &Sources{PolicyPath: policyPath}
		defer src.Close()
		in, err := src.Load("")
		if err != nil {
			t.Fatal(err)
		}
		p, err := plan.MakePlan(in)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	with := load()
	sidecars, _ := filepath.Glob(filepath.Join(dir, "examples", "packages", "*.hashes.json"))
	if len(sidecars) == 0 {
		t.Fatal("import kept no sidecars")
	}
	for _, s := range sidecars {
		os.Remove(s)
	}
	without := load()
	if with.Manifest.Inputs.Digest != without.Manifest.Inputs.Digest || len(with.Manifest.Files) != len(without.Manifest.Files) {
		t.Fatal("plans differ")
	}
	for i := range with.Manifest.Files {
		if with.Manifest.Files[i] != without.Manifest.Files[i] {
			t.Errorf("%s differs: %+v, %+v", with.Manifest.Files[i].Path, with.Manifest.Files[i], without.Manifest.Files[i])
		}
	}
}
