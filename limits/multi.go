package limits

import (
	"fmt"
	"runtime"
	"sync/atomic"
)

// MaxWindows is the most policies one Multi combines.
const MaxWindows = 4

// Multi is a set of windows enforced together on one key, such as a
// per-second throttle and a per-day quota: a request is admitted only when
// every enforcing window admits it, and then it is charged to every window.
// A Multi is immutable after NewMulti and shared by all keys.
type Multi struct {
	policies [MaxWindows]*Policy
	n        int
}

// NewMulti combines 1..MaxWindows validated policies.
func NewMulti(policies ...*Policy) (*Multi, error) {
	if len(policies) == 0 {
		return nil, ErrNoWindows
	}
	if len(policies) > MaxWindows {
		return nil, fmt.Errorf("%w: %d > %d", ErrTooManyWindows, len(policies), MaxWindows)
	}
	m := &Multi{n: len(policies)}
	for i, p := range policies {
		if p == nil || p.interval == 0 {
			return nil, fmt.Errorf("window %d: %w", i, ErrPolicyNotValidated)
		}
		m.policies[i] = p
	}
	return m, nil
}

// Len returns the number of windows.
func (m *Multi) Len() int { return m.n }

// Policy returns window i, or nil if there is no such window.
func (m *Multi) Policy(i int) *Policy {
	if i < 0 || i >= m.n {
		return nil
	}
	return m.policies[i]
}

// verdict is what decide concluded, kept apart from the counters so that a
// caller that retries (MultiBucket) counts each request once.
type verdict struct {
	d         Decision
	changed   bool    // next differs from tats
	refusedBy *Policy // enforcing window that refused, counted as Rejected
	shadowed  uint8   // bit i: shadow window i would have refused
}

// decide runs every window on tats (one TAT per window) and writes the
// resulting TATs to next. It is the all-or-nothing rule, pure so that the
// seqlock (MultiBucket) and the shard lock (Table) share it:
//
//   - if an enforcing window refuses, nothing is charged and the decision is
//     that refusal (the one with the longest RetryAfter, or an invalid
//     request's error);
//   - otherwise every enforcing window is charged; a shadow window is charged
//     only when every window, shadow ones included, conforms, because that
//     is what would have happened had it been enforced, so its refusal count
//     is exactly what enforcement would refuse.
//
// The admitted decision reports the enforcing window with the least
// remaining.
func (m *Multi) decide(tats, next *[MaxWindows]int64, now, n int64) verdict {
	var (
		v          verdict
		refused    Decision
		decisions  [MaxWindows]Decision
		allConform = true
	)
	for i := 0; i < m.n; i++ {
		p := m.policies[i]
		nt, ok, d := p.step(tats[i], now, n)
		next[i], decisions[i] = nt, d
		if ok {
			continue
		}
		allConform = false
		if p.Shadow {
			v.shadowed |= 1 << i
			continue
		}
		if v.refusedBy == nil || (d.Err != nil && refused.Err == nil) ||
			(d.Err == nil && refused.Err == nil && d.RetryAfter > refused.RetryAfter) {
			refused, v.refusedBy = d, p
		}
	}
	if v.refusedBy != nil {
		*next = *tats
		v.d = refused
		v.shadowed = 0
		return v
	}
	bound := false
	for i := 0; i < m.n; i++ {
		p := m.policies[i]
		if p.Shadow && !allConform {
			next[i] = tats[i]
		}
		if next[i] != tats[i] {
			v.changed = true
		}
		if !p.Shadow && (!bound || decisions[i].Remaining < v.d.Remaining) {
			v.d, bound = decisions[i], true
		}
	}
	if !bound {
		v.d = Decision{}
	}
	v.d.Allowed = true
	v.d.Shadowed = v.shadowed != 0
	return v
}

// count applies a final verdict's counters.
func (m *Multi) count(v *verdict) {
	if v.refusedBy != nil {
		v.refusedBy.rejected.Add(1)
	}
	for i := 0; v.shadowed != 0 && i < m.n; i++ {
		if v.shadowed&(1<<i) != 0 {
			m.policies[i].shadowRejected.Add(1)
		}
	}
}

// MultiBucket is one key's state for a Multi. The zero value is full. It
// must not be copied after first use.
//
// Allow is safe from any goroutine. Partial consumption is impossible because
// the window TATs only change together, under a sequence word (a seqlock):
// a caller reads the sequence s (even), reads every TAT, and decides. A
// refusal writes nothing; it is returned only if the sequence is still s, so
// it was decided on a consistent snapshot. An admission claims the sequence
// with one CAS s -> s+1; the CAS fails if any admission started since s was
// read, so the TATs it decided on are still current. It then stores every
// TAT and releases with s+2. Refusals and queries never block anyone and
// never write a shared cache line; admissions on one key are serialised for
// the few stores between the claim and the release, and a caller that finds
// the sequence odd spins (yielding after a few tries) rather than sleeping.
// So it is not lock-free in the strict sense: a writer descheduled between
// claim and release delays the key's other callers. Bucket is lock-free.
type MultiBucket struct {
	seq atomic.Uint64
	tat [MaxWindows]atomic.Int64
}

// Allow asks for n units at now on every window of m.
func (b *MultiBucket) Allow(m *Multi, now, n int64) Decision {
	if m == nil || m.n == 0 {
		return invalid(nil, ErrNoWindows)
	}
	if n < 0 {
		return invalid(m.policies[0], ErrNegativeCount)
	}
	var tats, next [MaxWindows]int64
	for spins := 0; ; spins++ {
		s := b.seq.Load()
		if s&1 != 0 {
			if spins&15 == 15 {
				runtime.Gosched()
			}
			continue
		}
		for i := 0; i < m.n; i++ {
			tats[i] = b.tat[i].Load()
		}
		v := m.decide(&tats, &next, now, n)
		if !v.changed {
			if b.seq.Load() != s {
				continue
			}
			m.count(&v)
			return v.d
		}
		if !b.seq.CompareAndSwap(s, s+1) {
			continue
		}
		for i := 0; i < m.n; i++ {
			b.tat[i].Store(next[i])
		}
		b.seq.Store(s + 2)
		m.count(&v)
		return v.d
	}
}
