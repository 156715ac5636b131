package lzx

import (
	"encoding/binary"
	"errors"
)

// E8TranslationSize is the translation size Encode writes in the stream
// header when asked for E8 translation.
const E8TranslationSize = 12000000

// Encode compresses src as the LZX stream of one cabinet folder, for tests
// and benchmarks only: it aims at exercising the decoder, not at a good
// ratio or speed. It cuts src into frames of FrameSize bytes and returns,
// per frame, the compressed payload (what a cabinet writer puts in one
// CFDATA block) and its uncompressed size; each frame's bitstream is
// flushed to a 16-bit boundary. With e8, the Intel E8 call translation is
// announced in the stream header and applied.
//
// The matcher is greedy over hash chains. LZX blocks come in assorted
// sizes, most one frame long, some spanning several frames or several to a
// frame; each is verbatim or aligned-offset, whichever is smaller (with
// some aligned ones forced), or uncompressed where that is smaller (and
// for some small blocks regardless).
func Encode(src []byte, windowBits int, e8 bool) (blocks [][]byte, sizes []int, err error) {
	e, err := encode(src, windowBits, e8)
	if err != nil {
		return nil, nil, err
	}
	return e.frames, e.sizes, nil
}

func encode(src []byte, windowBits int, e8 bool) (*encoder, error) {
	if err := checkWindowBits(windowBits); err != nil {
		return nil, err
	}
	if len(src) >= 1<<31-FrameSize {
		return nil, errors.New("lzx: encode: input over 2 GiB")
	}
	e := &encoder{
		wsize:   1 << windowBits,
		numMain: numChars + 8*positionSlots[windowBits-MinWindowBits],
		data:    append([]byte(nil), src...),
		r:       [3]uint32{1, 1, 1},
		rng:     0x9e3779b97f4a7c15,
	}
	if e8 {
		for f := 0; f*FrameSize < len(e.data) && f < e8MaxFrames; f++ {
			frame := e.data[f*FrameSize : min(len(e.data), (f+1)*FrameSize)]
			if len(frame) > 10 {
				e8Encode(frame, int32(f*FrameSize), E8TranslationSize)
			}
		}
	}
	if len(src) == 0 {
		return e, nil
	}
	e.m = newMatcher(e.data, e.wsize)
	e.startFrame()
	if e8 {
		e.w.put(1, 1)
		e.w.put(E8TranslationSize>>16, 16)
		e.w.put(E8TranslationSize&0xffff, 16)
	} else {
		e.w.put(0, 1)
	}
	for pos := 0; pos < len(e.data); {
		size := min(e.blockSize(), len(e.data)-pos)
		e.block(pos, size)
		pos += size
	}
	if len(e.data) > 0 {
		e.endFrame()
	}
	return e, nil
}

type encoder struct {
	wsize   int
	numMain int
	data    []byte
	m       *matcher
	r       [3]uint32 // repeated offsets as the decoder has them
	rng     uint64

	prevMain   [maxMainSymbols + lengthSlack]uint8
	prevLength [numLengthSymbols + lengthSlack]uint8

	w          bitWriter
	frames     [][]byte
	sizes      []int
	outPos     int // bytes of output coded so far
	frameStart int
	frameEnd   int

	toks []token
	syms []codedSym

	stats encodeStats
}

// encodeStats counts what the encoder used, so that tests can check that
// the decoder's paths get exercised.
type encodeStats struct {
	blocks        [4]int // by block type
	spanning      int    // blocks that continue in a later frame
	oddStoredEnd  int    // odd-sized uncompressed blocks ending a frame
	repeated      [3]int // matches coded with R0, R1, R2
	lengthSymbols int    // matches that needed the length tree
	shortMatches  int    // 2-byte matches
	slots         int    // highest position slot used
}

// codedSym is a token as the block codes it.
type codedSym struct {
	main   uint16
	lenSym int16 // -1: none
	extra  uint8 // footer bits
	footer uint32
	n      uint16 // output bytes
}

func (e *encoder) random() uint64 {
	e.rng ^= e.rng << 13
	e.rng ^= e.rng >> 7
	e.rng ^= e.rng << 17
	return e.rng
}

func (e *encoder) blockSize() int {
	r := e.random()
	switch r % 8 {
	case 0:
		return 1 + int(r>>16%70000)
	case 1:
		return 3 * FrameSize
	case 2:
		return 1 + int(r>>16%3000)
	}
	return FrameSize
}

func (e *encoder) startFrame() {
	e.w = bitWriter{}
	e.frameStart = e.outPos
	e.frameEnd = min(e.outPos+FrameSize, len(e.data))
}

func (e *encoder) endFrame() {
	e.w.flush()
	e.frames = append(e.frames, e.w.out)
	e.sizes = append(e.sizes, e.frameEnd-e.frameStart)
}

// ensureFrame moves on to the next frame when the current one is full;
// call it before writing anything that belongs to the next output bytes.
func (e *encoder) ensureFrame() {
	if e.outPos == e.frameEnd {
		e.endFrame()
		e.startFrame()
	}
}

// block codes data[pos:pos+size] as one LZX block.
func (e *encoder) block(pos, size int) {
	r := e.r
	e.toks = e.m.tokenize(pos, pos+size, &r, e.toks[:0])

	// Code the tokens and count symbols, from the queue at block start.
	r = e.r
	e.syms = e.syms[:0]
	var mainFreq [maxMainSymbols]uint32
	var lenFreq [numLengthSymbols]uint32
	var alignFreq [numAlignedSymbols]uint32
	for _, t := range e.toks {
		if t.length == 0 {
			e.syms = append(e.syms, codedSym{main: uint16(t.lit), lenSym: -1, n: 1})
			mainFreq[t.lit]++
			continue
		}
		slot, footer := slotFor(t.off, &r)
		if slot < 3 {
			e.stats.repeated[slot]++
		}
		e.stats.slots = max(e.stats.slots, slot)
		if t.length == minMatch {
			e.stats.shortMatches++
		}
		head := min(int(t.length)-minMatch, numPrimaryLengths)
		s := codedSym{
			main:   uint16(numChars + slot*8 + head),
			lenSym: -1,
			extra:  footerBits[slot],
			footer: footer,
			n:      t.length,
		}
		if head == numPrimaryLengths {
			s.lenSym = int16(int(t.length) - minMatch - numPrimaryLengths)
			lenFreq[s.lenSym]++
		}
		if s.extra >= 3 {
			alignFreq[footer&7]++
		}
		mainFreq[s.main]++
		e.syms = append(e.syms, s)
	}
	mainLens := huffLengths(mainFreq[:e.numMain], maxCodeLen)
	lenLens := huffLengths(lenFreq[:], maxCodeLen)
	alignLens := huffLengths(alignFreq[:], 7)

	// Pick the block type by size.
	trees := bitWriter{}
	prevMain, prevLength := e.prevMain, e.prevLength
	writeLengths(&trees, mainLens, prevMain[:], 0, numChars)
	writeLengths(&trees, mainLens, prevMain[:], numChars, e.numMain)
	writeLengths(&trees, lenLens, prevLength[:], 0, numLengthSymbols)
	verbatim := 8*len(trees.out) + int(trees.n)
	aligned := verbatim + 8*3
	for _, s := range e.syms {
		c := int(mainLens[s.main])
		if s.lenSym >= 0 {
			c += int(lenLens[s.lenSym])
		}
		verbatim += c + int(s.extra)
		if s.extra >= 3 {
			aligned += c + int(s.extra) - 3 + int(alignLens[s.footer&7])
		} else {
			aligned += c + int(s.extra)
		}
	}
	r2 := e.random()
	typ, cost := blockVerbatim, verbatim
	if aligned < verbatim || r2%6 == 0 {
		typ, cost = blockAligned, aligned
	}
	if pos/FrameSize != (pos+size-1)/FrameSize {
		e.stats.spanning++
	}
	if 8*size+128 < cost || r2%10 == 3 && size <= 4096 {
		e.stats.blocks[blockUncompressed]++
		if size&1 == 1 && (pos+size)%FrameSize == 0 {
			e.stats.oddStoredEnd++
		}
		e.uncompressed(pos, size)
		return
	}
	e.stats.blocks[typ]++
	for _, f := range lenFreq {
		e.stats.lengthSymbols += int(f)
	}
	e.r = r

	e.ensureFrame()
	e.w.put(uint32(typ), 3)
	e.w.put(uint32(size), 24)
	var alignCodes []uint32
	if typ == blockAligned {
		for _, l := range alignLens {
			e.w.put(uint32(l), 3)
		}
		alignCodes = canonicalCodes(alignLens)
	}
	writeLengths(&e.w, mainLens, e.prevMain[:], 0, numChars)
	writeLengths(&e.w, mainLens, e.prevMain[:], numChars, e.numMain)
	writeLengths(&e.w, lenLens, e.prevLength[:], 0, numLengthSymbols)
	mainCodes := canonicalCodes(mainLens)
	lenCodes := canonicalCodes(lenLens)
	for _, s := range e.syms {
		e.ensureFrame()
		e.w.put(mainCodes[s.main], uint(mainLens[s.main]))
		if s.lenSym >= 0 {
			e.w.put(lenCodes[s.lenSym], uint(lenLens[s.lenSym]))
		}
		if typ == blockAligned && s.extra >= 3 {
			e.w.put(s.footer>>3, uint(s.extra)-3)
			e.w.put(alignCodes[s.footer&7], uint(alignLens[s.footer&7]))
		} else {
			e.w.put(s.footer, uint(s.extra))
		}
		e.outPos += int(s.n)
	}
}

// uncompressed writes data[pos:pos+size] as an uncompressed block.
func (e *encoder) uncompressed(pos, size int) {
	e.ensureFrame()
	e.w.put(blockUncompressed, 3)
	e.w.put(uint32(size), 24)
	if e.w.n == 0 {
		e.w.put(0, 16)
	}
	e.w.flush()
	for _, r := range e.r {
		e.w.out = binary.LittleEndian.AppendUint32(e.w.out, r)
	}
	for rest := size; rest > 0; {
		e.ensureFrame()
		k := min(rest, e.frameEnd-e.outPos)
		e.w.out = append(e.w.out, e.data[pos:pos+k]...)
		pos += k
		rest -= k
		e.outPos += k
	}
	if size&1 == 1 {
		e.w.out = append(e.w.out, 0)
	}
}
