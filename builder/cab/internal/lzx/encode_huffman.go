package lzx

import "sort"

// Encoder side of the Huffman codes: length-limited code lengths from
// symbol counts, canonical code values, and the pretree-coded form in
// which a block sends its main and length trees.

// bitWriter packs bits into 16-bit little-endian words, most significant
// bit first: the mirror of bitReader.
type bitWriter struct {
	out []byte
	acc uint64 // pending bits in the low n bits
	n   uint
}

// put writes the low k bits of v, k <= 32.
func (w *bitWriter) put(v uint32, k uint) {
	w.acc = w.acc<<k | uint64(v)&(1<<k-1)
	w.n += k
	for w.n >= 16 {
		w.n -= 16
		word := uint16(w.acc >> w.n)
		w.out = append(w.out, byte(word), byte(word>>8))
	}
}

// flush pads with zero bits to a 16-bit boundary.
func (w *bitWriter) flush() {
	if w.n > 0 {
		w.put(0, 16-w.n)
	}
}

// huffLengths returns code lengths of at most maxLen bits for the given
// symbol counts; symbols with count 0 get length 0. When fewer than two
// symbols occur it still returns a complete code of two 1-bit symbols
// (choosing symbols 0 and 1 where it must), since decoders need not
// accept a code of one symbol, nor an empty one.
func huffLengths(freq []uint32, maxLen int) []uint8 {
	lens := make([]uint8, len(freq))
	var used []int
	for s, f := range freq {
		if f > 0 {
			used = append(used, s)
		}
	}
	if len(used) < 2 {
		other := 0
		if len(used) == 1 && used[0] == 0 {
			other = 1
		}
		lens[other] = 1
		if len(used) == 1 {
			lens[used[0]] = 1
		} else {
			lens[1] = 1
		}
		return lens
	}
	f := make([]uint64, len(freq))
	for s, c := range freq {
		f[s] = uint64(c)
	}
	for {
		if huffmanDepths(f, used, lens) <= maxLen {
			return lens
		}
		// Too deep: flatten the distribution and try again. All counts
		// 1 gives a balanced tree, so this ends.
		for _, s := range used {
			f[s] = (f[s] + 1) / 2
		}
	}
}

// huffmanDepths builds a Huffman tree over the used symbols with two
// queues (sorted leaves, then internal nodes in the order made), sets
// lens to the leaves' depths and returns the largest.
func huffmanDepths(f []uint64, used []int, lens []uint8) int {
	type node struct {
		weight uint64
		parent int
	}
	leaves := append([]int(nil), used...)
	sort.SliceStable(leaves, func(i, j int) bool { return f[leaves[i]] < f[leaves[j]] })
	nodes := make([]node, 0, 2*len(leaves))
	for _, s := range leaves {
		nodes = append(nodes, node{weight: f[s], parent: -1})
	}
	nl := len(leaves)
	li, ii := 0, nl // next unpaired leaf, next unpaired internal node
	pick := func() int {
		if li < nl && (ii >= len(nodes) || nodes[li].weight <= nodes[ii].weight) {
			li++
			return li - 1
		}
		ii++
		return ii - 1
	}
	for k := 0; k < nl-1; k++ {
		a := pick()
		b := pick()
		nodes = append(nodes, node{weight: nodes[a].weight + nodes[b].weight, parent: -1})
		nodes[a].parent = len(nodes) - 1
		nodes[b].parent = len(nodes) - 1
	}
	depth := make([]int, len(nodes))
	for i := len(nodes) - 2; i >= 0; i-- {
		depth[i] = depth[nodes[i].parent] + 1
	}
	maxDepth := 0
	for i, s := range leaves {
		lens[s] = uint8(depth[i])
		maxDepth = max(maxDepth, depth[i])
	}
	return maxDepth
}

// canonicalCodes gives each symbol its code, as the decoder's tables
// expect: by length, then by symbol.
func canonicalCodes(lens []uint8) []uint32 {
	var count [maxCodeLen + 1]uint32
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [maxCodeLen + 1]uint32
	code := uint32(0)
	for l := 1; l <= maxCodeLen; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint32, len(lens))
	for s, l := range lens {
		if l > 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

// pretreeItem is one pretree symbol with its extra bits; for symbol 19
// (a run of one length) delta is the difference symbol that follows.
type pretreeItem struct {
	sym   uint8
	extra uint8
	delta uint8
}

// writeLengths sends lens[first:last] as differences from
// prev[first:last], and then makes prev match. It uses every kind of
// pretree symbol: differences, runs of zeros (17, 18) and runs of one
// length (19).
func writeLengths(w *bitWriter, lens, prev []uint8, first, last int) {
	var items []pretreeItem
	var freq [numPretreeSymbols]uint32
	diff := func(x int) uint8 { return (prev[x] + 17 - lens[x]) % 17 }
	for x := first; x < last; {
		run := 1
		for x+run < last && lens[x+run] == lens[x] {
			run++
		}
		switch {
		case lens[x] == 0 && run >= 20:
			run = min(run, 51)
			items = append(items, pretreeItem{sym: 18, extra: uint8(run - 20)})
		case lens[x] == 0 && run >= 4:
			run = min(run, 19)
			items = append(items, pretreeItem{sym: 17, extra: uint8(run - 4)})
		case lens[x] != 0 && run >= 4:
			run = min(run, 5)
			items = append(items, pretreeItem{sym: 19, extra: uint8(run - 4), delta: diff(x)})
			freq[diff(x)]++
		default:
			run = 1
			items = append(items, pretreeItem{sym: diff(x)})
		}
		freq[items[len(items)-1].sym]++
		x += run
	}
	preLens := huffLengths(freq[:], 15)
	codes := canonicalCodes(preLens)
	for _, l := range preLens {
		w.put(uint32(l), 4)
	}
	for _, it := range items {
		w.put(codes[it.sym], uint(preLens[it.sym]))
		switch it.sym {
		case 17:
			w.put(uint32(it.extra), 4)
		case 18:
			w.put(uint32(it.extra), 5)
		case 19:
			w.put(uint32(it.extra), 1)
			w.put(codes[it.delta], uint(preLens[it.delta]))
		}
	}
	copy(prev[first:last], lens[first:last])
}
