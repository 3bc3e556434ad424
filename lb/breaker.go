package lb

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// BreakerState is a circuit breaker's state.
type BreakerState uint8

// Breaker states.
const (
	// Closed: requests flow; results are counted in the sliding window.
	Closed BreakerState = iota
	// Open: requests are refused until OpenDuration has passed.
	Open
	// HalfOpen: up to HalfOpenProbes requests are let through to test the target.
	HalfOpen
)

func (s BreakerState) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("BreakerState(%d)", uint8(s))
}

// Transition is one breaker state change, for the console and metrics.
type Transition struct {
	Name     string // BreakerConfig.Name, usually the target address
	From, To BreakerState
	At       int64 // the now that caused it
}

// BreakerConfig configures a Breaker. Zero values of optional fields take the
// defaults noted.
type BreakerConfig struct {
	Name string
	// Window is the span of the sliding window of results; default 10s, split in
	// Buckets buckets (default 10).
	Window  time.Duration
	Buckets int
	// MinRequests is the number of results in the window below which the breaker never
	// trips: two failures out of three prove nothing. Default 20.
	MinRequests int
	// FailureRatio trips the breaker when failures/results in the window reach it,
	// in (0, 1]. 0 disables failure tripping.
	FailureRatio float64
	// SlowCallDuration marks a result as slow; SlowCallRatio trips the breaker when
	// slow/results reach it. Either 0 disables slow-call tripping. A target that
	// answers 200 after 20s is as useless as one that fails.
	SlowCallDuration time.Duration
	SlowCallRatio    float64
	// OpenDuration is how long the breaker refuses before probing; default 5s. It is
	// also how long half-open waits for outstanding probes before issuing new ones,
	// so a lost probe cannot wedge the breaker.
	OpenDuration time.Duration
	// HalfOpenProbes is how many requests half-open lets through, and how many must
	// succeed in a row to close; default 1. Any failed or slow probe reopens.
	HalfOpenProbes int
	// OnTransition, if set, is called synchronously by the goroutine whose call caused
	// the change (an event loop): it must be quick and must not block.
	OnTransition func(Transition)
	// Log, if set, records every transition for readers such as the admin API.
	Log *TransitionLog
}

// Breaker is a per-target circuit breaker: closed → open when the failure or
// slow-call ratio over the sliding window crosses its threshold with at least
// MinRequests results; open → half-open after OpenDuration; half-open → closed
// after HalfOpenProbes successful probes, or back to open on any failed probe.
//
// Allow and OnResult are safe for concurrent use from every loop. The state, probe
// counts and window are atomics: in the closed state Allow is one atomic load, and
// a transition is a single CompareAndSwap whose winner reports it. A nil *Breaker
// allows everything and records nothing.
type Breaker struct {
	cfg BreakerConfig
	// st packs state (bits 0-7), probes issued (8-31) and probe successes (32-55).
	st    atomic.Uint64
	since atomic.Int64 // when the current state began (open: opened at)

	total, failures, slow window
}

const maxProbes = 1<<24 - 1

func packBreaker(s BreakerState, issued, ok uint64) uint64 {
	return uint64(s) | issued<<8 | ok<<32
}

func unpackBreaker(v uint64) (s BreakerState, issued, ok uint64) {
	return BreakerState(v & 0xff), (v >> 8) & maxProbes, (v >> 32) & maxProbes
}

// NewBreaker validates cfg and returns a closed breaker.
func NewBreaker(cfg BreakerConfig) (*Breaker, error) {
	if cfg.Window == 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.Buckets == 0 {
		cfg.Buckets = 10
	}
	if cfg.MinRequests == 0 {
		cfg.MinRequests = 20
	}
	if cfg.OpenDuration == 0 {
		cfg.OpenDuration = 5 * time.Second
	}
	if cfg.HalfOpenProbes == 0 {
		cfg.HalfOpenProbes = 1
	}
	switch {
	case cfg.Window < 0 || cfg.Buckets < 0 || cfg.Buckets > 1000 || int64(cfg.Window) < int64(cfg.Buckets):
		return nil, fmt.Errorf("%w: breaker window %v in %d buckets", ErrBadConfig, cfg.Window, cfg.Buckets)
	case cfg.MinRequests < 0:
		return nil, fmt.Errorf("%w: breaker min requests %d", ErrBadConfig, cfg.MinRequests)
	case !ratioOK(cfg.FailureRatio) || !ratioOK(cfg.SlowCallRatio):
		return nil, fmt.Errorf("%w: breaker ratios %v, %v, want 0..1", ErrBadConfig, cfg.FailureRatio, cfg.SlowCallRatio)
	case cfg.SlowCallDuration < 0 || cfg.OpenDuration < 0:
		return nil, fmt.Errorf("%w: negative breaker duration", ErrBadConfig)
	case cfg.HalfOpenProbes < 0 || cfg.HalfOpenProbes > maxProbes:
		return nil, fmt.Errorf("%w: breaker half-open probes %d", ErrBadConfig, cfg.HalfOpenProbes)
	case cfg.FailureRatio == 0 && (cfg.SlowCallRatio == 0 || cfg.SlowCallDuration == 0):
		return nil, fmt.Errorf("%w: breaker can never trip (no failure ratio, no slow-call ratio)", ErrBadConfig)
	}
	b := &Breaker{cfg: cfg}
	span := int64(cfg.Window)
	b.total = newWindow(span, cfg.Buckets)
	b.failures = newWindow(span, cfg.Buckets)
	b.slow = newWindow(span, cfg.Buckets)
	return b, nil
}

func ratioOK(r float64) bool { return r >= 0 && r <= 1 && !math.IsNaN(r) }

// State returns the state as of the last transition (an open breaker whose
// OpenDuration passed stays Open until the next Allow moves it to HalfOpen).
func (b *Breaker) State() BreakerState {
	if b == nil {
		return Closed
	}
	s, _, _ := unpackBreaker(b.st.Load())
	return s
}

// Allow asks whether a request may go to the target at now. probe is true when the
// request is a half-open probe: its result decides whether the breaker closes.
func (b *Breaker) Allow(now int64) (ok, probe bool) {
	if b == nil {
		return true, false
	}
	for {
		v := b.st.Load()
		s, issued, okn := unpackBreaker(v)
		switch s {
		case Closed:
			return true, false
		case Open:
			if now-b.since.Load() < int64(b.cfg.OpenDuration) {
				return false, false
			}
			if b.transition(v, packBreaker(HalfOpen, 1, 0), Open, HalfOpen, now) {
				return true, true
			}
		case HalfOpen:
			if issued < uint64(b.cfg.HalfOpenProbes) {
				if b.st.CompareAndSwap(v, packBreaker(HalfOpen, issued+1, okn)) {
					return true, true
				}
				continue
			}
			if now-b.since.Load() < int64(b.cfg.OpenDuration) {
				return false, false
			}
			// Probes were issued long ago and never reported: start a new round.
			if b.st.CompareAndSwap(v, packBreaker(HalfOpen, 1, 0)) {
				b.since.Store(now)
				return true, true
			}
		default:
			return false, false
		}
	}
}

// Reset closes the breaker at once (an operator's action), clearing its window. It reports
// whether the state changed; the transition is logged like any other.
func (b *Breaker) Reset(now int64) bool {
	if b == nil {
		return false
	}
	for {
		v := b.st.Load()
		s, _, _ := unpackBreaker(v)
		if s == Closed {
			return false
		}
		if b.transition(v, packBreaker(Closed, 0, 0), s, Closed, now) {
			return true
		}
	}
}

// rejecting is Allow's refusal without its side effects, for Pick: true while open
// and cooling down, or half-open with every probe out.
func (b *Breaker) rejecting(now int64) bool {
	s, issued, _ := unpackBreaker(b.st.Load())
	switch s {
	case Open:
		return now-b.since.Load() < int64(b.cfg.OpenDuration)
	case HalfOpen:
		return issued >= uint64(b.cfg.HalfOpenProbes) && now-b.since.Load() < int64(b.cfg.OpenDuration)
	}
	return false
}

// OnResult records the outcome of a request Allow let through. failure is the
// caller's verdict (connect error, 5xx, timeout); latency is compared with
// SlowCallDuration. Results that arrive while open are ignored: they were sent
// before the breaker tripped and say nothing new. While half-open every result
// counts as a probe result, including a late one from a request admitted while
// closed: it is just as recent evidence about the target.
func (b *Breaker) OnResult(now int64, failure bool, latency time.Duration) {
	if b == nil {
		return
	}
	slow := b.cfg.SlowCallDuration > 0 && latency >= b.cfg.SlowCallDuration
	for {
		v := b.st.Load()
		s, issued, okn := unpackBreaker(v)
		switch s {
		case Closed:
			b.total.add(now, 1)
			if failure {
				b.failures.add(now, 1)
			}
			if slow {
				b.slow.add(now, 1)
			}
			// Only a bad result can push a ratio over its threshold (a success
			// sliding the window can too, but the next bad result catches that), so
			// the common success path is one CAS and no window sums.
			if (failure || slow) && b.shouldTrip(now) {
				b.transition(v, packBreaker(Open, 0, 0), Closed, Open, now)
			}
			return
		case HalfOpen:
			if failure || (slow && b.cfg.SlowCallRatio > 0) {
				if b.transition(v, packBreaker(Open, 0, 0), HalfOpen, Open, now) {
					return
				}
				continue
			}
			if okn+1 >= uint64(b.cfg.HalfOpenProbes) {
				if b.transition(v, packBreaker(Closed, 0, 0), HalfOpen, Closed, now) {
					return
				}
				continue
			}
			if b.st.CompareAndSwap(v, packBreaker(HalfOpen, issued, okn+1)) {
				return
			}
		default:
			return
		}
	}
}

func (b *Breaker) shouldTrip(now int64) bool {
	tot := b.total.sum(now)
	if tot == 0 || tot < uint64(b.cfg.MinRequests) {
		return false
	}
	if r := b.cfg.FailureRatio; r > 0 && float64(b.failures.sum(now)) >= r*float64(tot) {
		return true
	}
	if r := b.cfg.SlowCallRatio; r > 0 && b.cfg.SlowCallDuration > 0 && float64(b.slow.sum(now)) >= r*float64(tot) {
		return true
	}
	return false
}

// transition moves old → nw with one CAS; the winner stamps the time, clears the
// window when closing, and reports the change.
func (b *Breaker) transition(old, nw uint64, from, to BreakerState, now int64) bool {
	// since is stored before the CAS so no reader sees the new state with the old
	// stamp. A racer that loses has stored its own now, which differs from the
	// winner's by the skew between loops' clocks at most.
	b.since.Store(now)
	if !b.st.CompareAndSwap(old, nw) {
		return false
	}
	if to == Closed {
		b.total.reset()
		b.failures.reset()
		b.slow.reset()
	}
	tr := Transition{Name: b.cfg.Name, From: from, To: to, At: now}
	if b.cfg.Log != nil {
		b.cfg.Log.Append(tr)
	}
	if b.cfg.OnTransition != nil {
		b.cfg.OnTransition(tr)
	}
	return true
}

// TransitionLog keeps the most recent transitions of any number of breakers in a
// fixed ring, each with a sequence number, so a reader (the admin API's event
// stream) can ask for everything after the last one it saw. Append is rare (state
// changes) and takes a mutex; memory is bounded by the capacity.
type TransitionLog struct {
	mu   sync.Mutex
	buf  []Transition
	next uint64 // sequence number of the next Append
}

// NewTransitionLog returns a log keeping the last capacity transitions.
func NewTransitionLog(capacity int) (*TransitionLog, error) {
	if capacity < 1 || capacity > 1<<20 {
		return nil, fmt.Errorf("%w: transition log capacity %d", ErrBadConfig, capacity)
	}
	return &TransitionLog{buf: make([]Transition, capacity)}, nil
}

// Append records tr.
func (l *TransitionLog) Append(tr Transition) {
	l.mu.Lock()
	l.buf[l.next%uint64(len(l.buf))] = tr
	l.next++
	l.mu.Unlock()
}

// Since appends to dst the transitions with sequence numbers >= seq still held and
// returns it with the sequence number to pass next time. Transitions overwritten
// before they were read are skipped; dropped says how many.
func (l *TransitionLog) Since(seq uint64, dst []Transition) (out []Transition, next uint64, dropped uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	oldest := uint64(0)
	if l.next > uint64(len(l.buf)) {
		oldest = l.next - uint64(len(l.buf))
	}
	if seq < oldest {
		dropped = oldest - seq
		seq = oldest
	}
	for ; seq < l.next; seq++ {
		dst = append(dst, l.buf[seq%uint64(len(l.buf))])
	}
	return dst, l.next, dropped
}
