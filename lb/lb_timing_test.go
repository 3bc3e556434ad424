package lb

import (
	"fmt"
	"testing"
	"time"
)

func BenchmarkPick(b *testing.B) {
	for _, n := range []int{10, 100} {
		_, _, bals := benchBalancers(b, n)
		for _, bb := range bals {
			b.Run(fmt.Sprintf("%s/n=%d", bb.name, n), func(b *testing.B) {
				b.ReportAllocs()
				key := uint64(0)
				for i := 0; i < b.N; i++ {
					key += 0x9e3779b97f4a7c15
					if bb.b.Pick(1, key, Exclude{}) == nil {
						b.Fatal("nil pick")
					}
				}
			})
		}
	}
}

// BenchmarkPickParallel shows the cost when every core's loop picks at once (shared
// atomic cursors and Rand).
func BenchmarkPickParallel(b *testing.B) {
	_, _, bals := benchBalancers(b, 10)
	for _, bb := range bals {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				key := uint64(0)
				for pb.Next() {
					key += 0x9e3779b97f4a7c15
					if bb.b.Pick(1, key, Exclude{}) == nil {
						b.Fatal("nil pick")
					}
				}
			})
		})
	}
}

// BenchmarkExchange is the per-request lb work of one proxied exchange: pick,
// breaker admission, acquire, release, latency, breaker and detector feedback.
func BenchmarkExchange(b *testing.B) {
	s, ts := newSet(b, SetConfig{PanicThreshold: 50}, equalWeights(10)...)
	_ = ts
	pe, _ := NewPeakEWMA(s, NewRand(1))
	det, _ := NewOutlierDetector(s, OutlierConfig{Consecutive5xx: 5})
	b.ReportAllocs()
	now := int64(0)
	for i := 0; i < b.N; i++ {
		now += 1000
		t := pe.Pick(now, 0, Exclude{})
		t.Breaker().Allow(now)
		t.Acquire()
		t.Release()
		t.ObserveLatency(now, time.Millisecond)
		t.Breaker().OnResult(now, false, time.Millisecond)
		det.OnResult(now, t, Success)
	}
}

func BenchmarkBreaker(b *testing.B) {
	br, _ := NewBreaker(BreakerConfig{FailureRatio: 0.5, SlowCallDuration: time.Second, SlowCallRatio: 0.9})
	b.Run("Allow", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			br.Allow(int64(i))
		}
	})
	b.Run("OnResult", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			br.OnResult(int64(i)*1000, false, time.Millisecond)
		}
	})
}

func BenchmarkRetryBudget(b *testing.B) {
	rb, _ := NewRetryBudget(RetryBudgetConfig{Ratio: 0.2, MinPerSecond: 10})
	b.Run("OnRequest", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rb.OnRequest(int64(i) * 1000)
		}
	})
	b.Run("TryRetry", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rb.TryRetry(int64(i) * 1000)
		}
	})
}

func BenchmarkBackoff(b *testing.B) {
	bo, _ := NewRetryBackoff(time.Millisecond, time.Second)
	r := NewRand(1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		bo.Backoff(i&15, r.Uint64())
	}
}

func BenchmarkHashKey(b *testing.B) {
	k := []byte("203.0.113.195")
	b.SetBytes(int64(len(k)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		HashKey(k)
	}
}

func BenchmarkRingBuild(b *testing.B) {
	s, ts := newSet(b, SetConfig{}, equalWeights(100)...)
	r, _ := NewRing(s, RingConfig{})
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := buildRing(&members{targets: ts, totalWeight: 100}, r.vnodes); err != nil {
			b.Fatal(err)
		}
	}
}
