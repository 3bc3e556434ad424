package metrics

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/sluice-gw/sluice/proxy"
)

// Options tune a Metrics. Zero values take the documented defaults.
type Options struct {
	// Set receives the Prometheus series; nil makes a private one.
	Set *vm.Set
	// TailPerSecond bounds the sampled request tail (default 50 entries a second); TailSize is
	// the ring's capacity (default 512).
	TailPerSecond int
	TailSize      int
	// EventSize is the capacity of the event log (default 256).
	EventSize int
	// FailAfter consecutive answers the gateway had to make for a target (502, 503, 504) mark
	// it failing (default 3); one good answer clears it. This is passive observation: the
	// proxy's balancer does not consult it.
	FailAfter int
	// Connections and Version report the gateway's open client connections and configuration
	// generation; nil reports 0.
	Connections func() int64
	Version     func() uint64
	// Shards is how many loops record without sharing a cache line (shards.go); 0 means the
	// CPU count. It is rounded up to a power of two, at most 16.
	Shards int
	// TargetRetention is how long the series of a target that left the configuration stay
	// exported (default 10 minutes): long enough for scrapers to see its last counts, short
	// enough that discovered targets which come and go with deployments do not pile up.
	TargetRetention time.Duration
}

// Metrics records every finished exchange. Observe is safe from every loop at once, never
// blocks and never allocates; the other methods are for the admin side and may lock.
type Metrics struct {
	o   Options
	set *vm.Set

	idx       atomic.Pointer[index]
	none      *routeSeries
	shardMask int        // shards per series, minus one (a power of two minus one)
	flushMu   sync.Mutex // serialises flush+write of a scrape: histograms are rebuilt

	mu       sync.Mutex // Prepare, Tick and the series maps
	routes   map[string]*routeSeries
	targets  map[string]map[string]*targetSeries
	started  time.Time
	lastTick time.Time
	seq      uint64
	reload   ReloadResult

	reloadsOK  *vm.Counter
	reloadsErr *vm.Counter

	tail   tailRing
	events eventRing
	top    topKeys

	cur    atomic.Pointer[Second]
	tickMu sync.Mutex
	tickCh chan struct{} // closed and replaced by every Tick
}

// New returns a Metrics with no routes yet: Prepare each snapshot before it serves.
func New(o Options) *Metrics {
	if o.Set == nil {
		o.Set = vm.NewSet()
	}
	if o.TailPerSecond <= 0 {
		o.TailPerSecond = 50
	}
	if o.TailSize <= 0 {
		o.TailSize = 512
	}
	if o.EventSize <= 0 {
		o.EventSize = 256
	}
	if o.FailAfter <= 0 {
		o.FailAfter = 3
	}
	if o.TargetRetention <= 0 {
		o.TargetRetention = 10 * time.Minute
	}
	now := time.Now()
	nshards := shardCount(o.Shards)
	m := &Metrics{
		o:          o,
		shardMask:  nshards - 1,
		set:        o.Set,
		routes:     map[string]*routeSeries{},
		targets:    map[string]map[string]*targetSeries{},
		started:    now,
		lastTick:   now,
		reloadsOK:  o.Set.GetOrCreateCounter(`sluice_reloads_total{result="ok"}`),
		reloadsErr: o.Set.GetOrCreateCounter(`sluice_reloads_total{result="error"}`),
		tickCh:     make(chan struct{}),
	}
	m.none = newRouteSeries(m.set, NoRoute, m.shardMask+1)
	m.tail.init(o.TailSize, o.TailPerSecond)
	m.events.init(o.EventSize)
	m.set.NewGauge("sluice_connections", func() float64 {
		if o.Connections == nil {
			return 0
		}
		return float64(o.Connections())
	})
	m.set.NewGauge("sluice_config_version", func() float64 {
		if o.Version == nil {
			return 0
		}
		return float64(o.Version())
	})
	m.set.NewGauge("sluice_uptime_seconds", func() float64 { return time.Since(m.started).Seconds() })
	m.idx.Store(&index{byRoute: map[string]*routeSeries{}, byTarget: map[string]map[string]*targetSeries{}})
	return m
}

// Set is the VictoriaMetrics set holding the series.
func (m *Metrics) Set() *vm.Set { return m.set }

// Started is when the Metrics was made (the gateway's start, in practice).
func (m *Metrics) Started() time.Time { return m.started }

// WritePrometheus writes every series in the Prometheus text format.
// The per-loop shards are summed into the series first.
func (m *Metrics) WritePrometheus(w io.Writer) {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	m.flush()
	m.set.WritePrometheus(w)
}

// Prepare creates the series of a snapshot's routes, upstreams and targets and makes the
// snapshot's records find them. Call it before the snapshot serves (gateway start and every
// reload); it is safe from any goroutine. Series of routes a reload removed stay (route names
// are the operator's, few); series of targets stay for Options.TargetRetention after the
// target left and are then unregistered, because target addresses may come from service
// discovery and change with every deployment of the service.
func (m *Metrics) Prepare(s *proxy.Snapshot) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ix := &index{
		byRoute:  make(map[string]*routeSeries, len(m.routes)),
		byTarget: make(map[string]map[string]*targetSeries, len(m.targets)),
	}
	seenUp := map[*proxy.Upstream]bool{}
	if s != nil && s.Routes != nil {
		n := s.Routes.Len()
		views := make([]*routeView, n)
		maxIdx := -1
		for i := 0; i < n; i++ {
			pr, ok := s.Routes.Route(i).Target().(*proxy.Route)
			if !ok || pr == nil {
				continue
			}
			rs := m.routes[pr.Name]
			if rs == nil {
				rs = newRouteSeries(m.set, pr.Name, m.shardMask+1)
				m.routes[pr.Name] = rs
			}
			maxIdx = max(maxIdx, pr.Index)
			views[i] = &routeView{rs: rs, route: pr, upstream: pr.Upstream}
		}
		ix.routes = make([]*routeSeries, maxIdx+1)
		ix.routePtr = make([]*proxy.Route, maxIdx+1)
		for _, v := range views {
			if v == nil {
				continue
			}
			if v.route.Index >= 0 {
				ix.routes[v.route.Index] = v.rs
				ix.routePtr[v.route.Index] = v.route
			}
			ix.routeOrder = append(ix.routeOrder, v)
		}
		sortViews(ix.routeOrder)
		for _, v := range ix.routeOrder {
			up := v.upstream
			if up == nil || seenUp[up] {
				continue
			}
			seenUp[up] = true
			uv := &upstreamView{up: up}
			for _, t := range up.Targets {
				byAddr := m.targets[up.Name]
				if byAddr == nil {
					byAddr = map[string]*targetSeries{}
					m.targets[up.Name] = byAddr
				}
				ts := byAddr[t.Addr]
				if ts == nil {
					ts = newTargetSeries(m.set, up.Name, t.Addr, m.shardMask+1)
					byAddr[t.Addr] = ts
				}
				ts.target.Store(t)
				uv.targets = append(uv.targets, ts)
				if t.ID >= 0 {
					for len(ix.targets) <= t.ID {
						ix.targets = append(ix.targets, nil)
						ix.targetPtr = append(ix.targetPtr, nil)
					}
					if ix.targets[t.ID] == nil { // the same address in two upstreams: maps
						ix.targets[t.ID] = ts
						ix.targetPtr[t.ID] = t
					}
				}
			}
			ix.upstreams = append(ix.upstreams, uv)
		}
	}
	m.retire(ix, time.Now())
	for name, rs := range m.routes {
		ix.byRoute[name] = rs
	}
	for up, byAddr := range m.targets {
		cp := make(map[string]*targetSeries, len(byAddr))
		for a, ts := range byAddr {
			cp[a] = ts
		}
		ix.byTarget[up] = cp
	}
	m.idx.Store(ix)
}

func sortViews(v []*routeView) {
	// Insertion sort by configuration index: route tables are small and this runs on reload.
	for i := 1; i < len(v); i++ {
		for j := i; j > 0 && v[j].route.Index < v[j-1].route.Index; j-- {
			v[j], v[j-1] = v[j-1], v[j]
		}
	}
}

// Observe records one finished exchange. It implements proxy.Observer: it runs on the loop,
// never blocks and never allocates.
func (m *Metrics) Observe(r *proxy.Record) {
	ix := m.idx.Load()
	rs := m.none
	if r.Route != nil {
		if s := ix.route(r.Route); s != nil {
			rs = s
		}
	}
	c := statusClass(r.Status)
	d := r.End - r.Start
	if d < 0 {
		d = 0
	}
	shard := r.Loop & m.shardMask
	rsh := &rs.shards[shard]
	rsh.requests.Add(1)
	rsh.classes[c].Add(1)
	if r.Status == 429 {
		rsh.rejected.Add(1)
		if r.RefusedKey != nil {
			m.top.add(r.RefusedKey) // what the limit counted: client, API key, route...
		} else {
			m.top.add(r.ClientIP)
		}
	}
	rsh.bytesIn.Add(uint64(max(r.BytesIn, 0)))
	rsh.bytesOut.Add(uint64(max(r.BytesOut, 0)))
	rsh.hist.Update(float64(d) / 1e9)
	rsh.window.record(d)

	var ts *targetSeries
	if r.Target != nil {
		ts = ix.target(r.Target)
	}
	if ts != nil {
		tsh := &ts.shards[shard]
		tsh.requests.Add(1)
		tsh.classes[c].Add(1)
		if targetFailed(r) {
			tsh.errors.Add(1)
			ts.consecutive.Add(1)
		} else if r.UpstreamRTT > 0 && ts.consecutive.Load() != 0 {
			// Read first: on the usual path the count is already 0, and a store would take
			// the cache line away from every other loop serving this target.
			ts.consecutive.Store(0)
		}
		if r.UpstreamRTT > 0 {
			tsh.hist.Update(float64(r.UpstreamRTT) / 1e9)
			tsh.window.record(r.UpstreamRTT)
			tsh.rttSum.Add(r.UpstreamRTT)
			tsh.rttCount.Add(1)
		}
	}
	m.tail.offer(r, rs, ts, d, shard)
}

// targetFailed reports whether the exchange failed because of its target: the gateway had to
// answer itself with a 5xx (connect refused or timed out, no response head, a broken response),
// or the target broke the response after its head.
func targetFailed(r *proxy.Record) bool {
	if r.Error == "" || r.Status == 499 {
		return false
	}
	return r.Status >= 500 || r.UpstreamRTT > 0
}

// ReloadResult is the outcome of the newest reload attempt.
type ReloadResult struct {
	At      time.Time
	OK      bool
	Version uint64
	Error   string
}

// Reloaded records a reload attempt: a counter, an event and the header's last result.
func (m *Metrics) Reloaded(version uint64, err error) {
	res := ReloadResult{At: time.Now(), OK: err == nil, Version: version}
	if err != nil {
		res.Error = err.Error()
		m.reloadsErr.Inc()
		m.Event(EventReload, "config", "reload refused: "+res.Error, LevelError)
	} else {
		m.reloadsOK.Inc()
		m.Event(EventReload, "config", "reloaded, version "+uitoa(version), LevelInfo)
	}
	m.mu.Lock()
	m.reload = res
	m.mu.Unlock()
}

// Run calls Tick at once and then once a second until ctx ends.
func (m *Metrics) Run(ctx context.Context) {
	m.Tick(time.Now())
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			m.Tick(now)
		}
	}
}

// Latest is the newest per-second aggregate, or nil before the first Tick.
func (m *Metrics) Latest() *Second { return m.cur.Load() }

// Next waits for an aggregate newer than seq (the Seq of the last one seen; 0 for any).
func (m *Metrics) Next(ctx context.Context, seq uint64) (*Second, error) {
	for {
		m.tickMu.Lock()
		ch := m.tickCh
		m.tickMu.Unlock()
		if s := m.cur.Load(); s != nil && s.Seq > seq {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

func (m *Metrics) publish(s *Second) {
	m.cur.Store(s)
	m.tickMu.Lock()
	close(m.tickCh)
	m.tickCh = make(chan struct{})
	m.tickMu.Unlock()
}

func uitoa(v uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

// retire stamps the target series the new index does not use and unregisters those gone for
// longer than the retention. Called with m.mu held.
func (m *Metrics) retire(ix *index, now time.Time) {
	used := map[*targetSeries]bool{}
	for _, uv := range ix.upstreams {
		for _, ts := range uv.targets {
			used[ts] = true
		}
	}
	for up, byAddr := range m.targets {
		for addr, ts := range byAddr {
			switch {
			case used[ts]:
				ts.goneSince = time.Time{}
			case ts.goneSince.IsZero():
				ts.goneSince = now
			case now.Sub(ts.goneSince) >= m.o.TargetRetention:
				for _, name := range ts.names {
					m.set.UnregisterMetric(name)
				}
				delete(byAddr, addr)
			}
		}
		if len(byAddr) == 0 {
			delete(m.targets, up)
		}
	}
}

// ResetTarget clears a target's passive failure count, so it shows up again at the next Tick
// unless it keeps failing. It reports false for a target the metrics never saw.
func (m *Metrics) ResetTarget(upstream, addr string) bool {
	m.mu.Lock()
	ts := m.targets[upstream][addr]
	m.mu.Unlock()
	if ts == nil {
		return false
	}
	ts.consecutive.Store(0)
	m.Event(EventReset, upstream+"/"+addr, "failure count reset by an operator", LevelInfo)
	return true
}
