package metrics

import "runtime"

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

// routeTotals are a route's counters summed over its shards.
type routeTotals struct {
	requests, rejected, bytesIn, bytesOut uint64
	classes                               [numClasses]uint64
}

func (rs *routeSeries) totals() (t routeTotals) {
	for i := range rs.shards {
		sh := &rs.shards[i]
		t.requests += sh.requests.Load()
		t.rejected += sh.rejected.Load()
		t.bytesIn += sh.bytesIn.Load()
		t.bytesOut += sh.bytesOut.Load()
		for c := range t.classes {
			t.classes[c] += sh.classes[c].Load()
		}
	}
	return t
}

// loadWindow sums the shards' latency windows into dst.
func (rs *routeSeries) loadWindow(dst *latencyCounts) {
	clear(dst[:])
	for i := range rs.shards {
		rs.shards[i].window.addTo(dst)
	}
}

// flush makes the registered series the sum of the shards. Calls are serialised
// (Metrics.flushMu): the histogram is rebuilt, not added to.
func (rs *routeSeries) flush() {
	t := rs.totals()
	rs.requests.Set(t.requests)
	rs.rejected.Set(t.rejected)
	rs.bytesIn.Set(t.bytesIn)
	rs.bytesOut.Set(t.bytesOut)
	for c := range t.classes {
		rs.classes[c].Set(t.classes[c])
	}
	rs.latency.Reset()
	for i := range rs.shards {
		rs.latency.Merge(&rs.shards[i].latency)
	}
}

// targetTotals are a target's counters summed over its shards.
type targetTotals struct {
	requests, errors uint64
	classes          [numClasses]uint64
	rttSum, rttCount int64
}

func (ts *targetSeries) totals() (t targetTotals) {
	for i := range ts.shards {
		sh := &ts.shards[i]
		t.requests += sh.requests.Load()
		t.errors += sh.errors.Load()
		t.rttSum += sh.rttSum.Load()
		t.rttCount += sh.rttCount.Load()
		for c := range t.classes {
			t.classes[c] += sh.classes[c].Load()
		}
	}
	return t
}

func (ts *targetSeries) loadWindow(dst *latencyCounts) {
	clear(dst[:])
	for i := range ts.shards {
		ts.shards[i].window.addTo(dst)
	}
}

func (ts *targetSeries) flush() {
	t := ts.totals()
	ts.requests.Set(t.requests)
	ts.errors.Set(t.errors)
	for c := range t.classes {
		ts.classes[c].Set(t.classes[c])
	}
	ts.rtt.Reset()
	for i := range ts.shards {
		ts.rtt.Merge(&ts.shards[i].rtt)
	}
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
