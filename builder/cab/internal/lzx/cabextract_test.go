package lzx

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// TestCabextract has cabextract (libmspack), where installed, decompress
// cabinets made with Encode: a check of the encoder, and so of the
// round-trip tests, against the reference decoder.
func TestCabextract(t *testing.T) {
	bin := cabtest.NeedTool(t, "cabextract")
	rng := rand.New(rand.NewPCG(7, 7))
	inputs := map[string][]byte{
		"mixed":  genMixed(rng, 1<<20+12345),
		"exe":    genExe(rng, 300000, 0),
		"small":  genText(rng, 11),
		"random": genRandom(rng, 100001),
	}
	if testing.Short() || raceEnabled {
		delete(inputs, "mixed")
	}
	dir := t.TempDir()
	for name, src := range inputs {
		for wb := MinWindowBits; wb <= MaxWindowBits; wb++ {
			e8 := wb%2 == 1
			blocks, sizes, err := Encode(src, wb, e8)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, name+".cab")
			if err := os.WriteFile(path, writeCab("data.bin", wb, len(src), blocks, sizes), 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "-q", "-p", path)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s window 2^%d: cabextract: %v: %s", name, wb, err, stderr.String())
			}
			if !bytes.Equal(out, src) {
				t.Fatalf("%s window 2^%d e8 %v: cabextract output differs (%d bytes, want %d)", name, wb, e8, len(out), len(src))
			}
			t.Logf("%s window 2^%d e8 %v: cabextract ok in %v", name, wb, e8, time.Since(start))
		}
	}
}
