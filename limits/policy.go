package limits

import (
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"
)

// Policy is one rate-limit window: Rate units per Per, of which up to Burst
// may be spent at once. 100/s with burst 200, 1000/min, 50000/day are all
// Policies. A Policy is shared by every key it limits; call Validate once
// before use and do not modify it afterwards (use a new Policy and swap it).
type Policy struct {
	// Name identifies the policy in the RateLimit-Policy and RateLimit
	// header fields. Empty means "default". Printable ASCII only.
	Name string
	// Rate units are allowed per Per.
	Rate int64
	Per  time.Duration
	// Burst is how many units may be spent at once, the bucket capacity.
	// Zero means Rate: "1000/min" allows 1000 requests in a burst.
	Burst int64
	// Shadow makes the policy observe only: refusals are counted and
	// reported in Decision.Shadowed but the request is admitted.
	Shadow bool

	// Derived by Validate. interval is the GCRA emission interval T, the
	// nanoseconds one unit costs; capacity is burst*T, the delay variation
	// tolerance plus one interval.
	interval int64
	capacity int64
	burst    int64
	perUnit  divider // divides by interval

	rejected       atomic.Int64
	shadowRejected atomic.Int64
}

// maxCapacity keeps TAT arithmetic (now + n*T, with n <= burst) far from
// int64 overflow for any monotonic clock below 2^62 ns (146 years).
const maxCapacity = 1 << 61

// Validate checks the policy and computes the derived GCRA parameters. The
// emission interval is Per/Rate rounded up to a whole nanosecond, so a
// policy never admits more than Rate per Per (it may admit up to one
// nanosecond per unit less, e.g. 3/s uses 333333334ns per unit).
func (p *Policy) Validate() error {
	if p.Rate <= 0 {
		return fmt.Errorf("%w: rate %d must be positive", ErrPolicyInvalid, p.Rate)
	}
	if p.Per <= 0 {
		return fmt.Errorf("%w: period %v must be positive", ErrPolicyInvalid, p.Per)
	}
	if p.Rate > int64(p.Per) {
		return fmt.Errorf("%w: %d per %v is finer than one unit per nanosecond", ErrPolicyInvalid, p.Rate, p.Per)
	}
	if p.Burst < 0 {
		return fmt.Errorf("%w: burst %d must not be negative", ErrPolicyInvalid, p.Burst)
	}
	for i := 0; i < len(p.Name); i++ {
		// RFC 8941 Section 3.3.3: sf-string characters are %x20-7E.
		if c := p.Name[i]; c < 0x20 || c > 0x7e {
			return fmt.Errorf("%w: name %q has a byte outside printable ASCII", ErrPolicyInvalid, p.Name)
		}
	}
	burst := p.Burst
	if burst == 0 {
		burst = p.Rate
	}
	per := int64(p.Per)
	interval := per / p.Rate
	if per%p.Rate != 0 {
		interval++
	}
	if burst > maxCapacity/interval {
		return fmt.Errorf("%w: burst %d of %v per unit exceeds %v", ErrPolicyInvalid, burst, time.Duration(interval), time.Duration(maxCapacity))
	}
	p.interval = interval
	p.perUnit = newDivider(uint64(interval))
	p.burst = burst
	p.capacity = burst * interval
	return nil
}

// Interval returns the emission interval (cost of one unit), zero before
// Validate.
func (p *Policy) Interval() time.Duration { return time.Duration(p.interval) }

// EffectiveBurst returns the validated burst (Burst, or Rate when Burst is
// zero).
func (p *Policy) EffectiveBurst() int64 { return p.burst }

// PolicyCounts are a policy's refusal counters.
type PolicyCounts struct {
	// Rejected counts refused decisions of an enforcing policy.
	Rejected int64
	// ShadowRejected counts decisions a shadow policy would have refused.
	ShadowRejected int64
}

// Counts returns the refusal counters; safe from any goroutine.
func (p *Policy) Counts() PolicyCounts {
	return PolicyCounts{Rejected: p.rejected.Load(), ShadowRejected: p.shadowRejected.Load()}
}

func (p *Policy) String() string {
	s := strconv.FormatInt(p.Rate, 10) + "/" + p.Per.String() + " burst " + strconv.FormatInt(p.EffectiveBurst(), 10)
	if p.Shadow {
		s += " (shadow)"
	}
	return s
}

// Decision is the outcome of one admission request.
type Decision struct {
	// Allowed says whether the caller may proceed. It is true for a refusal
	// by a shadow policy.
	Allowed bool
	// Shadowed reports that a shadow policy would have refused.
	Shadowed bool
	// Remaining is the number of units that could still be spent at now
	// without refusal (after this decision's consumption).
	Remaining int64
	// RetryAfter is, for a refusal, how long until the same request would be
	// admitted; zero when allowed and for ErrExceedsBurst.
	RetryAfter time.Duration
	// Reset is how long until the window is full again (Remaining = burst)
	// if nothing more is spent.
	Reset time.Duration
	// Policy is the binding window: the one that refused, or the enforcing
	// one with the least remaining. Nil for an invalid Multi or a Multi of
	// shadow windows only.
	Policy *Policy
	// Err is set for invalid requests (ErrNegativeCount, ErrExceedsBurst,
	// ErrPolicyNotValidated); such decisions are refusals unless shadowed.
	Err error
}

// step is one GCRA decision (ITU-T I.371 virtual scheduling) on a theoretical
// arrival time tat. It returns the TAT after the decision and whether the
// units conform; a non-conforming request leaves tat unchanged. Pure: the
// callers decide how tat is stored (CAS word, seqlock, shard lock).
func (p *Policy) step(tat, now, n int64) (int64, bool, Decision) {
	next, ok := p.advance(tat, now, n)
	return next, ok, p.describe(tat, now, n, ok)
}

// advance is the GCRA rule alone. A request for n units conforms when
// max(tat, now) + n*T - now <= burst*T: the bucket would not hold more than
// burst units of debt after it.
func (p *Policy) advance(tat, now, n int64) (int64, bool) {
	if n > p.burst {
		return tat, false
	}
	if n == 0 {
		return tat, true // a query: report the state without touching it
	}
	next := max(tat, now) + n*p.interval
	if next-now <= p.capacity {
		return next, true
	}
	return tat, false
}

// retryAfter is how long until n units would conform on tat; for n above
// the burst (never) it is the largest duration, so that refusal is preferred
// when several windows refuse.
func (p *Policy) retryAfter(tat, now, n int64) int64 {
	if n > p.burst {
		return math.MaxInt64
	}
	return max(tat, now) + n*p.interval - p.capacity - now
}

// remainingAt is how many units could be spent at now on a window whose
// TAT is tat. A caller whose now is behind the TAT by more than the
// capacity (a stale clock reading) sees zero.
func (p *Policy) remainingAt(tat, now int64) int64 {
	return p.units(p.capacity - (max(tat, now) - now))
}

// units is the whole units in a non-negative slack of ns (zero if negative).
func (p *Policy) units(ns int64) int64 {
	if ns <= 0 {
		return 0
	}
	return int64(p.perUnit.div(uint64(ns)))
}

// describe builds the Decision for n units at now on a window whose TAT was
// tat, given whether advance found them conforming.
func (p *Policy) describe(tat, now, n int64, ok bool) Decision {
	base := max(tat, now)
	d := Decision{Policy: p}
	switch {
	case n > p.burst:
		d.Err = ErrExceedsBurst
		d.Remaining = p.remainingAt(tat, now)
		d.Reset = time.Duration(base - now)
	case ok:
		debt := base + n*p.interval - now
		d.Allowed = true
		d.Remaining = p.units(p.capacity - debt)
		d.Reset = time.Duration(debt)
	default:
		d.Remaining = p.remainingAt(tat, now)
		d.RetryAfter = time.Duration(p.retryAfter(tat, now, n))
		d.Reset = time.Duration(base - now)
	}
	return d
}

// settle turns a non-conforming step into the caller's answer: a refusal, or
// for a shadow policy an admission flagged Shadowed. It counts either.
func (p *Policy) settle(d Decision) Decision {
	if p.Shadow {
		p.shadowRejected.Add(1)
		d.Allowed = true
		d.Shadowed = true
		d.RetryAfter = 0
		return d
	}
	p.rejected.Add(1)
	return d
}

// invalid reports a request that cannot be judged, failing closed.
func invalid(p *Policy, err error) Decision {
	return Decision{Policy: p, Err: err}
}

var clockStart = time.Now()

// Now returns nanoseconds on the process's monotonic clock, starting at 1 so
// that a zero TAT always means "never used". Any other monotonic source works
// as long as one table or bucket is fed from one source.
func Now() int64 { return int64(time.Since(clockStart)) + 1 }
