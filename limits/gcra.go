package limits

import "sync/atomic"

// Bucket is one key's state for one Policy under the generic cell rate
// algorithm: the whole state is the theoretical arrival time (TAT), one
// 64-bit word. The zero Bucket is full (never used). A Bucket must not be
// copied after first use.
//
// Allow is safe from any goroutine and lock-free: it reads the TAT, computes
// the decision and publishes the new TAT with compare-and-swap, retrying when
// another goroutine won the race. Each successful CAS is one serial GCRA
// step, so the admitted units under any contention are exactly those of some
// sequential order of the same calls; a refusal writes nothing.
type Bucket struct {
	tat atomic.Int64
}

// Allow asks for n units at time now (monotonic nanoseconds, >= 0, below
// 2^62; Now qualifies) under policy p, which must have been validated. n == 0 reports the state without consuming.
// The bucket is tied to the policy's parameters: use one policy per bucket.
func (b *Bucket) Allow(p *Policy, now, n int64) Decision {
	if p.interval == 0 {
		return invalid(p, ErrPolicyNotValidated)
	}
	if n < 0 {
		return invalid(p, ErrNegativeCount)
	}
	for {
		tat := b.tat.Load()
		next, ok := p.advance(tat, now, n)
		if !ok {
			return p.settle(p.describe(tat, now, n, false))
		}
		if next == tat || b.tat.CompareAndSwap(tat, next) {
			return p.describe(tat, now, n, true)
		}
	}
}

// Reset empties the bucket's debt: the next Allow sees a full bucket.
func (b *Bucket) Reset() { b.tat.Store(0) }
