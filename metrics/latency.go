package metrics

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// latencyBuckets is a log-linear histogram of microseconds: four sub-buckets per power of two
// (at most 19% relative error), from 1us to about 2^37us (38 hours), all atomics so that the
// loops record without locks and the aggregator diffs it once per second. VictoriaMetrics
// histograms serve Prometheus; this one exists because percentiles of the last second need
// deltas, which a cumulative vmrange histogram cannot give cheaply.
const (
	latSub     = 4
	latBuckets = 38 * latSub
)

type latencyBuckets [latBuckets]atomic.Uint64

// latencyIndex maps a duration in nanoseconds to its bucket.
func latencyIndex(ns int64) int {
	us := uint64(ns) / 1000
	if ns <= 0 || us < latSub {
		if ns <= 0 {
			return 0
		}
		return int(us)
	}
	b := 63 - bits.LeadingZeros64(us) // floor(log2 us) >= 2
	sub := int(us>>(b-2)) & (latSub - 1)
	i := (b-1)*latSub + sub
	if i >= latBuckets {
		return latBuckets - 1
	}
	return i
}

// latencyUpper is the upper bound of bucket i, the value a percentile in it is reported as
// (the conservative choice for a p99).
func latencyUpper(i int) time.Duration {
	if i < latSub {
		return time.Duration(i+1) * time.Microsecond
	}
	b := i/latSub + 1
	sub := i % latSub
	lo := uint64(1)<<b + uint64(sub)<<(b-2)
	return time.Duration(lo+uint64(1)<<(b-2)) * time.Microsecond
}

func (h *latencyBuckets) record(ns int64) { h[latencyIndex(ns)].Add(1) }

// latencyCounts holds one snapshot of latencyBuckets; deltas of two give a window.
type latencyCounts [latBuckets]uint64

// addTo adds h's counts into dst (the shards of a series are summed this way).
func (h *latencyBuckets) addTo(dst *latencyCounts) {
	for i := range h {
		dst[i] += h[i].Load()
	}
}

// percentile returns the q-quantile (0 < q <= 1) of cur-prev, or 0 without samples.
func percentile(cur, prev *latencyCounts, q float64) time.Duration {
	var total uint64
	for i := range cur {
		total += cur[i] - prev[i]
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q*float64(total) + 0.5)
	if rank == 0 {
		rank = 1
	}
	var seen uint64
	for i := range cur {
		seen += cur[i] - prev[i]
		if seen >= rank {
			return latencyUpper(i)
		}
	}
	return latencyUpper(latBuckets - 1)
}

// addDelta adds cur-prev into acc (for totals over routes).
func addDelta(acc, cur, prev *latencyCounts) {
	for i := range acc {
		acc[i] += cur[i] - prev[i]
	}
}
