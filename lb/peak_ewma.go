package lb

import "fmt"

// PeakEWMA is Finagle's and Linkerd's latency-aware balancer: the cost of a member is
// its peak-sensitive EWMA latency (see Target.ObserveLatency) times its requests in
// flight plus one, divided by its weight; of two random eligible members the cheaper
// wins. A target that slows down is avoided at once (the peak replaces the average),
// and an idle one's estimate decays with the Set's EWMATau so it is tried again.
// O(1), lock-free: the estimates are atomics, read and decayed to now without writing.
type PeakEWMA struct {
	set *Set
	rnd *Rand
}

// NewPeakEWMA returns a peak-EWMA balancer over s drawing from rnd.
func NewPeakEWMA(s *Set, rnd *Rand) (*PeakEWMA, error) {
	if s == nil {
		return nil, errNilSet
	}
	if rnd == nil {
		return nil, fmt.Errorf("%w: nil Rand", ErrBadConfig)
	}
	return &PeakEWMA{set: s, rnd: rnd}, nil
}

// Cost returns the value Pick compares for t at now.
func (b *PeakEWMA) Cost(now int64, t *Target) float64 {
	tau, def := b.set.cfg.EWMATau, float64(b.set.cfg.DefaultRTT)
	return t.ewmaAt(now, tau, def) * float64(t.inflight.Load()+1) / float64(t.weight)
}

// Pick returns the cheaper of two random candidates.
func (b *PeakEWMA) Pick(now int64, _ uint64, ex Exclude) *Target {
	m := b.set.members.Load()
	a, c := twoChoices(m, b.rnd, now, b.set.panicking(m), &ex)
	if c == nil {
		return a
	}
	if b.Cost(now, c) < b.Cost(now, a) {
		return c
	}
	return a
}
