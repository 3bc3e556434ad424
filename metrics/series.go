package metrics

import (
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"

	"github.com/sluice-gw/sluice/proxy"
)

// Status classes, the values of the class label. classNone is an exchange that ended without
// a status (a connection that closed before its head completed).
const (
	classNone = iota
	class1xx
	class2xx
	class3xx
	class4xx
	class5xx
	numClasses
)

var classNames = [numClasses]string{"none", "1xx", "2xx", "3xx", "4xx", "5xx"}

func statusClass(status int) int {
	if status < 100 || status > 599 {
		return classNone
	}
	return status / 100
}

// NoRoute is the route label of requests that matched no route (404s, 400s for bad paths,
// requests refused before routing).
const NoRoute = "(none)"

// routeSeries are one route's series. They are keyed by the route's configured name and live
// as long as the Metrics, so a reload that keeps a route keeps its counts.
//
// The registered series are what a scrape reads; Observe writes the series' shards instead, one
// per loop (shards.go), and a scrape first sums the shards into the registered series.
type routeSeries struct {
	name     string
	requests *vm.Counter
	classes  [numClasses]*vm.Counter
	rejected *vm.Counter // 429: limit rejections
	bytesIn  *vm.Counter
	bytesOut *vm.Counter
	latency  *vm.Histogram
	shards   []routeShard

	// Aggregator state; only Tick touches it.
	agg routeAgg
}

// targetSeries are one upstream target's series, keyed by upstream name and address.
type targetSeries struct {
	upstream string
	addr     string
	requests *vm.Counter
	classes  [numClasses]*vm.Counter
	errors   *vm.Counter // answers the gateway made because the target failed (502/503/504)
	rtt      *vm.Histogram
	shards   []targetShard
	// consecutive counts gateway-made errors since the last good answer: passive health.
	consecutive atomic.Int64

	target   atomic.Pointer[proxy.Target] // in the newest prepared snapshot
	ewmaBits atomic.Uint64                // float64 seconds
	failing  atomic.Bool
	trips    *vm.Counter // times the target turned failing

	names     []string  // of every series above in the set, to unregister them
	goneSince time.Time // when a Prepare first found the target out of the configuration; m.mu

	agg targetAgg
}

// quote formats a label value for the Prometheus text format (Go quoting escapes the same
// characters: backslash, double quote, newline).
func quote(s string) string { return strconv.Quote(s) }

func newRouteSeries(set *vm.Set, name string, shards int) *routeSeries {
	l := "route=" + quote(name)
	rs := &routeSeries{
		name:     name,
		shards:   make([]routeShard, shards),
		requests: set.GetOrCreateCounter("sluice_requests_total{" + l + "}"),
		rejected: set.GetOrCreateCounter("sluice_limit_rejections_total{" + l + "}"),
		bytesIn:  set.GetOrCreateCounter("sluice_request_bytes_total{" + l + "}"),
		bytesOut: set.GetOrCreateCounter("sluice_response_bytes_total{" + l + "}"),
		latency:  set.GetOrCreateHistogram("sluice_request_duration_seconds{" + l + "}"),
	}
	for c := range rs.classes {
		rs.classes[c] = set.GetOrCreateCounter(fmt.Sprintf("sluice_responses_total{%s,class=%q}", l, classNames[c]))
	}
	return rs
}

func newTargetSeries(set *vm.Set, upstream, addr string, shards int) *targetSeries {
	l := "upstream=" + quote(upstream) + ",target=" + quote(addr)
	ts := &targetSeries{upstream: upstream, addr: addr, shards: make([]targetShard, shards)}
	name := func(n string) string {
		ts.names = append(ts.names, n)
		return n
	}
	ts.requests = set.GetOrCreateCounter(name("sluice_upstream_requests_total{" + l + "}"))
	ts.errors = set.GetOrCreateCounter(name("sluice_upstream_errors_total{" + l + "}"))
	ts.rtt = set.GetOrCreateHistogram(name("sluice_upstream_duration_seconds{" + l + "}"))
	for c := range ts.classes {
		ts.classes[c] = set.GetOrCreateCounter(name(fmt.Sprintf("sluice_upstream_responses_total{%s,class=%q}", l, classNames[c])))
	}
	set.GetOrCreateGauge(name("sluice_upstream_in_flight{"+l+"}"), func() float64 {
		if t := ts.target.Load(); t != nil {
			return float64(t.InFlight.Load())
		}
		return 0
	})
	set.GetOrCreateGauge(name("sluice_upstream_draining{"+l+"}"), func() float64 {
		if t := ts.target.Load(); t != nil && t.Draining.Load() {
			return 1
		}
		return 0
	})
	set.GetOrCreateGauge(name("sluice_upstream_healthy{"+l+"}"), func() float64 {
		if ts.failing.Load() {
			return 0
		}
		return 1
	})
	set.GetOrCreateGauge(name("sluice_upstream_ewma_seconds{"+l+"}"), func() float64 {
		return math.Float64frombits(ts.ewmaBits.Load())
	})
	ts.trips = set.GetOrCreateCounter(name("sluice_upstream_trips_total{" + l + "}"))
	return ts
}

// index finds series for the records of one snapshot without allocating: slices by
// Route.Index and Target.ID, checked by pointer identity. Records of an older snapshot (an
// exchange that began before a reload) miss the identity check and use the name maps, whose
// lookups with string keys do not allocate either.
type index struct {
	routes    []*routeSeries
	routePtr  []*proxy.Route
	targets   []*targetSeries
	targetPtr []*proxy.Target
	byRoute   map[string]*routeSeries
	byTarget  map[string]map[string]*targetSeries // upstream -> address

	// Display order for the aggregates: routes in configuration order, upstreams in the order
	// routes reach them, targets in configuration order.
	routeOrder []*routeView
	upstreams  []*upstreamView
}

type routeView struct {
	rs       *routeSeries
	route    *proxy.Route
	upstream *proxy.Upstream
}

type upstreamView struct {
	up      *proxy.Upstream
	targets []*targetSeries
}

func (ix *index) route(r *proxy.Route) *routeSeries {
	if r.Index >= 0 && r.Index < len(ix.routes) && ix.routePtr[r.Index] == r {
		return ix.routes[r.Index]
	}
	return ix.byRoute[r.Name]
}

func (ix *index) target(t *proxy.Target) *targetSeries {
	if t.ID >= 0 && t.ID < len(ix.targets) && ix.targetPtr[t.ID] == t {
		return ix.targets[t.ID]
	}
	if t.Upstream == nil {
		return nil
	}
	return ix.byTarget[t.Upstream.Name][t.Addr]
}
