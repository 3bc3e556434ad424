package gateway

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/engine"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/lb"
	"github.com/sluice-gw/sluice/proxy"
)

// This file connects the sans-IO lb package to the proxy: per upstream an lb.Set of
// lb.Targets mirroring the snapshot's proxy.Targets, the configured balancer, an outlier
// detector, breakers and a retry budget, all kept in a registry that outlives reloads so that
// an unchanged target keeps its health, ejection, breaker and latency state.

// lbNow is the clock of the lb decisions made off the loops (sweeps, health checks, admin
// actions): engine.Nanotime, the loops' own clock. Pick, Retry and Done take the loop's now,
// read once per wake-up, instead of reading the clock twice more per request. A loop's now may
// trail another loop's by the length of a batch; lb's windows and deadlines allow for that.
func lbNow() int64 { return engine.Nanotime() }

// sweepEvery is how often ejections are swept and admin drains are mirrored into lb targets.
const sweepEvery = 100 * time.Millisecond

// transitionLogSize bounds the breaker transitions kept for the admin API and console.
const transitionLogSize = 1024

// resilience is the gateway's registry of upstream lb state, keyed by upstream name and, inside
// an upstream, by target address. apply runs under the gateway's reload mutex; the sweeper and
// health checkers run in their own goroutines until close.
type resilience struct {
	mu      sync.Mutex
	ups     map[string]*lbUpstream
	log     *lb.TransitionLog
	seed    uint64
	stop    chan struct{}
	wg      sync.WaitGroup
	started bool
	closed  bool

	disc       discovery // dns and srv names (discovery.go)
	rebuild    func()    // rebuilds the snapshot after a DNS answer changed; set before the first build
	rebuildErr error     // the last rebuild's error
}

// lbUpstream is one upstream's lb state.
type lbUpstream struct {
	name    string
	key     setKey
	set     *lb.Set
	policy  lb.PolicyConfig
	bal     lb.Balancer
	outlier *lb.OutlierDetector
	odCfg   config.OutlierDetection
	budget  *lb.RetryBudget
	rbCfg   config.RetryBudget
	backoff lb.RetryBackoff       // before a retry on the target that failed
	rnd     *lb.Rand              // backoff jitter
	targets map[string]*lb.Target // current members by address
	health  *healthChecks         // nil when health checks are off

	cur       atomic.Pointer[lbBalancer] // the adapter of the newest snapshot
	lastSweep int64                      // guarded by the sweeper goroutine
}

// setKey is the configuration an lb.Set and its targets are built with: a breaker is attached
// to a target before it joins a Set and the panic threshold is fixed at NewSet, so a change of
// either starts the upstream afresh.
type setKey struct {
	panic   int
	breaker config.CircuitBreaker
}

// lbBalancer adapts an lbUpstream to proxy.Balancer for one snapshot: it maps lb targets to
// that snapshot's proxy targets and back without allocating (an immutable map one way, a slice
// indexed by the dense proxy.Target.ID the other).
type lbBalancer struct {
	u    *lbUpstream
	bal  lb.Balancer
	byLB map[*lb.Target]*proxy.Target
	byID []*lb.Target
	all  []*proxy.Target
}

var (
	_ proxy.Balancer    = (*lbBalancer)(nil)
	_ proxy.RetryPicker = (*lbBalancer)(nil)
)

// Pick chooses a target that is not draining and whose breaker lets the request through, and
// counts the request in flight (Done releases it). The balancer already skips unhealthy,
// ejected, draining and refusing targets (or, in panic mode, only draining ones); what it cannot
// see is the admin drain flag set on the proxy.Target since the last sweep, and the breaker's
// half-open probe quota, which only Allow consumes. A target failing either is excluded and
// the pick repeated, at most lb.MaxExclude times.
func (b *lbBalancer) Pick(now int64, key uint64) *proxy.Target {
	if bud := b.u.budget; bud != nil {
		bud.OnRequest(now)
	}
	return b.pick(now, key, nil)
}

// pick is Pick with targets to avoid (a retry's failed target); it counts no request.
func (b *lbBalancer) pick(now int64, key uint64, avoid *proxy.Target) *proxy.Target {
	var ex lb.Exclude
	if avoid != nil {
		ex.Add(b.lbTarget(avoid))
	}
	for range lb.MaxExclude {
		lt := b.bal.Pick(now, key, ex)
		if lt == nil {
			return nil
		}
		pt := b.byLB[lt]
		if pt == nil || pt.Draining.Load() {
			ex.Add(lt)
			continue
		}
		if ok, _ := lt.Breaker().Allow(now); !ok {
			ex.Add(lt)
			continue
		}
		lt.Acquire()
		return pt
	}
	return nil
}

// Retry chooses the target for attempt (0 for the first retry) of a request that failed on
// failed, when the retry budget allows one: another target when one is available, sent at once
// (a different target has no reason to be spared), else failed itself after an exponential
// backoff with full jitter, which spreads the retries of clients that failed together. It
// returns nil when the budget is spent or no target can take the request; the caller then
// answers with the failure it has.
func (b *lbBalancer) Retry(now int64, key uint64, failed *proxy.Target, attempt int) (*proxy.Target, time.Duration) {
	u := b.u
	if u.budget != nil && !u.budget.TryRetry(now) {
		return nil, 0
	}
	if t := b.pick(now, key, failed); t != nil {
		return t, 0
	}
	t := b.pick(now, key, nil)
	if t == nil {
		return nil, 0
	}
	return t, u.backoff.Backoff(attempt, u.rnd.Uint64())
}

// Done settles an exchange: it releases the in-flight count and feeds the latency estimate, the
// breaker and the outlier detector. A client that went away says nothing about the target.
func (b *lbBalancer) Done(t *proxy.Target, now int64, o proxy.Outcome, rtt int64) {
	lt := b.lbTarget(t)
	if lt == nil {
		return
	}
	lt.Release()
	d := time.Duration(rtt)
	switch o {
	case proxy.OutcomeSuccess:
		lt.ObserveLatency(now, d)
		lt.Breaker().OnResult(now, false, d)
		b.u.outlier.OnResult(now, lt, lb.Success)
	case proxy.OutcomeConnectFailure:
		lt.Breaker().OnResult(now, true, 0)
		b.u.outlier.OnResult(now, lt, lb.ConnectFailure)
	case proxy.OutcomeError, proxy.OutcomeTimeout:
		if rtt > 0 {
			lt.ObserveLatency(now, d)
		}
		lt.Breaker().OnResult(now, true, d)
		b.u.outlier.OnResult(now, lt, lb.Failure5xx)
	}
}

func (b *lbBalancer) lbTarget(t *proxy.Target) *lb.Target {
	if t == nil || t.ID < 0 || t.ID >= len(b.byID) {
		return nil
	}
	return b.byID[t.ID]
}

// apply builds or updates the lb state of every upstream of c and attaches a Balancer and a
// HashKey to each proxy.Upstream of ups. Upstreams that left the configuration are closed.
// Called with the gateway's reload mutex held, before the snapshot is published: members
// added here are skipped by the old snapshot's adapters (they have no proxy target for them)
// and members removed are no longer picked by either, while their requests in flight finish.
func (r *resilience) apply(c *config.Config, ups map[string]*proxy.Upstream) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("gateway: upstream state closed")
	}
	if r.ups == nil {
		r.ups = map[string]*lbUpstream{}
		log, err := lb.NewTransitionLog(transitionLogSize)
		if err != nil {
			return err
		}
		r.log = log
		r.seed = uint64(time.Now().UnixNano())
	}
	keep := map[string]bool{}
	for _, cu := range c.Upstreams {
		pu := ups[cu.Name]
		if pu == nil {
			continue
		}
		keep[cu.Name] = true
		if err := r.applyUpstream(cu, pu); err != nil {
			return fmt.Errorf("%s: upstreams.%s: %w", c.File, cu.Name, err)
		}
	}
	for name, u := range r.ups {
		if !keep[name] {
			u.close()
			delete(r.ups, name)
		}
	}
	r.sweepNamesLocked()
	r.startLocked()
	return nil
}

func (r *resilience) applyUpstream(cu *config.Upstream, pu *proxy.Upstream) error {
	key := setKey{panic: cu.PanicThreshold, breaker: cu.CircuitBreaker}
	u := r.ups[cu.Name]
	if u != nil && u.key != key {
		u.close()
		u = nil
	}
	if u == nil {
		set, err := lb.NewSet(lb.SetConfig{PanicThreshold: cu.PanicThreshold})
		if err != nil {
			return err
		}
		u = &lbUpstream{name: cu.Name, key: key, set: set, targets: map[string]*lb.Target{}}
		r.ups[cu.Name] = u
	}

	// Members: reuse the lb.Target of an address the upstream already has.
	members := make([]*lb.Target, 0, len(pu.Targets))
	next := make(map[string]*lb.Target, len(pu.Targets))
	maxID := -1
	for _, pt := range pu.Targets {
		lt := u.targets[pt.Addr]
		if lt == nil || lt.Weight() != pt.Weight {
			nt, err := r.newTarget(pt.Addr, pt.Weight, cu.CircuitBreaker)
			if err != nil {
				return err
			}
			if lt != nil {
				// A new weight needs a new Target (weights are immutable); carry health.
				nt.SetHealthy(lt.Healthy())
			}
			lt = nt
		}
		members = append(members, lt)
		next[pt.Addr] = lt
		maxID = max(maxID, pt.ID)
	}
	if err := u.set.Update(members); err != nil {
		return err
	}
	u.targets = next

	policy := lb.PolicyConfig{Policy: lbPolicy(cu.Balancer), Seed: r.seed + uint64(len(r.ups))*0x9e3779b97f4a7c15}
	if policy.Policy == lb.PolicyRingHash {
		policy.Ring = lb.RingConfig{LoadFactor: 0.25}
	}
	if u.bal == nil || u.policy.Policy != policy.Policy || u.policy.Ring != policy.Ring {
		bal, err := lb.NewBalancer(u.set, policy)
		if err != nil {
			return err
		}
		closeBalancer(u.bal)
		u.bal, u.policy = bal, policy
	}
	if u.outlier == nil || u.odCfg != cu.OutlierDetection {
		od := cu.OutlierDetection
		d, err := lb.NewOutlierDetector(u.set, lb.OutlierConfig{
			Consecutive5xx:             od.Consecutive5xx,
			ConsecutiveConnectFailures: od.ConsecutiveConnectFailures,
			BaseEjectionTime:           od.BaseEjectionTime.Duration(),
			MaxEjectionTime:            od.MaxEjectionTime.Duration(),
			MaxEjectionPercent:         max(od.MaxEjectionPercent, 1),
			Interval:                   od.Interval.Duration(),
		})
		if err != nil {
			return err
		}
		u.outlier, u.odCfg = d, od
	}
	if u.budget == nil || u.rbCfg != cu.RetryBudget {
		bud, err := lb.NewRetryBudget(lb.RetryBudgetConfig{
			Ratio:        float64(cu.RetryBudget.Percent) / 100,
			MinPerSecond: cu.RetryBudget.MinPerSecond,
		})
		if err != nil {
			return err
		}
		u.budget, u.rbCfg = bud, cu.RetryBudget
	}
	bo, err := lb.NewRetryBackoff(cu.RetryBackoff.Base.Duration(), cu.RetryBackoff.Max.Duration())
	if err != nil {
		return err
	}
	u.backoff = bo
	if u.rnd == nil {
		u.rnd = lb.NewRand(policy.Seed ^ 0x5851f42d4c957f2d)
	}
	u.health = u.health.update(cu.HealthCheck, u.targets, &r.wg)

	ad := &lbBalancer{
		u:    u,
		bal:  u.bal,
		byLB: make(map[*lb.Target]*proxy.Target, len(pu.Targets)),
		byID: make([]*lb.Target, maxID+1),
		all:  pu.Targets,
	}
	for _, pt := range pu.Targets {
		lt := next[pt.Addr]
		ad.byLB[lt] = pt
		ad.byID[pt.ID] = lt
	}
	u.cur.Store(ad)
	pu.Balancer = ad
	pu.HashKey = hashKeyFunc(cu.HashKey)
	return nil
}

func (r *resilience) newTarget(addr string, weight int, cb config.CircuitBreaker) (*lb.Target, error) {
	t, err := lb.NewTarget(addr, weight)
	if err != nil {
		return nil, err
	}
	if !cb.Enabled {
		return t, nil
	}
	br, err := lb.NewBreaker(lb.BreakerConfig{
		Name:             addr,
		Window:           cb.Window.Duration(),
		MinRequests:      cb.MinRequests,
		FailureRatio:     float64(cb.FailurePercent) / 100,
		SlowCallDuration: cb.SlowCallDuration.Duration(),
		SlowCallRatio:    float64(cb.SlowCallPercent) / 100,
		OpenDuration:     cb.OpenDuration.Duration(),
		HalfOpenProbes:   cb.HalfOpenProbes,
		Log:              r.log,
	})
	if err != nil {
		return nil, err
	}
	return t, t.SetBreaker(br)
}

// lbPolicy maps a configured balancer name to the lb policy.
func lbPolicy(name string) string {
	switch name {
	case config.BalancerConsistentHash:
		return lb.PolicyRingHash
	case "":
		return lb.PolicyRoundRobin
	}
	return name // the other names are spelled the same
}

func closeBalancer(b lb.Balancer) {
	if c, ok := b.(interface{ Close() }); ok {
		c.Close()
	}
}

func (u *lbUpstream) close() {
	u.health.stop()
	u.health = nil
	closeBalancer(u.bal)
}

// startLocked starts the sweeper once.
func (r *resilience) startLocked() {
	if r.started {
		return
	}
	r.started = true
	r.stop = make(chan struct{})
	r.wg.Add(1)
	go r.sweep()
}

// sweep ends expired ejections once per outlier interval and mirrors the admin drain flag of
// the newest snapshot's targets into the lb targets, so that balancers skip a draining target
// natively and the panic threshold counts it out.
func (r *resilience) sweep() {
	defer r.wg.Done()
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
		}
		now := lbNow()
		r.mu.Lock()
		for _, u := range r.ups {
			if now-u.lastSweep >= int64(u.odCfg.Interval) {
				u.lastSweep = now
				u.outlier.Sweep(now)
			}
			if ad := u.cur.Load(); ad != nil {
				for _, pt := range ad.all {
					if lt := ad.byID[pt.ID]; lt != nil && lt.Draining() != pt.Draining.Load() {
						lt.SetDraining(pt.Draining.Load())
					}
				}
			}
		}
		r.mu.Unlock()
	}
}

// close stops the sweeper and every health checker and waits for them.
func (r *resilience) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	for _, u := range r.ups {
		u.health.stop()
	}
	r.stopNamesLocked()
	if r.started {
		close(r.stop)
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// transitions returns the breaker transitions recorded since seq (see lb.TransitionLog.Since).
func (r *resilience) transitions(seq uint64, dst []lb.Transition) ([]lb.Transition, uint64, uint64) {
	r.mu.Lock()
	log := r.log
	r.mu.Unlock()
	if log == nil {
		return dst, 0, 0
	}
	return log.Since(seq, dst)
}

// targetStats returns the lb view of an upstream's targets, or nil for an unknown upstream.
func (r *resilience) targetStats(upstream string) []lb.TargetStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.ups[upstream]
	if u == nil {
		return nil
	}
	now := lbNow()
	ts := u.set.Targets()
	out := make([]lb.TargetStats, len(ts))
	for i, t := range ts {
		out[i] = t.Stats(now)
	}
	return out
}

// hashKeyFunc returns the proxy.HashKeyFunc for a configured hash_key, nil when the balancer
// does not hash. Every variant hashes bytes already in the request buffer with xxhash and
// allocates nothing. A request without the header or cookie hashes its client address
// instead, so it still sticks to one target.
func hashKeyFunc(k config.HashKey) proxy.HashKeyFunc {
	switch k.Kind {
	case config.HashKeyClientIP:
		return func(_ *http1.Request, ip, _ []byte) uint64 { return lb.HashKey(ip) }
	case config.HashKeyPath:
		return func(_ *http1.Request, _, path []byte) uint64 { return lb.HashKey(path) }
	case config.HashKeyHeader:
		name := k.Name
		return func(r *http1.Request, ip, _ []byte) uint64 {
			if v := r.Peek(name); v != nil {
				return lb.HashKey(v)
			}
			return lb.HashKey(ip)
		}
	case config.HashKeyCookie:
		name := k.Name
		return func(r *http1.Request, ip, _ []byte) uint64 {
			if v, ok := cookieValue(r, name); ok {
				return lb.HashKey(v)
			}
			return lb.HashKey(ip)
		}
	}
	return nil
}

// cookieValue finds the value of cookie name in the request's Cookie fields. A client sends
// one Cookie line of "name=value" pairs separated by "; " (RFC 6265 §5.4), but an HTTP/1.1
// intermediary may have split it, so every Cookie field is searched.
func cookieValue(r *http1.Request, name string) ([]byte, bool) {
	for i, n := 0, r.NumHeaders(); i < n; i++ {
		if !equalFoldASCII(r.Name(i), "cookie") {
			continue
		}
		v := r.Value(i)
		for len(v) > 0 {
			var pair []byte
			if j := bytes.IndexByte(v, ';'); j >= 0 {
				pair, v = v[:j], v[j+1:]
			} else {
				pair, v = v, nil
			}
			pair = bytes.TrimLeft(pair, " \t")
			eq := bytes.IndexByte(pair, '=')
			if eq < 0 || string(pair[:eq]) != name { // cookie names are case-sensitive
				continue
			}
			val := bytes.TrimRight(pair[eq+1:], " \t")
			// A quoted cookie-value (RFC 6265 §4.1.1) hashes without its quotes.
			if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
				val = val[1 : len(val)-1]
			}
			return val, true
		}
	}
	return nil, false
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
