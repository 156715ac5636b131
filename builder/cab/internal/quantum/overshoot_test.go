package quantum

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

var update = flag.Bool("update", false, "rewrite the golden cabinets the cab package's tests read")

// overshootGolden is the cabinet the cab package's reader tests decode: a
// Quantum folder whose last match runs past the declared end of its last
// block.
var overshootGolden = filepath.Join("..", "..", "testdata", "quantum-last-match-overshoots.cab")

// overshootFolder encodes a folder of nframes Quantum frames whose last
// frame's parse is a full 32 KiB ending with a 134-byte match at frame
// offset 32,634, while the frame declares only declared bytes, as the
// encoder that made the cabinets of issue 11 did. It returns the frames
// and the bytes a decoder must produce: the input up to the declared end.
func overshootFolder(nframes, windowBits, declared int) ([]encodedFrame, []byte) {
	const matchAt, matchLen, dist = 32634, 134, 1000
	head := textLike((nframes-1)*MaxFrameSize, 1<<windowBits, 21)
	frames, enc := compress(head, windowBits, 8)
	last := textLike(MaxFrameSize, 1<<windowBits, 22)[:matchAt]
	var tokens []token
	for _, c := range last {
		tokens = append(tokens, token{lit: c})
	}
	tokens = append(tokens, token{dist: dist, length: matchLen})
	for range matchLen {
		last = append(last, last[len(last)-dist])
	}
	frames = append(frames, encodedFrame{enc.frame(tokens), declared})
	want := append(append([]byte{}, head...), last[:declared]...)
	return frames, want
}

func TestLastMatchOvershootsDeclaredEnd(t *testing.T) {
	for _, c := range []struct {
		name               string
		frames, bits, decl int
	}{
		{"issue 11: 16 frames, last declares 32639", 16, 16, 32639},
		{"one frame, one byte of the match declared", 1, 15, 32635},
		{"two frames, window 2^21", 2, 21, 32700},
	} {
		t.Run(c.name, func(t *testing.T) {
			frames, want := overshootFolder(c.frames, c.bits, c.decl)
			got, err := decompress(frames, c.bits)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("output of %d bytes differs from the %d declared bytes", len(got), len(want))
			}
		})
	}
}

func TestFrameAfterOvershootRefused(t *testing.T) {
	// The window lacks the overshoot's bytes, so nothing can follow it.
	frames, _ := overshootFolder(1, 15, 32639)
	d, _ := NewDecoder(15)
	if err := d.DecodeFrame(make([]byte, 32639), frames[0].data); err != nil {
		t.Fatal(err)
	}
	next := newTestEncoder(15).frame([]token{{lit: 'x'}})
	if err := d.DecodeFrame(make([]byte, 1), next); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("frame after an overshooting one: %v, want an error wrapping ErrCorrupt", err)
	}
}

func TestOvershootRefusedWhereLibmspackRefuses(t *testing.T) {
	lits := func(n int) (tk []token) {
		for i := range n {
			tk = append(tk, token{lit: byte('a' + i%7)})
		}
		return tk
	}
	for _, c := range []struct {
		name       string
		bits, size int
		tokens     []token
		ok         bool
	}{
		{"inside the frame and window", 15, 32700, append(lits(32690), token{dist: 7, length: 78}), true},
		{"past the 32 KiB frame", 15, 32700, append(lits(32690), token{dist: 7, length: 79}), false},
		{"long match past the 32 KiB frame", 15, 32760, append(lits(32750), token{dist: 7, length: 259}), false},
		{"inside a 1 KiB window", 10, 910, append(lits(900), token{dist: 7, length: 124}), true},
		{"over the end of a 1 KiB window", 10, 910, append(lits(900), token{dist: 7, length: 125}), false},
	} {
		err := corruptFrame(t, c.bits, c.size, c.tokens)
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && !errors.Is(err, ErrCorrupt):
			t.Errorf("%s: got %v, want an error wrapping ErrCorrupt", c.name, err)
		}
	}
}

// TestCabextractLastMatchOvershoots has libmspack decode the case,
// so that what the decoder accepts is what the reference accepts, and
// keeps the golden cabinet of the cab package's tests in step.
func TestCabextractLastMatchOvershoots(t *testing.T) {
	frames, want := overshootFolder(16, 16, 32639)
	cab := writeCab(frames, 16, "overshoot.bin")
	golden, gerr := os.ReadFile(overshootGolden)
	small, _ := overshootFolder(2, 16, 32639)
	smallCab := writeCab(small, 16, "overshoot.bin")
	if *update {
		if err := os.WriteFile(overshootGolden, smallCab, 0o644); err != nil {
			t.Fatal(err)
		}
	} else if gerr != nil || !bytes.Equal(golden, smallCab) {
		t.Errorf("%s is not what the encoder makes (%v): run go test -update", overshootGolden, gerr)
	}
	tool := cabtest.NeedTool(t, "cabextract")
	path := filepath.Join(t.TempDir(), "overshoot.cab")
	if err := os.WriteFile(path, cab, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tool, "-q", "-p", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cabextract: %v: %s", err, stderr.Bytes())
	}
	if !bytes.Equal(out, want) {
		t.Errorf("cabextract wrote %d bytes, want the %d declared ones", len(out), len(want))
	}
}
