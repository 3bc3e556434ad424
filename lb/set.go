package lb

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// MaxTargets bounds a Set's membership.
const MaxTargets = 1 << 16

// Defaults for SetConfig zero values.
const (
	// DefaultEWMATau is Finagle's and Linkerd's peak-EWMA time constant.
	DefaultEWMATau = 10 * time.Second
	// DefaultRTT is the latency assumed for a target with no sample yet. Linkerd uses
	// 30ms: high enough that one fast sample makes a new target look better, low
	// enough that a new target is tried soon.
	DefaultRTT = 30 * time.Millisecond
)

// SetConfig configures a Set.
type SetConfig struct {
	// PanicThreshold in percent, 0..100 (Envoy's healthy_panic_threshold, whose
	// default is 50). When fewer than this share of the members are healthy, not
	// ejected and not draining, Pick ignores health and ejection and spreads load over
	// every non-draining member: sending everything to the few survivors would take
	// them down too. 0 disables panic mode.
	PanicThreshold int
	// EWMATau is the peak-EWMA time constant; 0 means DefaultEWMATau.
	EWMATau time.Duration
	// DefaultRTT is the latency assumed before a target's first sample; 0 means
	// DefaultRTT.
	DefaultRTT time.Duration
}

// Set is the membership of one upstream: an immutable snapshot of targets swapped
// atomically by Update, plus the aggregates the balancers need in O(1): the total in
// flight (bounded loads) and the count and weight of usable members (panic threshold,
// bounded loads).
//
// Pick-side reads are lock-free. Update, and the health/drain/ejection changes that
// recount, serialise on an internal mutex.
type Set struct {
	cfg     SetConfig
	members atomic.Pointer[members]

	// inflight is the sum of Acquire minus Release over every target that was ever a
	// member: a removed target's requests still in flight are still load on the
	// upstream, and keeping them counted means the total never drifts.
	inflight     atomic.Int64
	usable       atomic.Int32 // members with no state bit set, as of the last recount
	usableWeight atomic.Int64

	mu       sync.Mutex
	builders []tableBuilder // policies with tables rebuilt on Update
}

type members struct {
	targets     []*Target
	totalWeight int64
}

// tableBuilder is a policy whose lookup table depends on membership (smooth WRR,
// weighted random, ring). prepare builds the table for m off the hot path and returns
// the function that publishes it; Update publishes only when every prepare succeeded.
type tableBuilder interface {
	prepare(m *members) (commit func(), err error)
}

// NewSet returns an empty Set.
func NewSet(cfg SetConfig) (*Set, error) {
	if cfg.PanicThreshold < 0 || cfg.PanicThreshold > 100 {
		return nil, fmt.Errorf("%w: panic threshold %d%%, want 0..100", ErrBadConfig, cfg.PanicThreshold)
	}
	if cfg.EWMATau < 0 || cfg.DefaultRTT < 0 {
		return nil, fmt.Errorf("%w: negative EWMA tau or default RTT", ErrBadConfig)
	}
	if cfg.EWMATau == 0 {
		cfg.EWMATau = DefaultEWMATau
	}
	if cfg.DefaultRTT == 0 {
		cfg.DefaultRTT = DefaultRTT
	}
	s := &Set{cfg: cfg}
	s.members.Store(&members{})
	return s, nil
}

// Update replaces the membership. Targets keep their state and counters; a target
// may belong to only one Set. Tables of the policies built on s are rebuilt before
// the swap; on error nothing changes. Safe concurrently with Pick.
func (s *Set) Update(targets []*Target) error {
	if len(targets) > MaxTargets {
		return fmt.Errorf("%w: %d > %d", ErrTooManyTargets, len(targets), MaxTargets)
	}
	m := &members{targets: make([]*Target, len(targets))}
	seenAddr := make(map[string]struct{}, len(targets))
	for i, t := range targets {
		if t == nil {
			return fmt.Errorf("%w at index %d", ErrNilTarget, i)
		}
		if _, dup := seenAddr[t.addr]; dup {
			return fmt.Errorf("%w: %q", ErrDuplicateTarget, t.addr)
		}
		seenAddr[t.addr] = struct{}{}
		if other := t.set.Load(); other != nil && other != s {
			return fmt.Errorf("%w: %q", ErrForeignTarget, t.addr)
		}
		m.targets[i] = t
		m.totalWeight += int64(t.weight)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	commits := make([]func(), 0, len(s.builders))
	for _, b := range s.builders {
		c, err := b.prepare(m)
		if err != nil {
			return err
		}
		commits = append(commits, c)
	}
	for _, t := range m.targets {
		// CompareAndSwap: a concurrent Update of another Set racing for the same
		// target must not steal it after our check above.
		if !t.set.CompareAndSwap(nil, s) && t.set.Load() != s {
			return fmt.Errorf("%w: %q", ErrForeignTarget, t.addr)
		}
	}
	s.members.Store(m)
	for _, c := range commits {
		c()
	}
	s.recountLocked(m)
	return nil
}

// Targets returns the current members. The slice is shared: do not modify it.
func (s *Set) Targets() []*Target { return s.members.Load().targets }

// Len returns the number of members.
func (s *Set) Len() int { return len(s.members.Load().targets) }

// Inflight returns the requests in flight over all targets of s.
func (s *Set) Inflight() int64 { return s.inflight.Load() }

// Usable returns how many members had no unhealthy/draining/ejected mark at the last
// state change. Ejections that expired are counted once OutlierDetector.Sweep clears
// them.
func (s *Set) Usable() int { return int(s.usable.Load()) }

// Panicking reports whether picks currently ignore health (see PanicThreshold).
func (s *Set) Panicking() bool { return s.panicking(s.members.Load()) }

func (s *Set) panicking(m *members) bool {
	if s.cfg.PanicThreshold == 0 || len(m.targets) == 0 {
		return false
	}
	return int64(s.usable.Load())*100 < int64(s.cfg.PanicThreshold)*int64(len(m.targets))
}

func (s *Set) register(b tableBuilder) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := b.prepare(s.members.Load())
	if err != nil {
		return err
	}
	c()
	s.builders = append(s.builders, b)
	return nil
}

func (s *Set) unregister(b tableBuilder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.builders {
		if x == b {
			s.builders = append(s.builders[:i], s.builders[i+1:]...)
			return
		}
	}
}

func (s *Set) recount() {
	s.mu.Lock()
	s.recountLocked(s.members.Load())
	s.mu.Unlock()
}

func (s *Set) recountLocked(m *members) {
	var n int32
	var w int64
	for _, t := range m.targets {
		if t.state.Load() == 0 {
			n++
			w += int64(t.weight)
		}
	}
	s.usable.Store(n)
	s.usableWeight.Store(w)
}

// firstEligible scans m from start (wrapping) for an eligible, non-excluded target.
// It is the degraded-mode fallback of every policy, O(n).
func (m *members) firstEligible(start int, now int64, panicking bool, ex *Exclude) *Target {
	n := len(m.targets)
	for k := 0; k < n; k++ {
		i := start + k
		if i >= n {
			i -= n
		}
		t := m.targets[i]
		if t.eligible(now, panicking) && !ex.Has(t) {
			return t
		}
	}
	return nil
}
