package quantum

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// writeCab builds a one-folder, one-file cabinet from Quantum frames. Data
// checksums are left zero, which means none.
func writeCab(frames []encodedFrame, windowBits int, name string) []byte {
	le := binary.LittleEndian
	const headerSize, folderSize = 36, 8
	fileSize := 16 + len(name) + 1
	dataStart := headerSize + folderSize + fileSize
	total := 0
	for _, f := range frames {
		total += f.size
	}
	var b []byte
	b = append(b, "MSCF"...)
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, 0) // cbCabinet, set below
	b = le.AppendUint32(b, 0)
	b = le.AppendUint32(b, headerSize+folderSize) // coffFiles
	b = le.AppendUint32(b, 0)
	b = append(b, 3, 1)            // version 1.3
	b = le.AppendUint16(b, 1)      // folders
	b = le.AppendUint16(b, 1)      // files
	b = le.AppendUint16(b, 0)      // flags
	b = le.AppendUint16(b, 0x1234) // set ID
	b = le.AppendUint16(b, 0)      // cabinet index
	b = le.AppendUint32(b, uint32(dataStart))
	b = le.AppendUint16(b, uint16(len(frames)))
	b = le.AppendUint16(b, uint16(compQuantum|windowBits<<8|4<<4))
	b = le.AppendUint32(b, uint32(total))
	b = le.AppendUint32(b, 0)      // offset in folder
	b = le.AppendUint16(b, 0)      // folder
	b = le.AppendUint16(b, 0x5A21) // date
	b = le.AppendUint16(b, 0x6000) // time
	b = le.AppendUint16(b, 0x20)   // attributes
	b = append(b, name...)
	b = append(b, 0)
	for _, f := range frames {
		b = le.AppendUint32(b, 0)
		b = le.AppendUint16(b, uint16(len(f.data)))
		b = le.AppendUint16(b, uint16(f.size))
		b = append(b, f.data...)
	}
	le.PutUint32(b[8:], uint32(len(b)))
	return b
}

// TestCabextract checks the test encoder's streams against an independent
// decoder, libmspack's (through cabextract), where one is installed. The
// round-trip tests share the model code between encoder and decoder; this
// shows the shared code is the format's.
func TestCabextract(t *testing.T) {
	tool, err := exec.LookPath("cabextract")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("cabextract is needed in CI (.ci/run installs it)")
		}
		t.Skip("cabextract not installed")
	}
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
