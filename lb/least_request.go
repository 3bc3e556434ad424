package lb

import "fmt"

// LeastRequest is Envoy's LEAST_REQUEST with the power of two choices: draw two
// distinct eligible members, send to the one with fewer requests in flight per unit
// of weight. O(1), lock-free.
type LeastRequest struct {
	set *Set
	rnd *Rand
}

// NewLeastRequest returns a least-request balancer over s drawing from rnd.
func NewLeastRequest(s *Set, rnd *Rand) (*LeastRequest, error) {
	if s == nil {
		return nil, errNilSet
	}
	if rnd == nil {
		return nil, fmt.Errorf("%w: nil Rand", ErrBadConfig)
	}
	return &LeastRequest{set: s, rnd: rnd}, nil
}

// Pick returns the less loaded of two random candidates; ties go to the first draw,
// which is itself random.
func (b *LeastRequest) Pick(now int64, _ uint64, ex Exclude) *Target {
	m := b.set.members.Load()
	a, c := twoChoices(m, b.rnd, now, b.set.panicking(m), &ex)
	if c == nil {
		return a
	}
	// (inflight+1)/weight compared by cross-multiplying: the +1 counts the request
	// being placed, so an idle heavy target beats an idle light one.
	if (c.inflight.Load()+1)*int64(a.weight) < (a.inflight.Load()+1)*int64(c.weight) {
		return c
	}
	return a
}
