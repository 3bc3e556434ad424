package lb

import (
	"fmt"
	"sync/atomic"
)

// MaxSchedule bounds the smooth-WRR schedule length (entries of 4 bytes).
const MaxSchedule = 1 << 16

// SmoothWeighted is NGINX's smooth weighted round robin (ngx_http_upstream_get_peer):
// each step every peer's current weight grows by its weight, the largest is chosen
// and loses the total. Weights 5,1,1 give a a b a c a a: heavy peers are interleaved
// with light ones instead of served in a burst.
//
// NGINX runs that O(n) step under the upstream's lock. Here the schedule for one full
// period (sum of weights / gcd, the length after which the sequence repeats) is
// computed off the hot path when membership changes, and Pick is one atomic increment
// and an index: lock-free, O(1), and the same sequence NGINX produces. A period longer
// than MaxSchedule is approximated by scaling the weights down (each stays >= 1).
type SmoothWeighted struct {
	set   *Set
	next  atomic.Uint64
	table atomic.Pointer[swrrTable]
}

type swrrTable struct {
	m   *members
	seq []uint32 // indices into m.targets
}

// NewSmoothWeighted returns a smooth weighted round-robin balancer over s; its
// schedule is rebuilt on every s.Update.
func NewSmoothWeighted(s *Set) (*SmoothWeighted, error) {
	if s == nil {
		return nil, errNilSet
	}
	b := &SmoothWeighted{set: s}
	if err := s.register(b); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *SmoothWeighted) prepare(m *members) (func(), error) {
	tbl, err := buildSchedule(m)
	if err != nil {
		return nil, err
	}
	return func() { b.table.Store(tbl) }, nil
}

func buildSchedule(m *members) (*swrrTable, error) {
	n := len(m.targets)
	if n == 0 {
		return &swrrTable{m: m}, nil
	}
	w := make([]int64, n)
	g := int64(0)
	for i, t := range m.targets {
		w[i] = int64(t.weight)
		g = gcd(g, w[i])
	}
	var period int64
	for i := range w {
		w[i] /= g
		period += w[i]
	}
	limit := int64(MaxSchedule)
	if int64(n) > limit {
		return nil, fmt.Errorf("%w: %d targets exceed the smooth-WRR schedule limit %d", ErrBadConfig, n, MaxSchedule)
	}
	if period > limit {
		period = 0
		total := int64(0)
		for _, x := range w {
			total += x
		}
		// Scale to fit (1 + floor(share of the room) each, so the sum stays within
		// the limit); every member keeps at least one slot.
		room := limit - int64(n)
		for i, x := range w {
			w[i] = 1 + x*room/total
			period += w[i]
		}
	}
	seq := make([]uint32, period)
	cur := make([]int64, n)
	var sum int64
	for _, x := range w {
		sum += x
	}
	for k := range seq {
		best := 0
		for i := range cur {
			cur[i] += w[i]
			if cur[i] > cur[best] {
				best = i
			}
		}
		cur[best] -= sum
		seq[k] = uint32(best)
	}
	return &swrrTable{m: m, seq: seq}, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Pick returns the next target of the schedule. An ineligible entry is skipped by
// drawing the next counter value, which keeps the remaining members in their weight
// ratio; after 64 failed draws it falls back to a scan. O(1) in the common case.
func (b *SmoothWeighted) Pick(now int64, _ uint64, ex Exclude) *Target {
	tbl := b.table.Load()
	if tbl == nil || len(tbl.seq) == 0 {
		return nil
	}
	m := tbl.m
	p := b.set.panicking(m)
	l := uint64(len(tbl.seq))
	tries := min(len(tbl.seq), 64)
	var i uint32
	for k := 0; k < tries; k++ {
		i = tbl.seq[(b.next.Add(1)-1)%l]
		t := m.targets[i]
		if t.eligible(now, p) && !ex.Has(t) {
			return t
		}
	}
	return m.firstEligible(int(i), now, p, &ex)
}

// Close stops rebuilding the schedule on s.Update. A Set keeps every table-backed
// balancer built on it current, so a balancer replaced (say on a policy change in a
// reload) while its Set lives on must be closed. Pick keeps working on the last
// schedule. Safe concurrently with Pick; idempotent.
func (b *SmoothWeighted) Close() { b.set.unregister(b) }
