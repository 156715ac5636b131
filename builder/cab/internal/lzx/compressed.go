package lzx

import "encoding/binary"

// decodeCompressed decodes the symbols of a verbatim or aligned-offset
// block into the window, from d.wpos up to exactly end. end is the nearer
// of the block's end and the frame's: a match that would run past it is
// an error, as in the reference decoder.
//
// This is the hot loop: the bit reader and the repeated offsets live in
// local variables, and refills and table look-ups are written out.
func (d *Decoder) decodeCompressed(end int, aligned bool) error {
	src := d.br.src
	p, buf, n := d.br.p, d.br.buf, d.br.n
	win := d.window
	wsize := d.wsize
	wpos := d.wpos
	r0, r1, r2 := d.r0, d.r1, d.r2
	mainT := d.mainTable.entries
	lenT := d.lengthTable.entries
	alignT := d.alignedTable.entries
	numMain := uint32(d.numMain)
	// Once the folder's output has filled the window, a match may reach
	// back a whole window; before that, only to the folder's first byte,
	// which is window position 0 (a frame never crosses the window end).
	full := d.total >= int64(wsize)
	q := &d.queue
	nq := 0

	var err error
symbols:
	for wpos < end {
		if n < minRefill {
			if p+8 <= len(src) {
				x := swapWords(binary.BigEndian.Uint64(src[p:]))
				buf |= x >> n
				k := (64 - n) >> 4
				p += int(k << 1)
				n += k << 4
			} else {
				p, buf, n = refill(src, p, buf, n)
			}
		}

		// Main tree symbol: a literal, or a match's slot and length.
		e := mainT[buf>>(64-mainTableBits)]
		if e&linkFlag != 0 {
			e = mainT[int(e>>8)&linkOffMask+int((buf<<mainTableBits)>>((64-e)&63))]
		}
		l := uint(e & entryLenMask)
		buf <<= l
		n -= l
		sym := e >> 8
		if sym < numChars {
			win[wpos] = byte(sym)
			wpos++
			continue
		}
		if sym >= numMain {
			err = d.corrupt("main tree code missing")
			break symbols
		}
		sym -= numChars
		slot := sym >> 3
		length := int(sym&7) + minMatch
		if sym&7 == numPrimaryLengths {
			e := lenT[buf>>(64-lengthTableBits)]
			if e&linkFlag != 0 {
				e = lenT[int(e>>8)&linkOffMask+int((buf<<lengthTableBits)>>((64-e)&63))]
			}
			l := uint(e & entryLenMask)
			buf <<= l
			n -= l
			ls := e >> 8
			if ls >= numLengthSymbols {
				err = d.corrupt("length tree code missing")
				break symbols
			}
			length += int(ls)
		}

		var off uint32
		switch slot {
		case 0:
			off = r0
		case 1:
			off = r1
			r1 = r0
			r0 = off
		case 2:
			off = r2
			r2 = r0
			r0 = off
		default:
			slot &= 63
			extra := uint(footerBits[slot])
			off = positionBase[slot] - 2
			if aligned && extra >= 3 {
				// The low 3 bits come from the aligned tree.
				if extra > 3 {
					v := buf >> ((64 - (extra - 3)) & 63)
					buf <<= extra - 3
					n -= extra - 3
					off += uint32(v) << 3
				}
				if n < 16 {
					p, buf, n = refill(src, p, buf, n)
				}
				e := alignT[buf>>(64-alignedTableBits)]
				l := uint(e & entryLenMask)
				buf <<= l
				n -= l
				as := e >> 8
				if as >= numAlignedSymbols {
					err = d.corrupt("aligned offset tree code missing")
					break symbols
				}
				off += as
			} else if extra > 0 {
				v := buf >> ((64 - extra) & 63)
				buf <<= extra
				n -= extra
				off += uint32(v)
			}
			r2 = r1
			r1 = r0
			r0 = off
		}

		if length > end-wpos {
			err = d.corrupt("match of %d bytes at frame offset %d runs past the end of its block or frame", length, wpos-d.frameStart)
			break symbols
		}
		if off == 0 || off > uint32(wsize) {
			err = d.badOffset(off, wpos)
			break symbols
		}
		s := wpos - int(off)
		if s < 0 {
			if !full {
				err = d.badOffset(off, wpos)
				break symbols
			}
			s += wsize
		}
		// Queue the copy. Literals that follow go to the window at
		// once, and the queued copies run in order later: fine, unless
		// this match reads from ahead of the output (round the window)
		// where later symbols of the run will write.
		q[nq] = matchCopy{dst: int32(wpos), src: int32(s), n: int32(length), off: off}
		nq++
		if nq == len(q) || s > wpos && s < end {
			copyMatches(win, wsize, q[:nq])
			nq = 0
		}
		wpos += length
	}

	copyMatches(win, wsize, q[:nq])
	d.br.p, d.br.buf, d.br.n = p, buf, n
	d.wpos = wpos
	d.r0, d.r1, d.r2 = r0, r1, r2
	return err
}

// matchCopy is a match waiting to be copied in the window.
type matchCopy struct {
	dst, src, n int32
	off         uint32
}

// copyQueueLen is how many match copies are gathered before they run, in
// a loop of their own: the symbol decoding loop stays small, and the
// window reads of successive copies, often far apart, may overlap.
const copyQueueLen = 64

// copyMatches runs queued match copies in order.
func copyMatches(win []byte, wsize int, q []matchCopy) {
	for _, m := range q {
		wpos, s, length, off := int(m.dst), int(m.src), int(m.n), int(m.off)
		switch {
		case off >= 8 && off <= wsize-8 && s+length <= wsize:
			// The source is 8 or more bytes behind the output, or
			// (round the window) 8 or more ahead of it, so no load
			// below reads a byte this copy has already written,
			// except where the byte is the same as the one read
			// before (the last, overlapping move of a long match).
			// Nothing is written past the match.
			switch {
			case length >= 8:
				for i := 0; i < length-8; i += 8 {
					binary.LittleEndian.PutUint64(win[wpos+i:], binary.LittleEndian.Uint64(win[s+i:]))
				}
				binary.LittleEndian.PutUint64(win[wpos+length-8:], binary.LittleEndian.Uint64(win[s+length-8:]))
			case length >= 4:
				a := binary.LittleEndian.Uint32(win[s:])
				b := binary.LittleEndian.Uint32(win[s+length-4:])
				binary.LittleEndian.PutUint32(win[wpos:], a)
				binary.LittleEndian.PutUint32(win[wpos+length-4:], b)
			default:
				a := binary.LittleEndian.Uint16(win[s:])
				b := binary.LittleEndian.Uint16(win[s+length-2:])
				binary.LittleEndian.PutUint16(win[wpos:], a)
				binary.LittleEndian.PutUint16(win[wpos+length-2:], b)
			}
		case s+length <= wsize:
			// Short offsets repeat a pattern: byte by byte.
			dst := win[wpos : wpos+length]
			src := win[s : s+length]
			for i := range dst {
				dst[i] = src[i]
			}
		default:
			// The source runs past the end of the window into its
			// start.
			for i := 0; i < length; i++ {
				win[wpos+i] = win[s]
				s++
				if s == wsize {
					s = 0
				}
			}
		}
	}
}

// badOffset is the error for a match at window position wpos whose offset
// is 0 or reaches before the window or the folder's output.
func (d *Decoder) badOffset(off uint32, wpos int) error {
	frameOff := wpos - d.frameStart
	switch {
	case off == 0:
		return d.corrupt("match offset 0 at frame offset %d", frameOff)
	case off > uint32(d.wsize):
		return d.corrupt("match offset %d beyond window of %d bytes", off, d.wsize)
	}
	return d.corrupt("match offset %d at frame offset %d reaches before the start of the folder", off, frameOff)
}
