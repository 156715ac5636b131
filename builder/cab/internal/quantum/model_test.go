package quantum

import (
	"math/rand/v2"
	"testing"
)

// cumModel is the format's own description of a model, by cumulative counts
// (cum[i] = sum of the frequencies at index i and later), kept as a
// reference for the frequency-based model.
type cumModel struct {
	n, untilSort int
	sym          []int
	cum          []int
}

func newCumModel(n int) *cumModel {
	m := &cumModel{n: n, untilSort: firstRebuild, sym: make([]int, n), cum: make([]int, n+1)}
	for i := range n {
		m.sym[i] = i
		m.cum[i] = n - i
	}
	return m
}

func (m *cumModel) update(i int) {
	for j := 0; j <= i; j++ {
		m.cum[j] += freqStep
	}
	if m.cum[0] <= freqLimit {
		return
	}
	if m.untilSort--; m.untilSort > 0 {
		for j := m.n - 1; j >= 0; j-- {
			m.cum[j] >>= 1
			if m.cum[j] <= m.cum[j+1] {
				m.cum[j] = m.cum[j+1] + 1
			}
		}
		return
	}
	m.untilSort = rebuildInterval
	for j := 0; j < m.n; j++ {
		m.cum[j] = (m.cum[j] - m.cum[j+1] + 1) >> 1 // now a frequency
	}
	for a := 0; a < m.n-1; a++ {
		for b := a + 1; b < m.n; b++ {
			if m.cum[a] < m.cum[b] {
				m.cum[a], m.cum[b] = m.cum[b], m.cum[a]
				m.sym[a], m.sym[b] = m.sym[b], m.sym[a]
			}
		}
	}
	for j := m.n - 1; j >= 0; j-- {
		m.cum[j] += m.cum[j+1]
	}
}

func TestModelMatchesCumulativeForm(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{7, 20, 24, 27, 36, 42, 64} {
		var m model
		m.init(n)
		ref := newCumModel(n)
		for step := range 60_000 {
			// Skewed choices, so that rebuilds reorder the symbols.
			i := min(n-1, int(r.ExpFloat64()*float64(n)/4))
			if step%3 == 0 {
				i = r.IntN(n)
			}
			m.update(i)
			ref.update(i)

			if int(m.total) != ref.cum[0] || m.total > freqLimit {
				t.Fatalf("n %d step %d: total %d, want %d", n, step, m.total, ref.cum[0])
			}
			for j := range n {
				lo, hi := m.bounds(j)
				if int(m.sym[j]) != ref.sym[j] || int(lo) != ref.cum[j+1] || int(hi) != ref.cum[j] || m.freq[j] == 0 {
					t.Fatalf("n %d step %d: index %d: sym %d [%d,%d), want sym %d [%d,%d)",
						n, step, j, m.sym[j], lo, hi, ref.sym[j], ref.cum[j+1], ref.cum[j])
				}
			}
			if step%331 == 0 {
				// find agrees with the cumulative counts for every target.
				for target := uint32(0); target < m.total; target++ {
					j, lo, hi := m.find(target)
					if lo > target || target >= hi || int(lo) != ref.cum[j+1] || int(hi) != ref.cum[j] {
						t.Fatalf("n %d step %d: find(%d) = %d [%d,%d)", n, step, target, j, lo, hi)
					}
				}
			}
		}
	}
}
