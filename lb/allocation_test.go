//go:build !race

package lb

import (
	"testing"
	"time"
)

func TestPickAllocatesNothing(t *testing.T) {
	_, ts, bals := benchBalancers(t, 16)
	ts[3].SetHealthy(false) // exercise the skip paths too
	var ex Exclude
	ex.Add(ts[5])
	for _, bb := range bals {
		key := uint64(0)
		if a := testing.AllocsPerRun(1000, func() {
			key += 0x9e3779b97f4a7c15
			if bb.b.Pick(1, key, ex) == nil {
				t.Fatal("nil pick")
			}
		}); a != 0 {
			t.Errorf("%s.Pick: %v allocs/op", bb.name, a)
		}
	}
}

func TestHotPathCallsAllocateNothing(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1, 1, 1)
	br, _ := NewBreaker(BreakerConfig{FailureRatio: 0.5})
	budget, _ := NewRetryBudget(RetryBudgetConfig{Ratio: 0.2, MinPerSecond: 10})
	det, _ := NewOutlierDetector(s, OutlierConfig{Consecutive5xx: 5})
	bo, _ := NewRetryBackoff(time.Millisecond, time.Second)
	r := NewRand(1)
	x := ts[0]
	now := int64(0)
	calls := map[string]func(){
		"Acquire+Release":  func() { x.Acquire(); x.Release() },
		"ObserveLatency":   func() { now += 1000; x.ObserveLatency(now, time.Millisecond) },
		"Breaker.Allow":    func() { br.Allow(now) },
		"Breaker.OnResult": func() { now += 1000; br.OnResult(now, false, time.Millisecond) },
		"Budget.OnRequest": func() { now += 1000; budget.OnRequest(now) },
		"Budget.TryRetry":  func() { budget.TryRetry(now) },
		"Detector.OnResult": func() {
			det.OnResult(now, x, Failure5xx)
			det.OnResult(now, x, Success)
		},
		"Backoff": func() { bo.Backoff(3, r.Uint64()) },
		"HashKey": func() { HashKey([]byte("192.0.2.1")) },
		"Exclude": func() {
			var ex Exclude
			ex.Add(x)
			ex.Has(ts[1])
		},
	}
	for name, f := range calls {
		if a := testing.AllocsPerRun(1000, f); a != 0 {
			t.Errorf("%s: %v allocs/op", name, a)
		}
	}
}
