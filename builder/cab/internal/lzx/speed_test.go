package lzx

import (
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSpeed decodes the LZX folders of the cabinet named by LZX_SPEED and
// reports the speed per CPU second, which a loaded machine distorts less
// than wall time, to compare with other extractors on the same file (see
// TestWriteBenchCab).
func TestSpeed(t *testing.T) {
	path := os.Getenv("LZX_SPEED")
	if path == "" {
		t.Skip("LZX_SPEED not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cab, err := parseCab(data)
	if err != nil {
		t.Fatal(err)
	}
	f := cab.folders[0]
	d, err := NewDecoder(int(f.typ>>8) & 0x1f)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, FrameSize)
	total := 0
	for _, s := range f.sizes {
		total += s
	}
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	bestCPU, bestWall := time.Hour, time.Hour
	for range 5 {
		c0, w0 := cpuTime(), time.Now()
		d.Reset()
		for i, blk := range f.blocks {
			if err := d.DecodeFrame(dst[:f.sizes[i]], blk); err != nil {
				t.Fatal(err)
			}
		}
		bestCPU, bestWall = min(bestCPU, cpuTime()-c0), min(bestWall, time.Since(w0))
	}
	mb := float64(total) / 1e6
	t.Logf("%s: %.1f MB: %.3f CPU s (%.1f MB/s), %.3f s wall (%.1f MB/s), best of 5",
		path, mb, bestCPU.Seconds(), mb/bestCPU.Seconds(), bestWall.Seconds(), mb/bestWall.Seconds())
}
