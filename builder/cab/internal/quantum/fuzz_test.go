package quantum

import (
	"bytes"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/duws/duws/builder/cab/internal/cabtest"
)

// FuzzDecodeFrame decodes arbitrary data as two frames in a row. The decoder
// must not panic, must not write past len(dst), must report only errors
// wrapping ErrCorrupt, and must finish promptly.
func FuzzDecodeFrame(f *testing.F) {
	seeds := 0
	_, folders, err := cabtest.CorpusFolders(cabtest.Quantum)
	if err != nil {
		f.Fatal(err)
	}
	for _, folder := range folders {
		for _, blk := range folder.Blocks {
			f.Add(uint8(folder.WindowBits()-MinWindowBits), uint16(blk.Size), blk.Data)
			seeds++
		}
	}
	if _, err := os.Stat(cabtest.CorpusDir()); err == nil && seeds == 0 {
		f.Fatal("no Quantum blocks in the corpus to seed from")
	} else if err != nil && os.Getenv("CI") != "" {
		f.Fatalf("cabinet corpus missing in CI: %v", err)
	}
	for _, bits := range []int{10, 15, 21} {
		data := textLike(MaxFrameSize+100, 1<<bits, uint64(bits))
		frames, _ := compress(data, bits, 8)
		for _, fr := range frames {
			f.Add(uint8(bits-MinWindowBits), uint16(fr.size), fr.data)
			seeds++
		}
	}
	if seeds == 0 {
		f.Fatal("empty seed corpus")
	}

	const canary = 0xA5
	f.Fuzz(func(t *testing.T, bits uint8, size uint16, src []byte) {
		windowBits := MinWindowBits + int(bits)%(MaxWindowBits-MinWindowBits+1)
		n := int(size) % (MaxFrameSize + 1)
		d, err := NewDecoder(windowBits)
		if err != nil {
			t.Fatal(err)
		}
		buf := bytes.Repeat([]byte{canary}, n+64)
		start := time.Now()
		for range 2 {
			err := d.DecodeFrame(buf[:n], src)
			for i, c := range buf[n:] {
				if c != canary {
					t.Fatalf("wrote past len(dst) at dst[%d]", n+i)
				}
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error %v does not wrap ErrCorrupt", err)
				}
				break
			}
		}
		if el := time.Since(start); el > 10*time.Second {
			t.Fatalf("decoding took %v", el)
		}
	})
}

// FuzzRoundTrip compresses arbitrary data with the test encoder and checks
// that the decoder gives it back.
func FuzzRoundTrip(f *testing.F) {
	f.Add(uint8(0), []byte("If you can read this, the Quantum decompressor is working!\n"))
	f.Add(uint8(5), bytes.Repeat([]byte("abc"), 20000))
	f.Add(uint8(11), textLike(70000, 1<<21, 3))
	f.Fuzz(func(t *testing.T, bits uint8, data []byte) {
		windowBits := MinWindowBits + int(bits)%(MaxWindowBits-MinWindowBits+1)
		frames, _ := compress(data, windowBits, 8)
		got, err := decompress(frames, windowBits)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("round trip differs")
		}
	})
}
