package lzx

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// threadCPU is the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestSpeed compares, on the cabinet named by LZX_SPEED (see
// TestWriteBenchCab), the CPU time this package takes to decode its first
// folder with the CPU time of `cabextract -p` (where installed) on the
// whole cabinet, taking the best of interleaved runs: CPU time, and the
// best of several, suffer less than wall time from a busy machine.
func TestSpeed(t *testing.T) {
	path := os.Getenv("LZX_SPEED")
	if path == "" {
		t.Skip("LZX_SPEED not set")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cab, err := cabtest.Parse(data)
	if err == nil {
		err = cab.Complete(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	folder := cab.Folders[0]
	f := struct {
		blocks [][]byte
		sizes  []int
	}{folder.Payloads(), folder.Sizes()}
	d, err := NewDecoder(folder.WindowBits())
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, FrameSize)
	total := 0
	for _, s := range f.sizes {
		total += s
	}
	cabextract, _ := exec.LookPath("cabextract")
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	ours, theirs := time.Hour, time.Hour
	for range 7 {
		c0 := threadCPU()
		d.Reset()
		for i, blk := range f.blocks {
			if err := d.DecodeFrame(dst[:f.sizes[i]], blk); err != nil {
				t.Fatal(err)
			}
		}
		ours = min(ours, threadCPU()-c0)
		if cabextract != "" {
			cmd := exec.Command(cabextract, "-q", "-p", path)
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			theirs = min(theirs, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime())
		}
	}
	mb := float64(total) / 1e6
	t.Logf("%s: %.1f MB: lzx %.1f ms (%.0f MB/s)", path, mb, ours.Seconds()*1e3, mb/ours.Seconds())
	if cabextract != "" {
		t.Logf("%s: %.1f MB: cabextract %.1f ms (%.0f MB/s), lzx/cabextract speed %.2f",
			path, mb, theirs.Seconds()*1e3, mb/theirs.Seconds(), theirs.Seconds()/ours.Seconds())
	}
}
