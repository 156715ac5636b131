package lzx

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// TestLastMatchPastDeclaredEndRefused is issue 11's Quantum case checked
// for LZX: a folder whose last block declares fewer bytes than its last
// match produces. Unlike Quantum, libmspack's LZX decoder insists that a
// frame's decoding ends exactly at its size, so the decoder refuses it,
// and cabextract, where installed, refuses it too.
func TestLastMatchPastDeclaredEndRefused(t *testing.T) {
	src := bytes.Repeat([]byte("abcdefghij"), 2*FrameSize/10+37)
	blocks, sizes, err := Encode(src, 16, false)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := decodeFrames(t, 16, blocks, sizes); err != nil || !bytes.Equal(out, src) {
		t.Fatalf("as encoded: %v", err)
	}
	short := append([]int{}, sizes...)
	short[len(short)-1] -= 5
	_, err = decodeFrames(t, 16, blocks, short)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "runs past") {
		t.Fatalf("last match past the declared end: %v, want a match error wrapping ErrCorrupt", err)
	}
	tool := cabtest.NeedTool(t, "cabextract")
	path := filepath.Join(t.TempDir(), "overshoot.cab")
	if err := os.WriteFile(path, writeCab("f.bin", 16, len(src)-5, blocks, short), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, "-q", "-p", path).Output(); err == nil {
		t.Errorf("cabextract accepted it (%d bytes): the decoder should too", len(out))
	}
}
