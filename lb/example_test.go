package lb_test

import (
	"fmt"
	"time"

	"github.com/sluice-gw/sluice/lb"
)

// One upstream with three targets, sticky by client IP with bounded loads, a
// breaker on each target, passive outlier detection and a retry budget: the calls
// the proxy makes around one exchange.
func Example() {
	set, _ := lb.NewSet(lb.SetConfig{PanicThreshold: 50})
	log, _ := lb.NewTransitionLog(64)
	var targets []*lb.Target
	for _, addr := range []string{"127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"} {
		t, _ := lb.NewTarget(addr, 1)
		br, _ := lb.NewBreaker(lb.BreakerConfig{Name: addr, FailureRatio: 0.5, MinRequests: 4, Log: log})
		_ = t.SetBreaker(br)
		targets = append(targets, t)
	}
	if err := set.Update(targets); err != nil {
		fmt.Println(err)
		return
	}
	ring, _ := lb.NewRing(set, lb.RingConfig{LoadFactor: 0.25})
	det, _ := lb.NewOutlierDetector(set, lb.OutlierConfig{Consecutive5xx: 5})
	budget, _ := lb.NewRetryBudget(lb.RetryBudgetConfig{Ratio: 0.2, MinPerSecond: 10})

	now := int64(1_000_000_000)
	key := lb.HashKey([]byte("203.0.113.7"))
	budget.OnRequest(now)
	var ex lb.Exclude
	var first *lb.Target
	for attempt := 0; ; attempt++ {
		t := ring.Pick(now, key, ex)
		if t == nil {
			fmt.Println(lb.ErrNoTarget)
			return
		}
		if ok, _ := t.Breaker().Allow(now); !ok {
			ex.Add(t)
			continue
		}
		if first == nil {
			first = t
		}
		t.Acquire()
		failed := attempt == 0 // pretend the first try gets a 503
		t.Release()
		t.ObserveLatency(now, 2*time.Millisecond)
		t.Breaker().OnResult(now, failed, 2*time.Millisecond)
		outcome := lb.Success
		if failed {
			outcome = lb.Failure5xx
		}
		det.OnResult(now, t, outcome)
		if !failed {
			fmt.Println("attempt", attempt, "succeeded on another target:", t != first)
			return
		}
		if !budget.TryRetry(now) || !ex.Add(t) {
			fmt.Println("giving up")
			return
		}
	}
	// Output: attempt 1 succeeded on another target: true
}
