package metrics

import (
	"runtime"
	"sync/atomic"

	vm "github.com/VictoriaMetrics/metrics"
)

// Shards. Every loop records every exchange: counters and histograms shared by all loops
// would be cache lines that every core writes for every request, and VictoriaMetrics
// histograms take a mutex. So each series keeps one shard per loop (proxy.Record.Loop picks
// it), Observe writes only its loop's shard, and the readers sum: Tick for the per-second
// aggregates, WritePrometheus into the registered series just before it writes them.

// maxShards caps the shards per series: a series costs about 1.6 KiB per shard. Loops beyond
// it share shards, in pairs or more.
const maxShards = 16

// shardCount is the number of shards for n requested (n <= 0: the CPU count): a power of two,
// at most maxShards.
func shardCount(n int) int {
	if n <= 0 {
		n = max(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	}
	s := 1
	for s < n && s < maxShards {
		s <<= 1
	}
	return s
}

// shardCore is what the shards of every series hold: requests by class, a latency histogram
// (not registered: merged into the series' registered one at scrape) and the per-second
// latency window.
type shardCore struct {
	requests atomic.Uint64
	classes  [numClasses]atomic.Uint64
	hist     vm.Histogram
	window   latencyBuckets
}

// routeShard is what Observe writes for a route on one loop.
type routeShard struct {
	shardCore
	rejected, bytesIn, bytesOut atomic.Uint64
	_                           [64]byte // the next shard's first line is its own
}

// targetShard is what Observe writes for a target on one loop.
type targetShard struct {
	shardCore
	errors           atomic.Uint64
	rttSum, rttCount atomic.Int64
	_                [64]byte
}

func (s *routeShard) core() *shardCore  { return &s.shardCore }
func (s *targetShard) core() *shardCore { return &s.shardCore }

// shard is either kind, for the sums both kinds share.
type shard[S any] interface {
	*S
	core() *shardCore
}

// coreTotals are the requests by class summed over shards.
type coreTotals struct {
	requests uint64
	classes  [numClasses]uint64
}

func sumCores[S any, P shard[S]](shards []S) (t coreTotals) {
	for i := range shards {
		c := P(&shards[i]).core()
		t.requests += c.requests.Load()
		for k := range t.classes {
			t.classes[k] += c.classes[k].Load()
		}
	}
	return t
}

// loadWindows sums the shards' latency windows into dst.
func loadWindows[S any, P shard[S]](shards []S, dst *latencyCounts) {
	clear(dst[:])
	for i := range shards {
		P(&shards[i]).core().window.addTo(dst)
	}
}

// flushCore makes the registered counters (from t, the shards' sums) and histogram the sum of
// the shards. Calls are serialised (Metrics.flushMu): the histogram is rebuilt, not added to.
func flushCore[S any, P shard[S]](shards []S, t coreTotals, requests *vm.Counter, classes *[numClasses]*vm.Counter, hist *vm.Histogram) {
	requests.Set(t.requests)
	for k := range t.classes {
		classes[k].Set(t.classes[k])
	}
	hist.Reset()
	for i := range shards {
		hist.Merge(&P(&shards[i]).core().hist)
	}
}

// routeTotals are a route's counters summed over its shards.
type routeTotals struct {
	coreTotals
	rejected, bytesIn, bytesOut uint64
}

func (rs *routeSeries) totals() routeTotals {
	t := routeTotals{coreTotals: sumCores[routeShard](rs.shards)}
	for i := range rs.shards {
		sh := &rs.shards[i]
		t.rejected += sh.rejected.Load()
		t.bytesIn += sh.bytesIn.Load()
		t.bytesOut += sh.bytesOut.Load()
	}
	return t
}

func (rs *routeSeries) flush() {
	t := rs.totals()
	flushCore[routeShard](rs.shards, t.coreTotals, rs.requests, &rs.classes, rs.latency)
	rs.rejected.Set(t.rejected)
	rs.bytesIn.Set(t.bytesIn)
	rs.bytesOut.Set(t.bytesOut)
}

// targetTotals are a target's counters summed over its shards.
type targetTotals struct {
	coreTotals
	errors           uint64
	rttSum, rttCount int64
}

func (ts *targetSeries) totals() targetTotals {
	t := targetTotals{coreTotals: sumCores[targetShard](ts.shards)}
	for i := range ts.shards {
		sh := &ts.shards[i]
		t.errors += sh.errors.Load()
		t.rttSum += sh.rttSum.Load()
		t.rttCount += sh.rttCount.Load()
	}
	return t
}

func (ts *targetSeries) flush() {
	t := ts.totals()
	flushCore[targetShard](ts.shards, t.coreTotals, ts.requests, &ts.classes, ts.rtt)
	ts.errors.Set(t.errors)
}

// flush brings every registered series up to the sum of its shards, for a scrape.
func (m *Metrics) flush() {
	m.mu.Lock()
	routes := make([]*routeSeries, 0, len(m.routes)+1)
	routes = append(routes, m.none)
	for _, rs := range m.routes {
		routes = append(routes, rs)
	}
	var targets []*targetSeries
	for _, byAddr := range m.targets {
		for _, ts := range byAddr {
			targets = append(targets, ts)
		}
	}
	m.mu.Unlock()
	for _, rs := range routes {
		rs.flush()
	}
	for _, ts := range targets {
		ts.flush()
	}
}
