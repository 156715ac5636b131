package quantum

import "testing"

func TestSlotTables(t *testing.T) {
	// Known landmarks of the format's tables.
	pos := map[int]slot{0: {0, 0}, 3: {3, 0}, 4: {4, 1}, 5: {6, 1}, 19: {768, 8}, 23: {3072, 10}, 35: {196608, 16}, 41: {1572864, 19}}
	for i, want := range pos {
		if posSlots[i] != want {
			t.Errorf("posSlots[%d] = %+v, want %+v", i, posSlots[i], want)
		}
	}
	length := map[int]slot{0: {0, 0}, 5: {5, 0}, 6: {6, 1}, 10: {14, 2}, 22: {126, 5}, 25: {222, 5}, 26: {254, 0}}
	for i, want := range length {
		if lengthSlots[i] != want {
			t.Errorf("lengthSlots[%d] = %+v, want %+v", i, lengthSlots[i], want)
		}
	}
	// The slots of each window size reach exactly the window size.
	for bits := MinWindowBits; bits <= MaxWindowBits; bits++ {
		s := posSlots[2*bits-1]
		if got := s.base + 1<<s.extra; got != 1<<bits {
			t.Errorf("window bits %d: farthest distance %d, want %d", bits, got, 1<<bits)
		}
	}
	if s := lengthSlots[numLengthSlots-2]; s.base+1<<s.extra+minVarMatch != maxVarMatch {
		t.Errorf("length slots end at %d, want %d", s.base+1<<s.extra+minVarMatch, maxVarMatch)
	}
	if s := lengthSlots[numLengthSlots-1]; s.base+minVarMatch != maxVarMatch {
		t.Errorf("last length slot codes %d, want %d", s.base+minVarMatch, maxVarMatch)
	}
}
