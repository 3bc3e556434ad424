package lb

import "sync/atomic"

// RoundRobin cycles through the members, ignoring weights. The cursor is one atomic
// counter shared by all loops, so concurrent picks interleave but never repeat a slot.
type RoundRobin struct {
	set  *Set
	next atomic.Uint64
}

// NewRoundRobin returns a round-robin balancer over s.
func NewRoundRobin(s *Set) (*RoundRobin, error) {
	if s == nil {
		return nil, errNilSet
	}
	return &RoundRobin{set: s}, nil
}

// Pick returns the next eligible member. An ineligible slot is skipped by drawing
// the next counter value rather than by taking the following member: with b down in
// a,b,c the sequence is a,c,a,c rather than a,c,c. O(1) when all members are
// eligible; expected 1/f draws when a fraction f is; O(n) worst case.
func (b *RoundRobin) Pick(now int64, _ uint64, ex Exclude) *Target {
	m := b.set.members.Load()
	n := len(m.targets)
	if n == 0 {
		return nil
	}
	p := b.set.panicking(m)
	var i int
	for k := 0; k < n; k++ {
		i = int((b.next.Add(1) - 1) % uint64(n))
		t := m.targets[i]
		if t.eligible(now, p) && !ex.Has(t) {
			return t
		}
	}
	return m.firstEligible(i, now, p, &ex)
}
