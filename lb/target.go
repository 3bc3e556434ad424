package lb

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Weight bounds. Weights are relative; the cap keeps smooth-WRR schedules and ring
// sizes (VNodes * weight points per target) bounded.
const (
	MinWeight = 1
	MaxWeight = 10000
)

// Target state bits. Unhealthy comes from active health checks (not this package),
// draining from an operator, ejected from the OutlierDetector.
const (
	stateUnhealthy uint32 = 1 << iota
	stateDraining
	stateEjected
)

// Target is one upstream endpoint and the signals the balancers read. Create it with
// NewTarget, give it a breaker with SetBreaker if wanted, then make it a member of
// exactly one Set with Set.Update. A Target keeps its counters across membership
// changes: reuse the same *Target when the address stays.
//
// All methods are safe for concurrent use.
type Target struct {
	addr    string
	weight  int32
	breaker *Breaker // immutable once attached (set before the Set publishes it)

	// set is the Set whose in-flight total this target feeds; written once.
	set atomic.Pointer[Set]

	state        atomic.Uint32
	ejectedUntil atomic.Int64 // valid while stateEjected is set
	timesEjected atomic.Int32
	cons5xx      atomic.Int32
	consConnect  atomic.Int32
	ejectStamp   int64 // last eject/uneject/decay time; guarded by OutlierDetector.mu

	ewmaMu    sync.Mutex    // serialises ObserveLatency read-modify-write
	ewma      atomic.Uint64 // float64 bits, nanoseconds; ewmaUnset until first sample
	ewmaStamp atomic.Int64

	// inflight is written by every loop on every request: keep it off the cache line
	// of the read-mostly fields above.
	_        [64]byte
	inflight atomic.Int64
	_        [56]byte
}

var ewmaUnset = math.Float64bits(-1)

// NewTarget returns a healthy target. weight must be in [MinWeight, MaxWeight].
func NewTarget(addr string, weight int) (*Target, error) {
	if addr == "" {
		return nil, ErrBadAddress
	}
	if weight < MinWeight || weight > MaxWeight {
		return nil, fmt.Errorf("%w: %q weight %d, want %d..%d", ErrBadWeight, addr, weight, MinWeight, MaxWeight)
	}
	t := &Target{addr: addr, weight: int32(weight)}
	t.ewma.Store(ewmaUnset)
	return t, nil
}

// Addr returns the address given to NewTarget.
func (t *Target) Addr() string { return t.addr }

// Weight returns the relative weight given to NewTarget.
func (t *Target) Weight() int { return int(t.weight) }

// SetBreaker attaches a circuit breaker. Only before the target joins a Set: the
// balancers read the pointer without synchronisation after that.
func (t *Target) SetBreaker(b *Breaker) error {
	if t.set.Load() != nil {
		return ErrTargetAttached
	}
	t.breaker = b
	return nil
}

// Breaker returns the attached breaker or nil. A nil *Breaker allows everything, so
// callers need not check.
func (t *Target) Breaker() *Breaker { return t.breaker }

// Acquire counts one request in flight to t (and in its Set's total, which bounded
// loads divide). Call it when the request is committed to t. Lock-free.
func (t *Target) Acquire() {
	t.inflight.Add(1)
	if s := t.set.Load(); s != nil {
		s.inflight.Add(1)
	}
}

// Release undoes one Acquire. Calls must pair with Acquire: an unpaired Release makes
// the counters wrong for every policy that reads load. Lock-free.
func (t *Target) Release() {
	t.inflight.Add(-1)
	if s := t.set.Load(); s != nil {
		s.inflight.Add(-1)
	}
}

// Inflight returns the number of requests acquired and not yet released.
func (t *Target) Inflight() int64 { return t.inflight.Load() }

// SetHealthy records the verdict of an active health check. Rare; takes the Set's
// mutex to recount the healthy members the panic threshold compares.
func (t *Target) SetHealthy(ok bool) { t.setBit(stateUnhealthy, !ok) }

// Healthy reports the last SetHealthy verdict (true until told otherwise).
func (t *Target) Healthy() bool { return t.state.Load()&stateUnhealthy == 0 }

// SetDraining stops (true) or resumes (false) new traffic to t. Draining targets get
// nothing even in panic mode; requests already in flight finish normally.
func (t *Target) SetDraining(on bool) { t.setBit(stateDraining, on) }

// Draining reports whether t is draining.
func (t *Target) Draining() bool { return t.state.Load()&stateDraining != 0 }

// Ejected reports whether the outlier detector has t ejected at now.
func (t *Target) Ejected(now int64) bool {
	return t.state.Load()&stateEjected != 0 && now < t.ejectedUntil.Load()
}

// TimesEjected is the ejection multiplier: how many times t was ejected, minus one
// per detector interval it stayed in.
func (t *Target) TimesEjected() int { return int(t.timesEjected.Load()) }

// TargetStats is a point-in-time view of a Target for the admin API and console.
type TargetStats struct {
	Addr         string
	Weight       int
	Inflight     int64
	Healthy      bool
	Draining     bool
	Ejected      bool
	EjectedUntil int64 // meaningful when Ejected
	TimesEjected int
	EWMA         time.Duration // decayed to now; 0 before the first sample
	Breaker      BreakerState  // Closed when t has no breaker
}

// Stats returns t's state at now. Each field is read atomically; the set of fields
// is not one atomic snapshot, which a dashboard does not need. tau is the Set's
// EWMATau (DefaultEWMATau before t joins a Set).
func (t *Target) Stats(now int64) TargetStats {
	tau := DefaultEWMATau
	if s := t.set.Load(); s != nil {
		tau = s.cfg.EWMATau
	}
	st := TargetStats{
		Addr:         t.addr,
		Weight:       int(t.weight),
		Inflight:     t.inflight.Load(),
		Healthy:      t.Healthy(),
		Draining:     t.Draining(),
		Ejected:      t.Ejected(now),
		TimesEjected: t.TimesEjected(),
		EWMA:         time.Duration(t.ewmaAt(now, tau, 0)),
		Breaker:      t.breaker.State(),
	}
	if st.Ejected {
		st.EjectedUntil = t.ejectedUntil.Load()
	}
	return st
}

// Available reports whether t may receive a new request at now outside panic mode:
// healthy, not draining, not ejected, breaker not refusing.
func (t *Target) Available(now int64) bool { return t.eligible(now, false) }

func (t *Target) setBit(bit uint32, on bool) {
	for {
		old := t.state.Load()
		nw := old &^ bit
		if on {
			nw |= bit
		}
		if nw == old {
			return
		}
		if t.state.CompareAndSwap(old, nw) {
			break
		}
	}
	if s := t.set.Load(); s != nil {
		s.recount()
	}
}

// eligible is the per-pick predicate. In panic mode (Envoy's panic threshold) health,
// ejection and breakers are ignored so the load spreads over every member instead of
// crushing the few healthy ones; draining is an operator's decision and still holds.
func (t *Target) eligible(now int64, panicking bool) bool {
	st := t.state.Load()
	if panicking {
		return st&stateDraining == 0
	}
	if st&(stateUnhealthy|stateDraining) != 0 {
		return false
	}
	if st&stateEjected != 0 && now < t.ejectedUntil.Load() {
		return false
	}
	if t.breaker != nil && t.breaker.rejecting(now) {
		return false
	}
	return true
}

// ObserveLatency feeds one round-trip time into t's peak-EWMA (Finagle's PeakEwma,
// Linkerd's tower balancer): a sample above the current estimate replaces it at once
// (peak-sensitive, so a slowing target is avoided immediately); a lower sample is
// blended with weight 1-exp(-dt/tau), so recovery is gradual with time constant tau.
// tau is the Set's SetConfig.EWMATau (DefaultEWMATau before t joins a Set).
// Serialised per target with a mutex; the balancers read the estimate lock-free.
func (t *Target) ObserveLatency(now int64, rtt time.Duration) {
	tau := DefaultEWMATau
	if s := t.set.Load(); s != nil {
		tau = s.cfg.EWMATau
	}
	if rtt < 0 {
		rtt = 0
	}
	x := float64(rtt)
	t.ewmaMu.Lock()
	cur := math.Float64frombits(t.ewma.Load())
	if cur < 0 || x > cur {
		cur = x
	} else {
		w := decay(now-t.ewmaStamp.Load(), tau)
		cur = cur*w + x*(1-w)
	}
	t.ewmaStamp.Store(now)
	t.ewma.Store(math.Float64bits(cur))
	t.ewmaMu.Unlock()
}

// EWMA returns t's latency estimate decayed to now toward zero (how tower's
// PeakEwma reads it: an idle target's estimate fades, so a once-slow target is tried
// again rather than starved forever), or def if t has no sample yet.
func (t *Target) EWMA(now int64, tau time.Duration, def time.Duration) time.Duration {
	return time.Duration(t.ewmaAt(now, tau, float64(def)))
}

func (t *Target) ewmaAt(now int64, tau time.Duration, def float64) float64 {
	cur := math.Float64frombits(t.ewma.Load())
	if cur < 0 {
		return def
	}
	// A racing ObserveLatency may pair a new value with an old stamp; the error is one
	// sample's decay, well inside the estimate's noise.
	return cur * decay(now-t.ewmaStamp.Load(), tau)
}

// decay returns exp(-dt/tau), 1 for dt <= 0.
//
// Between requests to a busy target dt/tau is tiny (microseconds against the default 10 s), and
// there the Taylor series to the cubic term is exp to within x⁴/24 < 5e-14 relative, at a
// fraction of math.Exp's cost on the per-request path (TestDecayMatchesExp).
func decay(dt int64, tau time.Duration) float64 {
	if dt <= 0 {
		return 1
	}
	x := float64(dt) / float64(tau)
	if x < 1e-3 {
		return 1 - x*(1-x*(0.5-x*(1.0/6)))
	}
	return math.Exp(-x)
}

// MaxExclude is how many already-tried targets an Exclude remembers.
const MaxExclude = 8

// Exclude lists targets a retry must not pick again. It is a small value type so
// that passing it to Pick through the Balancer interface allocates nothing. The zero
// value excludes nothing.
type Exclude struct {
	n int
	t [MaxExclude]*Target
}

// Add remembers t. It reports false when the list is full (a retry policy that has
// tried MaxExclude targets should stop); nil and duplicates are accepted silently.
func (e *Exclude) Add(t *Target) bool {
	if t == nil || e.Has(t) {
		return true
	}
	if e.n == MaxExclude {
		return false
	}
	e.t[e.n] = t
	e.n++
	return true
}

// Has reports whether t is excluded.
func (e *Exclude) Has(t *Target) bool {
	for i := 0; i < e.n; i++ {
		if e.t[i] == t {
			return true
		}
	}
	return false
}

// Len returns how many targets are excluded.
func (e *Exclude) Len() int { return e.n }

// Reset empties the list for reuse.
func (e *Exclude) Reset() { *e = Exclude{} }
