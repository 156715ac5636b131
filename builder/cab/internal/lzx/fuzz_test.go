package lzx

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// Fuzz input: the window bits (15 + windowBits%7), the size of the last
// frame (1 + lastSize%32768; the frames before it are 32768 bytes), and
// the frames' payloads, each preceded by its length as a little-endian
// uint16 (a length past the end takes what is left).

const fuzzMaxFrames = 8

func packFrames(blocks [][]byte) []byte {
	var b []byte
	for _, blk := range blocks {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(blk)))
		b = append(b, blk...)
	}
	return b
}

func unpackFrames(b []byte) [][]byte {
	var frames [][]byte
	for len(b) >= 2 && len(frames) < fuzzMaxFrames {
		n := min(int(binary.LittleEndian.Uint16(b)), len(b)-2)
		frames = append(frames, b[2:2+n])
		b = b[2+n:]
	}
	return frames
}

func addFolderSeed(f *testing.F, windowBits int, blocks [][]byte, sizes []int) bool {
	if len(blocks) == 0 || len(blocks) > fuzzMaxFrames || windowBits < MinWindowBits || windowBits > MaxWindowBits {
		return false
	}
	last := sizes[len(sizes)-1]
	for _, s := range sizes[:len(sizes)-1] {
		if s != FrameSize {
			return false
		}
	}
	if last < 1 || last > FrameSize {
		return false
	}
	f.Add(uint8(windowBits-MinWindowBits), uint16(last-1), packFrames(blocks))
	return true
}

// FuzzDecodeFrame decodes arbitrary frames: it must never panic, never
// write past a frame, return only errors that match ErrCorrupt, keep
// refusing after an error, and take bounded time.
func FuzzDecodeFrame(f *testing.F) {
	seeds := 0
	for _, folder := range corpusFolders() {
		if addFolderSeed(f, folder.WindowBits(), folder.Payloads(), folder.Sizes()) {
			seeds++
		}
	}
	rng := rand.New(rand.NewPCG(10, 10))
	for i, src := range [][]byte{
		genText(rng, 5000),
		genExe(rng, 40000, 0),
		genMixed(rng, 3*FrameSize+100),
		genRandom(rng, 3000),
		make([]byte, 2*FrameSize),
		[]byte("a"),
	} {
		wb := MinWindowBits + i%(MaxWindowBits-MinWindowBits+1)
		blocks, sizes, err := Encode(src, wb, i%2 == 0)
		if err != nil {
			f.Fatal(err)
		}
		if addFolderSeed(f, wb, blocks, sizes) {
			seeds++
		}
		// The same, cut short.
		if len(blocks) > 0 && len(blocks[0]) > 8 {
			cut := [][]byte{blocks[0][:len(blocks[0])/2]}
			if addFolderSeed(f, wb, cut, sizes[:1]) {
				seeds++
			}
		}
	}
	if seeds == 0 {
		f.Fatal("empty seed corpus")
	}

	f.Fuzz(func(t *testing.T, windowBits uint8, lastSize uint16, stream []byte) {
		wb := MinWindowBits + int(windowBits)%(MaxWindowBits-MinWindowBits+1)
		frames := unpackFrames(stream)
		d, err := NewDecoder(wb)
		if err != nil {
			t.Fatal(err)
		}
		const guard = 64
		buf := make([]byte, FrameSize+guard)
		start := time.Now()
		var failed error
		for i, src := range frames {
			size := FrameSize
			if i == len(frames)-1 {
				size = 1 + int(lastSize)%FrameSize
			}
			for j := range buf {
				buf[j] = 0xa5
			}
			err := d.DecodeFrame(buf[:size:size], src)
			for j := size; j < len(buf); j++ {
				if buf[j] != 0xa5 {
					t.Fatalf("frame %d: byte %d written past a frame of %d", i, j, size)
				}
			}
			if failed != nil {
				if err != failed {
					t.Fatalf("frame %d after an error: %v, want %v", i, err, failed)
				}
				continue
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("frame %d: error %v does not match ErrCorrupt", i, err)
				}
				failed = err
			}
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Fatalf("%d frames took %v", len(frames), el)
		}
	})
}

// TestMutations damages valid streams (flipped bits, overwritten and
// dropped bytes, cut frames) and decodes them: that reaches deeper into
// the decoder than random input does. Errors must match ErrCorrupt, and
// nothing may panic or write past a frame.
func TestMutations(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	type folder struct {
		wb     int
		blocks [][]byte
		sizes  []int
	}
	var folders []folder
	for i, src := range [][]byte{genMixed(rng, 200000), genExe(rng, 100000, 0), genText(rng, 70000)} {
		wb := []int{15, 17, 21}[i]
		blocks, sizes, _ := Encode(src, wb, true)
		folders = append(folders, folder{wb, blocks, sizes})
	}
	for _, f := range corpusFolders() {
		if wb := f.WindowBits(); wb >= MinWindowBits && wb <= MaxWindowBits {
			folders = append(folders, folder{wb, f.Payloads(), f.Sizes()})
		}
	}
	iterations := 3000
	if testing.Short() || raceEnabled {
		iterations = 600
	}
	failures := 0
	for it := 0; it < iterations; it++ {
		f := folders[rng.IntN(len(folders))]
		blocks := make([][]byte, len(f.blocks))
		for i, b := range f.blocks {
			blocks[i] = append([]byte(nil), b...)
		}
		fi := rng.IntN(len(blocks))
		b := blocks[fi]
		switch k := rng.IntN(5); {
		case len(b) == 0:
		case k == 0:
			for range 1 + rng.IntN(4) {
				b[rng.IntN(len(b))] ^= 1 << rng.IntN(8)
			}
		case k == 1:
			b[rng.IntN(len(b))] = byte(rng.Uint32())
		case k == 2:
			i := rng.IntN(len(b))
			blocks[fi] = append(b[:i], b[min(len(b), i+1+rng.IntN(8)):]...)
		case k == 3:
			blocks[fi] = b[:rng.IntN(len(b))]
		default:
			// Frames swapped or repeated.
			blocks[fi] = blocks[rng.IntN(len(blocks))]
		}
		d, _ := NewDecoder(f.wb)
		buf := make([]byte, FrameSize+8)
		for i, src := range blocks {
			for j := range buf {
				buf[j] = 0x5a
			}
			err := d.DecodeFrame(buf[:f.sizes[i]:f.sizes[i]], src)
			for j := f.sizes[i]; j < len(buf); j++ {
				if buf[j] != 0x5a {
					t.Fatalf("iteration %d: wrote past frame %d", it, i)
				}
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("iteration %d: %v does not match ErrCorrupt", it, err)
				}
				failures++
				break
			}
		}
	}
	t.Logf("%d of %d damaged folders refused", failures, iterations)
}
