package metrics

import (
	"fmt"
	"math"
	"time"
)

// HistoryLen is how many per-second values the sparklines keep.
const HistoryLen = 60

// Target states, as the console shows them.
const (
	StateUp       = "up"
	StateFailing  = "failing"
	StateDraining = "draining"
)

// Second is one per-second aggregate: the header, routes and upstreams of the console. It is
// immutable once published.
type Second struct {
	Seq         uint64
	At          time.Time
	Interval    time.Duration // the window the rates cover
	Uptime      time.Duration
	Version     uint64
	Connections int64
	LastReload  ReloadResult

	Requests  uint64  // since start
	RPS       float64 // all routes
	ErrorRate float64 // share of 5xx in the window, 0..1
	P50, P99  time.Duration
	InBps     float64
	OutBps    float64

	Routes    []RouteSecond
	Upstreams []UpstreamSecond
}

// RouteSecond is one route in a Second. Rates are per second.
type RouteSecond struct {
	Name       string
	Upstream   string
	Requests   uint64
	RPS        float64
	Rate2xx    float64
	Rate3xx    float64
	Rate4xx    float64
	Rate5xx    float64
	Rejected   float64 // 429s per second
	P50, P99   time.Duration
	InFlight   int64     // the route's requests under way
	History    []float64 // requests per second, oldest first, at most HistoryLen
	ErrHistory []float64 // 5xx per second, aligned with History
}

// UpstreamSecond is one upstream and its targets.
type UpstreamSecond struct {
	Name    string
	Targets []TargetSecond
}

// TargetSecond is one target in a Second.
type TargetSecond struct {
	Addr        string
	Weight      int
	State       string // StateUp, StateFailing or StateDraining
	Draining    bool
	Failing     bool
	InFlight    int64
	EWMA        time.Duration // of upstream response-head latency, per-second samples, alpha 0.3
	P50, P99    time.Duration
	RPS         float64
	ErrorRate   float64 // share of 5xx answers (the target's or the gateway's for it) in the window
	Requests    uint64
	Errors      uint64
	Consecutive int64
	Trips       uint64 // times it turned failing
}

type routeAgg struct {
	prevReq   uint64
	prevClass [numClasses]uint64
	prevRej   uint64
	prevIn    uint64
	prevOut   uint64
	prevLat   latencyCounts
	curLat    latencyCounts
	rps       [HistoryLen]float64
	errs      [HistoryLen]float64
	pos, n    int
}

type targetAgg struct {
	prevReq, prevErr   uint64
	prev5xx            uint64
	prevSum, prevCount int64
	prevLat, curLat    latencyCounts
	ewma               float64
}

const ewmaAlpha = 0.3

// Tick closes the window that began at the previous Tick, publishes its Second and notices
// targets that turned failing or recovered. Run calls it every second; tests call it with their
// own times.
func (m *Metrics) Tick(now time.Time) *Second {
	m.mu.Lock()
	defer m.mu.Unlock()
	dt := now.Sub(m.lastTick)
	if dt <= 0 {
		dt = time.Millisecond
	}
	m.lastTick = now
	secs := dt.Seconds()
	ix := m.idx.Load()
	m.seq++
	s := &Second{Seq: m.seq, At: now, Interval: dt, Uptime: now.Sub(m.started), LastReload: m.reload}
	if m.o.Version != nil {
		s.Version = m.o.Version()
	}
	if m.o.Connections != nil {
		s.Connections = m.o.Connections()
	}
	var total latencyCounts
	var req, r5xx uint64
	var in, out uint64
	all := make([]*routeView, 0, len(ix.routeOrder)+1)
	all = append(all, ix.routeOrder...)
	all = append(all, &routeView{rs: m.none})
	for _, v := range all {
		rs := v.rs
		a := &rs.agg
		tot := rs.totals()
		cur, cls, rej := tot.requests, tot.classes, tot.rejected
		bi, bo := tot.bytesIn, tot.bytesOut
		loadWindows[routeShard](rs.shards, &a.curLat)
		dReq := cur - a.prevReq
		d5 := cls[class5xx] - a.prevClass[class5xx]
		rsec := RouteSecond{
			Name:     rs.name,
			Requests: cur,
			RPS:      float64(dReq) / secs,
			Rate2xx:  float64(cls[class2xx]-a.prevClass[class2xx]) / secs,
			Rate3xx:  float64(cls[class3xx]-a.prevClass[class3xx]) / secs,
			Rate4xx:  float64(cls[class4xx]-a.prevClass[class4xx]) / secs,
			Rate5xx:  float64(d5) / secs,
			Rejected: float64(rej-a.prevRej) / secs,
			P50:      percentile(&a.curLat, &a.prevLat, 0.50),
			P99:      percentile(&a.curLat, &a.prevLat, 0.99),
		}
		addDelta(&total, &a.curLat, &a.prevLat)
		req += dReq
		r5xx += d5
		in += bi - a.prevIn
		out += bo - a.prevOut
		a.rps[a.pos] = rsec.RPS
		a.errs[a.pos] = rsec.Rate5xx
		a.pos = (a.pos + 1) % HistoryLen
		a.n = min(a.n+1, HistoryLen)
		rsec.History = a.history(a.rps[:])
		rsec.ErrHistory = a.history(a.errs[:])
		a.prevReq, a.prevClass, a.prevRej, a.prevIn, a.prevOut = cur, cls, rej, bi, bo
		a.prevLat = a.curLat
		s.Requests += cur
		if v.route != nil {
			rsec.InFlight = v.route.InFlight.Load()
		}
		if v.upstream != nil {
			rsec.Upstream = v.upstream.Name
		}
		if rs == m.none && cur == 0 {
			continue // show the no-route row only once something fell through
		}
		s.Routes = append(s.Routes, rsec)
	}
	var zero latencyCounts
	s.RPS = float64(req) / secs
	if req > 0 {
		s.ErrorRate = float64(r5xx) / float64(req)
	}
	s.P50 = percentile(&total, &zero, 0.50)
	s.P99 = percentile(&total, &zero, 0.99)
	s.InBps = float64(in) / secs
	s.OutBps = float64(out) / secs

	for _, uv := range ix.upstreams {
		us := UpstreamSecond{Name: uv.up.Name}
		for _, ts := range uv.targets {
			us.Targets = append(us.Targets, m.tickTarget(ts, secs, now))
		}
		s.Upstreams = append(s.Upstreams, us)
	}
	m.tail.refill(s.RPS)
	m.publish(s)
	return s
}

// history copies a ring into a new oldest-first slice.
func (a *routeAgg) history(ring []float64) []float64 {
	out := make([]float64, a.n)
	start := (a.pos - a.n + HistoryLen) % HistoryLen
	for i := range out {
		out[i] = ring[(start+i)%HistoryLen]
	}
	return out
}

func (m *Metrics) tickTarget(ts *targetSeries, secs float64, now time.Time) TargetSecond {
	a := &ts.agg
	tot := ts.totals()
	req, errs, r5xx := tot.requests, tot.errors, tot.classes[class5xx]
	sum, count := tot.rttSum, tot.rttCount
	loadWindows[targetShard](ts.shards, &a.curLat)
	if dc := count - a.prevCount; dc > 0 {
		avg := float64(sum-a.prevSum) / float64(dc) / 1e9
		if a.ewma == 0 {
			a.ewma = avg
		} else {
			a.ewma = ewmaAlpha*avg + (1-ewmaAlpha)*a.ewma
		}
		ts.ewmaBits.Store(math.Float64bits(a.ewma))
	}
	out := TargetSecond{
		Addr:        ts.addr,
		EWMA:        time.Duration(a.ewma * 1e9),
		P50:         percentile(&a.curLat, &a.prevLat, 0.50),
		P99:         percentile(&a.curLat, &a.prevLat, 0.99),
		RPS:         float64(req-a.prevReq) / secs,
		Requests:    req,
		Errors:      errs,
		Consecutive: ts.consecutive.Load(),
	}
	if dr := req - a.prevReq; dr > 0 {
		out.ErrorRate = float64(r5xx-a.prev5xx) / float64(dr)
	}
	a.prevReq, a.prevErr, a.prev5xx, a.prevSum, a.prevCount = req, errs, r5xx, sum, count
	a.prevLat = a.curLat
	if t := ts.target.Load(); t != nil {
		out.Weight = t.Weight
		out.InFlight = t.InFlight.Load()
		out.Draining = t.Draining.Load()
	}
	failing := out.Consecutive >= int64(m.o.FailAfter)
	if failing != ts.failing.Load() {
		ts.failing.Store(failing)
		subject := ts.upstream + "/" + ts.addr
		if failing {
			ts.trips.Inc()
			m.Event(EventHealth, subject, fmt.Sprintf("failing: %d consecutive errors", out.Consecutive), LevelError)
		} else {
			m.Event(EventHealth, subject, "recovered", LevelInfo)
		}
	}
	out.Failing = failing
	out.Trips = ts.trips.Get()
	switch {
	case out.Draining:
		out.State = StateDraining
	case failing:
		out.State = StateFailing
	default:
		out.State = StateUp
	}
	return out
}
