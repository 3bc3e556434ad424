package limits

import (
	"fmt"
	"sync"
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

// verdict is what decide concluded. It carries indices, not a Decision, and
// touches no counters, so a caller that decides twice (MultiBucket's
// optimistic read, then under its lock) pays for and counts only the final
// one, in settle.
type verdict struct {
	changed  bool  // next differs from tats
	refused  int8  // enforcing window that refused (counted as Rejected), or -1
	bind     int8  // enforcing window with the least remaining when admitted, or -1
	shadowed uint8 // bit i: shadow window i would have refused
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
		v             = verdict{refused: -1, bind: -1}
		allConform    = true
		refusedRetry  int64
		bindRemaining int64
	)
	for i := 0; i < m.n; i++ {
		p := m.policies[i]
		nt, ok := p.advance(tats[i], now, n)
		next[i] = nt
		switch {
		case ok && !p.Shadow:
			if rem := p.remainingAt(nt, now); v.bind < 0 || rem < bindRemaining {
				v.bind, bindRemaining = int8(i), rem
			}
		case ok:
		case p.Shadow:
			allConform = false
			v.shadowed |= 1 << i
		default:
			allConform = false
			if r := p.retryAfter(tats[i], now, n); v.refused < 0 || r > refusedRetry {
				v.refused, refusedRetry = int8(i), r
			}
		}
	}
	if v.refused >= 0 {
		*next = *tats
		v.shadowed = 0
		return v
	}
	for i := 0; i < m.n; i++ {
		if !allConform && m.policies[i].Shadow {
			next[i] = tats[i]
		}
		if next[i] != tats[i] {
			v.changed = true
		}
	}
	return v
}

// settle counts a final verdict and builds its Decision from the TATs the
// verdict was decided on. Only here is a Decision materialised, so a caller
// that decides twice (MultiBucket's optimistic read, then under the lock)
// pays for one.
func (m *Multi) settle(v *verdict, tats *[MaxWindows]int64, now, n int64) Decision {
	if v.refused >= 0 {
		p := m.policies[v.refused]
		p.rejected.Add(1)
		return p.describe(tats[v.refused], now, n, false)
	}
	var d Decision
	if v.bind >= 0 {
		d = m.policies[v.bind].describe(tats[v.bind], now, n, true)
	}
	d.Allowed = true
	if v.shadowed != 0 {
		d.Shadowed = true
		for i := 0; i < m.n; i++ {
			if v.shadowed&(1<<i) != 0 {
				m.policies[i].shadowRejected.Add(1)
			}
		}
	}
	return d
}

// MultiBucket is one key's state for a Multi. The zero value is full. It
// must not be copied after first use.
//
// Allow is safe from any goroutine. Partial consumption is impossible
// because the window TATs only change together, under a mutex, bracketed by
// a sequence word (a seqlock: odd while a writer stores):
//
//   - Refusals and queries are lock-free: a caller reads the sequence s
//     (even), every TAT, decides, and returns the refusal only if the
//     sequence is still s, i.e. it decided on a consistent snapshot of all
//     windows. Under a flood, when refusals dominate, callers never write a
//     shared cache line and never wait.
//   - Admissions, and refusals that raced a writer, take the mutex, re-read
//     the TATs (stable: only mutex holders write), decide again and store
//     every window. Writers are therefore serialised, and each admission is
//     a step of one sequential history in which every window was charged.
//
// A first version claimed the sequence with a CAS and had waiters spin;
// on an overloaded machine a writer descheduled between claim and release
// left the others spinning for a whole scheduler slice (microseconds per
// call). The mutex parks waiters instead. Bucket, a single window, needs
// neither: its state is one word.
type MultiBucket struct {
	mu  sync.Mutex
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
	var v verdict
	s := b.seq.Load()
	optimistic := s&1 == 0
	if optimistic {
		for i := 0; i < m.n; i++ {
			tats[i] = b.tat[i].Load()
		}
		v = m.decide(&tats, &next, now, n)
		if !v.changed && b.seq.Load() == s {
			return m.settle(&v, &tats, now, n)
		}
	}
	b.mu.Lock()
	// Writers change seq, and only under the lock: if it still reads s, the
	// TATs decided on above are current and the verdict stands.
	if !optimistic || b.seq.Load() != s {
		for i := 0; i < m.n; i++ {
			tats[i] = b.tat[i].Load()
		}
		v = m.decide(&tats, &next, now, n)
	}
	if v.changed {
		b.seq.Add(1)
		for i := 0; i < m.n; i++ {
			b.tat[i].Store(next[i])
		}
		b.seq.Add(1)
	}
	b.mu.Unlock()
	return m.settle(&v, &tats, now, n)
}
