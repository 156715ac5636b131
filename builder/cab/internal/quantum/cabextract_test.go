package quantum

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// writeCab builds a one-folder, one-file cabinet from Quantum frames, at
// level 4 (of no concern to decoders).
func writeCab(frames []encodedFrame, windowBits int, name string) []byte {
	var blocks [][]byte
	var sizes []int
	total := 0
	for _, f := range frames {
		blocks = append(blocks, f.data)
		sizes = append(sizes, f.size)
		total += f.size
	}
	return cabtest.OneFolder(name, uint16(cabtest.Quantum|windowBits<<8|4<<4), 0x1234, total, blocks, sizes)
}

// TestCabextract checks the test encoder's streams against an independent
// decoder, libmspack's (through cabextract), where one is installed. The
// round-trip tests share the model code between encoder and decoder; this
// shows the shared code is the format's.
func TestCabextract(t *testing.T) {
	tool := cabtest.NeedTool(t, "cabextract")
	cases := []struct {
		name string
		bits int
		data []byte
	}{
		{"text-10", 10, textLike(5*MaxFrameSize+321, 1<<10, 11)},
		{"text-15", 15, textLike(9*MaxFrameSize+5, 1<<15, 12)},
		{"text-21", 21, textLike(24*MaxFrameSize+4321, 1<<21, 13)},
		{"random-16", 16, randomBytes(4*MaxFrameSize, 14)},
		{"runs-12", 12, bytes.Repeat([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"), 5000)},
	}
	dir := t.TempDir()
	for _, c := range cases {
		frames, _ := compress(c.data, c.bits, 16)
		if got, err := decompress(frames, c.bits); err != nil || !bytes.Equal(got, c.data) {
			t.Fatalf("%s: our decoder: %v", c.name, err)
		}
		path := filepath.Join(dir, c.name+".cab")
		if err := os.WriteFile(path, writeCab(frames, c.bits, "f.bin"), 0o644); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(tool, "-q", "-p", path)
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: cabextract: %v: %s", c.name, err, stderr.Bytes())
			continue
		}
		if !bytes.Equal(out, c.data) {
			i := 0
			for i < len(out) && i < len(c.data) && out[i] == c.data[i] {
				i++
			}
			t.Errorf("%s: cabextract's output differs at byte %d (%d of %d bytes)", c.name, i, len(out), len(c.data))
		}
	}
}
