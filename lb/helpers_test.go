package lb

import (
	"fmt"
	"testing"
	"time"
)

// newTargets returns targets named a, b, c, ... with the given weights.
func newTargets(tb testing.TB, weights ...int) []*Target {
	tb.Helper()
	ts := make([]*Target, len(weights))
	for i, w := range weights {
		name := string(rune('a' + i))
		if i >= 26 {
			name = fmt.Sprintf("t%d", i)
		}
		t, err := NewTarget(name, w)
		if err != nil {
			tb.Fatal(err)
		}
		ts[i] = t
	}
	return ts
}

// newSet returns a Set (no panic threshold unless cfg says so) holding targets
// with the given weights.
func newSet(tb testing.TB, cfg SetConfig, weights ...int) (*Set, []*Target) {
	tb.Helper()
	s, err := NewSet(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := newTargets(tb, weights...)
	if err := s.Update(ts); err != nil {
		tb.Fatal(err)
	}
	return s, ts
}

func equalWeights(n int) []int {
	w := make([]int, n)
	for i := range w {
		w[i] = 1
	}
	return w
}

// countPicks runs n picks and counts them by address; a nil pick fails the test.
func countPicks(tb testing.TB, b Balancer, n int, now int64) map[string]int {
	tb.Helper()
	got := map[string]int{}
	for i := 0; i < n; i++ {
		t := b.Pick(now, uint64(i), Exclude{})
		if t == nil {
			tb.Fatalf("pick %d: nil", i)
		}
		got[t.Addr()]++
	}
	return got
}

// within reports whether got is within tol (relative) of want.
func within(got, want, tol float64) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	return d <= tol*want
}

// benchBalancers builds every policy over one Set of n targets with latency samples,
// as the benchmarks and the zero-allocation tests use them.
func benchBalancers(tb testing.TB, n int) (*Set, []*Target, []struct {
	name string
	b    Balancer
}) {
	tb.Helper()
	s, ts := newSet(tb, SetConfig{PanicThreshold: 50}, equalWeights(n)...)
	for i, x := range ts {
		x.ObserveLatency(0, time.Duration(i+1)*time.Millisecond)
	}
	rnd := NewRand(1)
	sw, err := NewSmoothWeighted(s)
	if err != nil {
		tb.Fatal(err)
	}
	rd, _ := NewRandom(s, rnd)
	lr, _ := NewLeastRequest(s, rnd)
	pe, _ := NewPeakEWMA(s, rnd)
	rg, _ := NewRing(s, RingConfig{})
	rb, _ := NewRing(s, RingConfig{LoadFactor: 0.25})
	return s, ts, []struct {
		name string
		b    Balancer
	}{
		{"RoundRobin", mustRR(tb, s)},
		{"SmoothWeighted", sw},
		{"Random", rd},
		{"LeastRequest", lr},
		{"PeakEWMA", pe},
		{"Ring", rg},
		{"RingBounded", rb},
	}
}

func mustRR(tb testing.TB, s *Set) *RoundRobin {
	tb.Helper()
	b, err := NewRoundRobin(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
