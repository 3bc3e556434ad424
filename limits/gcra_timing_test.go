package limits

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Hot key: every goroutine asks the same limiter. Time is injected and
// advances 1us per call per goroutine, so most requests are admitted and the
// CAS loop sees real contention. golang.org/x/time/rate's Limiter (a mutex
// around a float token bucket) runs in the same conditions for comparison.

func BenchmarkBucketAllowHotKeyParallel(b *testing.B) {
	p := mustPolicy("hot", 1_000_000, time.Second, 1000)
	var bk Bucket
	var base atomic.Int64
	base.Store(t0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := base.Load()
		for pb.Next() {
			now += int64(time.Microsecond)
			bk.Allow(p, now, 1)
		}
	})
}

func BenchmarkXTimeRateAllowHotKeyParallel(b *testing.B) {
	lim := rate.NewLimiter(1_000_000, 1000)
	start := time.Unix(1_000_000, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := start
		for pb.Next() {
			now = now.Add(time.Microsecond)
			lim.AllowN(now, 1)
		}
	})
}

// The same with a burst far above what a run can spend: every call is
// admitted, so every call writes the shared word (CAS) or takes the shared
// mutex. Each goroutine's clock advances 1ns per call; the huge burst also
// absorbs the skew between goroutines' clocks (a caller whose now is behind
// is judged at its own, earlier time, see Bucket.Allow).

func BenchmarkBucketAllowHotKeyParallelAllAdmitted(b *testing.B) {
	p := mustPolicy("hot", 1_000_000_000, time.Second, 1<<40)
	var bk Bucket
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := t0
		for pb.Next() {
			now++
			if !bk.Allow(p, now, 1).Allowed {
				b.Error("refused")
				return
			}
		}
	})
}

func BenchmarkXTimeRateAllowHotKeyParallelAllAdmitted(b *testing.B) {
	lim := rate.NewLimiter(1_000_000_000, 1<<40)
	start := time.Unix(1_000_000, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := start
		for pb.Next() {
			now = now.Add(1)
			if !lim.AllowN(now, 1) {
				b.Error("refused")
				return
			}
		}
	})
}

func BenchmarkBucketAllowSerial(b *testing.B) {
	p := mustPolicy("hot", 1_000_000, time.Second, 1000)
	var bk Bucket
	now := t0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now += int64(time.Microsecond)
		bk.Allow(p, now, 1)
	}
}

func BenchmarkXTimeRateAllowSerial(b *testing.B) {
	lim := rate.NewLimiter(1_000_000, 1000)
	now := time.Unix(1_000_000, 0)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		now = now.Add(time.Microsecond)
		lim.AllowN(now, 1)
	}
}

func BenchmarkMultiBucketAllowHotKeyParallel(b *testing.B) {
	m := mustMulti(b,
		mustPolicy("sec", 1_000_000, time.Second, 1000),
		mustPolicy("day", 1<<40, 24*time.Hour, 1<<36))
	var bk MultiBucket
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := t0
		for pb.Next() {
			now += int64(time.Microsecond)
			bk.Allow(m, now, 1)
		}
	})
}

func BenchmarkConcurrencyAcquireReleaseParallel(b *testing.B) {
	c := mustConcurrency(b, ConcurrencyConfig{Limit: 1 << 20})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if o, _ := c.Acquire(t0); o == Admitted {
				c.Release(t0)
			}
		}
	})
}

func BenchmarkAppendHeaders(b *testing.B) {
	p := mustPolicy("api", 100, time.Second, 200)
	var bk Bucket
	d := bk.Allow(p, t0, 1)
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = AppendHeaders(buf[:0], d)
	}
	b.SetBytes(int64(len(buf)))
}
