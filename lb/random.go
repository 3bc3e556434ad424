package lb

import (
	"fmt"
	"sync/atomic"
)

// Random picks a member at random with probability proportional to its weight:
// the cumulative weights are built off the hot path on membership change and Pick is
// one draw and a binary search, O(log n), lock-free.
type Random struct {
	set   *Set
	rnd   *Rand
	table atomic.Pointer[randomTable]
}

type randomTable struct {
	m   *members
	cum []uint64 // cum[i] = sum of weights of targets[0..i]
}

// NewRandom returns a weighted random balancer over s drawing from rnd (shared by
// all loops; Rand is lock-free).
func NewRandom(s *Set, rnd *Rand) (*Random, error) {
	if s == nil {
		return nil, errNilSet
	}
	if rnd == nil {
		return nil, fmt.Errorf("%w: nil Rand", ErrBadConfig)
	}
	b := &Random{set: s, rnd: rnd}
	if err := s.register(b); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *Random) prepare(m *members) (func(), error) {
	tbl := &randomTable{m: m, cum: make([]uint64, len(m.targets))}
	var c uint64
	for i, t := range m.targets {
		c += uint64(t.weight)
		tbl.cum[i] = c
	}
	return func() { b.table.Store(tbl) }, nil
}

// Pick draws up to 8 times (an ineligible draw is redrawn, so survivors keep their
// weight ratio), then falls back to a scan from the last draw.
func (b *Random) Pick(now int64, _ uint64, ex Exclude) *Target {
	tbl := b.table.Load()
	if tbl == nil || len(tbl.cum) == 0 {
		return nil
	}
	m := tbl.m
	p := b.set.panicking(m)
	total := tbl.cum[len(tbl.cum)-1]
	var i int
	for k := 0; k < 8; k++ {
		i = searchCum(tbl.cum, uint64(b.rnd.Intn(int(total))))
		t := m.targets[i]
		if t.eligible(now, p) && !ex.Has(t) {
			return t
		}
	}
	return m.firstEligible(i, now, p, &ex)
}

// searchCum returns the first i with cum[i] > x.
func searchCum(cum []uint64, x uint64) int {
	lo, hi := 0, len(cum)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if cum[mid] > x {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// Close stops rebuilding the weight table on s.Update. A Set keeps every table-backed
// balancer built on it current, so a balancer replaced (say on a policy change in a
// reload) while its Set lives on must be closed. Pick keeps working on the last
// weight table. Safe concurrently with Pick; idempotent.
func (b *Random) Close() { b.set.unregister(b) }
