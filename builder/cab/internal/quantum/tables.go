package quantum

// Sizes of the symbol models.
const (
	numSelectors   = 7  // 4 literal selectors and 3 match selectors
	numLiteralSyms = 64 // each literal model covers a quarter of the byte values
	numLengthSlots = 27 // length model of selector 6
	maxPosSlots    = 42 // position slots for the largest (2 MiB) window
	maxModelSyms   = numLiteralSyms

	// Position models of selectors 4 and 5 are capped: a 3-byte match is not
	// coded further than 4 KiB back, nor a 4-byte one further than 256 KiB.
	maxPosSlots3 = 24
	maxPosSlots4 = 36
)

// Match lengths.
const (
	minVarMatch = 5   // shortest match of selector 6
	maxVarMatch = 259 // longest match of selector 6
)

// slot describes one position or length slot: the smallest value it codes and
// the number of raw bits that follow it in the stream.
type slot struct {
	base  uint32
	extra uint8
}

// posSlots maps a position slot to its distance base (distance minus one) and
// extra bits. Slots come in pairs of equal width: two 1-value slots for 0 and
// 1, two for 2 and 3, then pairs of 2, 4, 8, ... values, so that the 42 slots
// reach 2 MiB.
var posSlots = func() (t [maxPosSlots]slot) {
	var base uint32
	for i := range t {
		var extra uint8
		if i >= 4 {
			extra = uint8(i/2 - 1)
		}
		t[i] = slot{base, extra}
		base += 1 << extra
	}
	return t
}()

// lengthSlots maps a length slot of selector 6 to its length base (length
// minus minVarMatch) and extra bits. Slots widen every four: six 1-value
// slots, then four each of width 2, 4, 8, 16 and 32; the last slot stands for
// the single longest length.
var lengthSlots = func() (t [numLengthSlots]slot) {
	var base uint32
	for i := 0; i < numLengthSlots-1; i++ {
		var extra uint8
		if i >= 6 {
			extra = uint8((i - 2) / 4)
		}
		t[i] = slot{base, extra}
		base += 1 << extra
	}
	t[numLengthSlots-1] = slot{base, 0}
	return t
}()
