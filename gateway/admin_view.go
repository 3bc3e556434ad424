package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-gw/sluice/lb"
	"github.com/sluice-gw/sluice/proxy"
)

// This file holds what the admin API reads and does on a running gateway: read-only views of
// the snapshot in force and the operator actions (drain, reload). None of it is on the
// request path.

// SnapshotPreparer is implemented by an Observer that must see a snapshot before it serves
// (metrics.Metrics creates its series there, so recording never allocates).
type SnapshotPreparer interface {
	Prepare(s *proxy.Snapshot)
}

// ErrNoSuchTarget is returned by SetDraining for an upstream or address the configuration in
// force does not have.
var ErrNoSuchTarget = errors.New("gateway: no such upstream target")

func (g *Gateway) prepare(s *proxy.Snapshot) { prepareObserver(g.obs, s) }

// prepareObserver reaches the preparers inside a fan-out (the access log joins the
// configured observer through proxy.Observers).
func prepareObserver(o proxy.Observer, s *proxy.Snapshot) {
	switch x := o.(type) {
	case SnapshotPreparer:
		x.Prepare(s)
	case proxy.Observers:
		for _, y := range x {
			prepareObserver(y, s)
		}
	}
}

// Upstreams lists the upstreams the routes in force reach, in route order, each once.
// Upstreams no route uses are not in the snapshot and so not listed.
func (g *Gateway) Upstreams() []*proxy.Upstream { return upstreamsOf(g.snap.Load()) }

func upstreamsOf(s *proxy.Snapshot) []*proxy.Upstream {
	if s == nil || s.Routes == nil {
		return nil
	}
	seen := map[*proxy.Upstream]bool{}
	var out []*proxy.Upstream
	for _, r := range Routes(s) {
		if r.Upstream != nil && !seen[r.Upstream] {
			seen[r.Upstream] = true
			out = append(out, r.Upstream)
		}
	}
	return out
}

// Routes lists a snapshot's routes in configuration order.
func Routes(s *proxy.Snapshot) []*proxy.Route {
	if s == nil || s.Routes == nil {
		return nil
	}
	out := make([]*proxy.Route, 0, s.Routes.Len())
	for i := 0; i < s.Routes.Len(); i++ {
		if r, ok := s.Routes.Route(i).Target().(*proxy.Route); ok {
			out = append(out, r)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Index < out[j-1].Index; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// SetDraining drains (on) or undrains a target of the configuration in force: a draining
// target gets no new requests and its in-flight ones finish. The state survives reloads that
// keep the target. It reports whether the state changed.
func (g *Gateway) SetDraining(upstream, addr string, on bool) (changed bool, err error) {
	g.mu.Lock() // against a reload swapping the targets under us
	defer g.mu.Unlock()
	for _, u := range g.Upstreams() {
		if u.Name != upstream {
			continue
		}
		for _, t := range u.Targets {
			if t.Addr == addr {
				return t.Draining.Swap(on) != on, nil
			}
		}
	}
	return false, fmt.Errorf("%w: %s/%s", ErrNoSuchTarget, upstream, addr)
}

// carryDrain copies the draining state of targets that a new snapshot keeps (same upstream
// name and address).
func carryDrain(old, next *proxy.Snapshot) {
	drained := map[[2]string]bool{}
	for _, u := range upstreamsOf(old) {
		for _, t := range u.Targets {
			if t.Draining.Load() {
				drained[[2]string{u.Name, t.Addr}] = true
			}
		}
	}
	if len(drained) == 0 {
		return
	}
	for _, u := range upstreamsOf(next) {
		for _, t := range u.Targets {
			if drained[[2]string{u.Name, t.Addr}] {
				t.Draining.Store(true)
			}
		}
	}
}

// PoolSize is the upstream connections of one target, summed over the loops.
type PoolSize struct {
	TargetID int
	Addr     string
	Open     int // open and dialing
	Idle     int
}

// PoolSizes collects the per-loop upstream pools. The pools belong to their loops, so each
// loop counts its own through Execute; ctx bounds the wait for a busy loop.
func (g *Gateway) PoolSizes(ctx context.Context) ([]PoolSize, error) {
	loops := g.srv.Loops()
	type part struct{ sizes map[int]PoolSize }
	ch := make(chan part, len(loops))
	for _, l := range loops {
		i := l.Index()
		err := l.Execute(func() {
			p := part{sizes: map[int]PoolSize{}}
			if i < maxLoops {
				if ls := g.d.loops[i].Load(); ls != nil {
					for id, tp := range ls.pools {
						if tp == nil || tp.target == nil {
							continue
						}
						p.sizes[id] = PoolSize{TargetID: id, Addr: tp.target.Addr, Open: tp.total, Idle: len(tp.idle)}
					}
				}
			}
			ch <- p
		})
		if err != nil {
			return nil, err
		}
	}
	sum := map[int]PoolSize{}
	for range loops {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case p := <-ch:
			for id, s := range p.sizes {
				a := sum[id]
				a.TargetID, a.Addr = id, s.Addr
				a.Open += s.Open
				a.Idle += s.Idle
				sum[id] = a
			}
		}
	}
	out := make([]PoolSize, 0, len(sum))
	for _, s := range sum {
		out = append(out, s)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].TargetID < out[j-1].TargetID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// TargetBalance is the balancer's view of one target: active health, outlier ejection and
// circuit breaker, with the time each lasts still.
type TargetBalance struct {
	Addr         string
	Healthy      bool // active health checks (true without them)
	Ejected      bool // by outlier detection
	EjectedFor   time.Duration
	TimesEjected int
	EWMA         time.Duration // the balancer's decayed latency estimate
	// Breaker is "closed", "open" or "half-open", or "" when the upstream has no
	// circuit_breaker. BreakerOpenFor is what remains of the open time (0 when the next
	// request will probe).
	Breaker        string
	BreakerOpenFor time.Duration
}

// Balance returns the balancer's view of an upstream's targets, or nil for an unknown one.
func (g *Gateway) Balance(upstream string) []TargetBalance {
	stats := g.res.targetStats(upstream)
	if stats == nil {
		return nil
	}
	var breaker bool
	var openFor time.Duration
	if cu := g.Config().Upstream(upstream); cu != nil {
		breaker = cu.CircuitBreaker.Enabled
		openFor = cu.CircuitBreaker.OpenDuration.Duration()
	}
	now := lbNow()
	var opened map[string]int64
	if breaker {
		trs, _, _ := g.res.transitions(0, nil)
		opened = map[string]int64{}
		for _, tr := range trs {
			if tr.To == lb.Open {
				opened[tr.Name] = tr.At // the log is in order: the last one wins
			}
		}
	}
	out := make([]TargetBalance, len(stats))
	for i, st := range stats {
		b := TargetBalance{
			Addr: st.Addr, Healthy: st.Healthy, Ejected: st.Ejected, TimesEjected: st.TimesEjected, EWMA: st.EWMA,
		}
		if st.Ejected {
			b.EjectedFor = max(time.Duration(st.EjectedUntil-now), 0)
		}
		if breaker {
			b.Breaker = st.Breaker.String()
			if at, ok := opened[st.Addr]; ok && st.Breaker == lb.Open {
				b.BreakerOpenFor = max(time.Duration(at)+openFor-time.Duration(now), 0)
			}
		}
		out[i] = b
	}
	return out
}

// BreakerTransition is one circuit breaker changing state.
type BreakerTransition struct {
	Target   string
	From, To string
}

// BreakerTransitions returns the breaker transitions since seq (0: all still held) and the
// seq to pass next time; dropped counts those overwritten before they were read.
func (g *Gateway) BreakerTransitions(seq uint64) (out []BreakerTransition, next, dropped uint64) {
	trs, next, dropped := g.res.transitions(seq, nil)
	for _, tr := range trs {
		out = append(out, BreakerTransition{Target: tr.Name, From: tr.From.String(), To: tr.To.String()})
	}
	return out, next, dropped
}

// ResetBreaker closes the circuit breaker of one target (an operator's action). changed is
// false when it was already closed or the upstream has no breakers.
func (g *Gateway) ResetBreaker(upstream, addr string) (changed bool, err error) {
	g.res.mu.Lock()
	u := g.res.ups[upstream]
	var t *lb.Target
	if u != nil {
		t = u.targets[addr]
	}
	g.res.mu.Unlock()
	if t == nil {
		return false, fmt.Errorf("%w: %s/%s", ErrNoSuchTarget, upstream, addr)
	}
	return t.Breaker().Reset(lbNow()), nil
}
