package quantum

// Adaptation parameters shared by every model.
const (
	freqStep        = 8    // added to a symbol's frequency each time it is coded
	freqLimit       = 3800 // a total above this halves the frequencies
	firstRebuild    = 4    // the 4th halving rebuilds (re-sorts) the model...
	rebuildInterval = 50   // ...and every 50th halving after that
)

// model is an adaptive frequency model over a small alphabet.
//
// The format describes a model by cumulative counts: with the symbols in
// the model's current order, cum(i) is the sum of the frequencies of the
// symbols at index i and later, so cum(0) is the total and cum(n) is 0. The
// order changes only when the model is rebuilt, most frequent first. This
// implementation stores the frequencies themselves, which makes an update
// O(1), and works out cumulative counts while it searches. Every frequency
// stays at least 1, and the total at most freqLimit between updates.
type model struct {
	n         int    // number of symbols
	untilSort int    // halvings left before the next rebuild
	total     uint32 // sum of freq[:n]
	sym       [maxModelSyms]uint8
	freq      [maxModelSyms]uint16
}

// init sets up the model for symbols 0..n-1, all with frequency 1, in
// ascending order.
func (m *model) init(n int) {
	m.n = n
	m.untilSort = firstRebuild
	m.total = uint32(n)
	for i := 0; i < n; i++ {
		m.sym[i] = uint8(i)
		m.freq[i] = 1
	}
}

// find returns the index i with cum(i+1) <= target < cum(i), and those two
// cumulative counts. target must be below the total.
func (m *model) find(target uint32) (i int, lo, hi uint32) {
	// cum(i+1) <= target  <=>  freq[0]+...+freq[i] >= total-target.
	// The frequencies add up to the total, which is at least need, so the
	// loop stops at the last symbol at the latest.
	need := m.total - target
	acc := uint32(m.freq[0])
	for acc < need {
		i++
		acc += uint32(m.freq[i])
	}
	return i, m.total - acc, m.total - acc + uint32(m.freq[i])
}

// bounds returns cum(i+1) and cum(i).
func (m *model) bounds(i int) (lo, hi uint32) {
	var before uint32
	for _, f := range m.freq[:i] {
		before += uint32(f)
	}
	hi = m.total - before
	return hi - uint32(m.freq[i]), hi
}

// update records one more use of the symbol at index i.
func (m *model) update(i int) {
	m.freq[i] += freqStep
	m.total += freqStep
	if m.total > freqLimit {
		m.rescale()
	}
}

// rescale halves the frequencies. Usually it halves the cumulative counts,
// keeping the order and raising any count that would not exceed the next
// one; periodically it halves the individual frequencies instead (rounding
// up) and re-sorts the symbols by decreasing frequency.
func (m *model) rescale() {
	n := m.n
	m.untilSort--
	if m.untilSort > 0 {
		var oldCum, next uint32 // cum(i+1) before and after
		for i := n - 1; i >= 0; i-- {
			oldCum += uint32(m.freq[i])
			c := oldCum >> 1
			if c <= next {
				c = next + 1
			}
			m.freq[i] = uint16(c - next)
			next = c
		}
		m.total = next
		return
	}
	m.untilSort = rebuildInterval

	m.total = 0
	for i := 0; i < n; i++ {
		m.freq[i] = (m.freq[i] + 1) >> 1
		m.total += uint32(m.freq[i])
	}
	// The order of equal frequencies is part of the format, so the sort must
	// be exactly this exchange sort: for each place, in turn, swap in every
	// later symbol that is more frequent than the one there now.
	for i := 0; i < n-1; i++ {
		for j := i + 1; j < n; j++ {
			if m.freq[i] < m.freq[j] {
				m.freq[i], m.freq[j] = m.freq[j], m.freq[i]
				m.sym[i], m.sym[j] = m.sym[j], m.sym[i]
			}
		}
	}
}
