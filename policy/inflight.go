package policy

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/proxy"
)

// InFlightConfig configures an InFlight filter.
type InFlightConfig struct {
	// Name identifies the limit (a route or an upstream) in the
	// X-Sluice-Error reason.
	Name string
	// MaxInFlight is the fixed limit, or the starting limit with Adaptive.
	MaxInFlight int64
	// Adaptive, when set, moves the limit with latency (limits.Gradient):
	// MaxInFlight is ignored and Adaptive.InitialLimit is where it starts.
	Adaptive *limits.GradientConfig
	// Now is the monotonic clock (default limits.Now).
	Now func() int64
}

// InFlight caps the requests in flight through it and answers 503 to the
// rest (RFC 9110 Section 15.6.4: the server is temporarily overloaded). One
// InFlight can sit on several routes: built per upstream and attached to
// every route that sends to it, it caps the upstream.
//
// There is no queue: a proxy.Filter cannot suspend a request, so a request
// over the limit is answered at once. limits.Concurrency has an event-loop
// queue ready for the day the proxy can park a request.
type InFlight struct {
	name   string
	conc   *limits.Concurrency
	grad   *limits.Gradient
	now    func() int64
	skew   clockSkew
	reason string
}

// NewInFlight builds the filter.
func NewInFlight(cfg InFlightConfig) (*InFlight, error) {
	now := cfg.Now
	if now == nil {
		now = limits.Now
	}
	f := &InFlight{name: cfg.Name, now: now, reason: "concurrency limit: " + cfg.Name}
	limit := cfg.MaxInFlight
	if cfg.Adaptive != nil {
		g, err := limits.NewGradient(*cfg.Adaptive)
		if err != nil {
			return nil, fmt.Errorf("%w: adaptive concurrency %q: %w", ErrConfig, cfg.Name, err)
		}
		f.grad = g
		limit = g.Limit()
	}
	c, err := limits.NewConcurrency(limits.ConcurrencyConfig{Limit: limit})
	if err != nil {
		return nil, fmt.Errorf("%w: concurrency %q: %w", ErrConfig, cfg.Name, err)
	}
	f.conc = c
	return f, nil
}

// OnRequest takes a slot or answers 503.
func (f *InFlight) OnRequest(c *proxy.FilterContext) proxy.Verdict {
	if f.grad != nil {
		f.skew.observe(c.Now, f.now())
	}
	if o, _ := f.conc.Acquire(c.Now); o == limits.Admitted {
		return proxy.Verdict{}
	}
	return proxy.Verdict{Status: 503, Reason: f.reason}
}

// OnDone releases the slot and, with an adaptive limit, feeds it the
// request's latency: 503 and 504 answers count as drops (the clearest
// congestion signal), a client that left (499) says nothing.
func (f *InFlight) OnDone(c *proxy.FilterContext, status int) {
	if f.grad != nil && status != 499 {
		mono := f.now()
		rtt := f.skew.since(c.Now, mono)
		limit := f.grad.OnSample(time.Duration(rtt), mono, f.conc.InFlight(), status == 503 || status == 504)
		if limit != f.conc.Limit() {
			f.conc.SetLimit(limit, mono, nil) // no queue: never any tickets
		}
	}
	// Release fails only for a release without an acquire, which the proxy's
	// contract (OnDone once per admitted request) rules out.
	_, _ = f.conc.Release(c.Now)
}

// Name returns the configured name.
func (f *InFlight) Name() string { return f.name }

// Stats returns the limiter's counters.
func (f *InFlight) Stats() limits.ConcurrencyStats { return f.conc.Stats() }

// clockSkew relates the loop clock (FilterContext.Now, read when the
// request's phase began and still that value in OnDone) to the filter's
// monotonic clock, so that OnDone can measure a request's latency without
// per-request storage: latency = mono + offset - start.
//
// The engines' loop clocks are a cached reading (wall time on gnet,
// monotonic on epoll), never ahead of the real time, so each observed
// loop-mono difference is at most the true offset: the largest one seen is
// the best estimate. It is re-learnt every second so that a wall-clock step
// (gnet) is forgotten quickly.
type clockSkew struct {
	epoch  atomic.Int64 // mono when the current estimate started
	offset atomic.Int64
	have   atomic.Bool
}

const skewEpoch = int64(time.Second)

func (k *clockSkew) observe(loop, mono int64) {
	o := loop - mono
	if !k.have.Load() || mono-k.epoch.Load() > skewEpoch {
		k.epoch.Store(mono)
		k.offset.Store(o)
		k.have.Store(true)
		return
	}
	for {
		cur := k.offset.Load()
		if o <= cur || k.offset.CompareAndSwap(cur, o) {
			return
		}
	}
}

// since is the time from start (loop clock) to mono (filter clock); zero
// when the estimate says the request ended before it began.
func (k *clockSkew) since(start, mono int64) int64 {
	return max(0, mono+k.offset.Load()-start)
}
