package policy

import (
	"fmt"
	"sync"
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
	// QueueSize is how many requests may wait for a slot (0: none, over the limit is 503 at
	// once); QueueTimeout is how long one may wait before it gets 503.
	QueueSize    int
	QueueTimeout time.Duration
	// Now is the monotonic clock (default limits.Now).
	Now func() int64
}

// InFlight caps the requests in flight through it and answers 503 to the
// rest (RFC 9110 Section 15.6.4: the server is temporarily overloaded). One
// InFlight can sit on several routes: built per upstream and attached to
// every route that sends to it, it caps the upstream.
//
// With a queue, a request over the limit waits (the session parks it:
// proxy.Verdict.Queue) until a finishing request hands it its slot, first come
// first served, or until the queue timeout answers it 503. The handover runs on
// the goroutine that released the slot and resumes the waiter on its own loop
// (proxy.Waiter).
type InFlight struct {
	name    string
	conc    *limits.Concurrency
	grad    *limits.Gradient
	now     func() int64
	skew    clockSkew
	reason  string
	timeout time.Duration

	mu      sync.Mutex                 // guards the two maps (queued requests only)
	waiters map[limits.Ticket]waiter   // parked requests by ticket
	early   map[limits.Ticket]struct{} // tickets granted before their waiter was noted
}

type waiter struct {
	w     proxy.Waiter
	token uint64
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
	c, err := limits.NewConcurrency(limits.ConcurrencyConfig{Limit: limit, QueueSize: cfg.QueueSize, QueueTimeout: cfg.QueueTimeout})
	if err != nil {
		return nil, fmt.Errorf("%w: concurrency %q: %w", ErrConfig, cfg.Name, err)
	}
	f.conc = c
	f.timeout = cfg.QueueTimeout
	if cfg.QueueSize > 0 {
		f.waiters = make(map[limits.Ticket]waiter, cfg.QueueSize)
		f.early = make(map[limits.Ticket]struct{})
	}
	return f, nil
}

// OnRequest takes a slot or answers 503.
func (f *InFlight) OnRequest(c *proxy.FilterContext) proxy.Verdict {
	if f.grad != nil {
		f.skew.observe(c.Now, f.now())
	}
	o, t := f.conc.Acquire(c.Now)
	switch o {
	case limits.Admitted:
		return proxy.Verdict{}
	case limits.Queued:
		f.mu.Lock()
		if _, granted := f.early[t]; granted {
			// A release handed this ticket its slot before we got here: go on at once.
			delete(f.early, t)
			f.mu.Unlock()
			return proxy.Verdict{}
		}
		f.waiters[t] = waiter{w: c.Waiter, token: c.WaitToken}
		f.mu.Unlock()
		c.Ticket = uint64(t)
		return proxy.Verdict{Queue: f.timeout, Reason: f.reason + " (queue timeout)"}
	}
	return proxy.Verdict{Status: 503, Reason: f.reason}
}

// Cancel withdraws a parked request (proxy.Queuer). False means its slot was granted already
// and the session will release it through OnDone.
func (f *InFlight) Cancel(c *proxy.FilterContext) bool {
	t := limits.Ticket(c.Ticket)
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.waiters, t)
	delete(f.early, t)
	return f.conc.Cancel(t)
}

// handOver gives a released slot to the waiter holding ticket t; f.mu is held, so a grant,
// a cancel and the noting of a new waiter never interleave. It returns the waiter to wake
// once the lock is released.
func (f *InFlight) handOver(t limits.Ticket) (waiter, bool) {
	if t == 0 {
		return waiter{}, false
	}
	w, ok := f.waiters[t]
	if ok {
		delete(f.waiters, t)
	} else {
		f.early[t] = struct{}{} // granted between Acquire and the noting in OnRequest
	}
	return w, ok
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
			if f.waiters == nil {
				f.conc.SetLimit(limit, mono, nil) // no queue: never any tickets
			} else {
				var buf [8]limits.Ticket
				var wake []waiter // raising the limit is rare: this may allocate
				f.mu.Lock()
				for _, t := range f.conc.SetLimit(limit, mono, buf[:0]) {
					if w, ok := f.handOver(t); ok {
						wake = append(wake, w)
					}
				}
				f.mu.Unlock()
				for _, w := range wake {
					w.w.Wake(w.token, true)
				}
			}
		}
	}
	// Release fails only for a release without an acquire, which the proxy's
	// contract (OnDone once per admitted request) rules out.
	if f.waiters == nil {
		_, _ = f.conc.Release(c.Now)
		return
	}
	f.mu.Lock()
	t, _ := f.conc.Release(c.Now)
	w, ok := f.handOver(t)
	f.mu.Unlock()
	if ok {
		w.w.Wake(w.token, true)
	}
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
