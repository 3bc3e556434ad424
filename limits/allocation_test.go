//go:build !race

package limits

import (
	"strconv"
	"testing"
	"time"
)

// The race detector allocates on its own, so these run without it.

func assertNoAllocs(t *testing.T, name string, f func()) {
	t.Helper()
	if n := testing.AllocsPerRun(1000, f); n != 0 {
		t.Errorf("%s: %v allocs per run, want 0", name, n)
	}
}

func TestHotPathsAllocateNothing(t *testing.T) {
	p := mustPolicy("api", 1000, time.Second, 100)
	daily := mustPolicy("daily", 1_000_000, 24*time.Hour, 0)
	m := mustMulti(t, p, daily)
	now := t0
	var b Bucket
	assertNoAllocs(t, "Bucket.Allow", func() {
		now += int64(time.Microsecond)
		b.Allow(p, now, 1)
	})
	var mb MultiBucket
	assertNoAllocs(t, "MultiBucket.Allow", func() {
		now += int64(time.Microsecond)
		mb.Allow(m, now, 1)
	})

	tb := newTestTable(t, 4096, 0, p, daily)
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = []byte("10.1." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256))
		tb.Allow(keys[i], now, 1)
	}
	i := 0
	assertNoAllocs(t, "Table.Allow existing key", func() {
		i++
		now += int64(time.Microsecond)
		tb.Allow(keys[i%len(keys)], now, 1)
	})

	// Churn: keys seen twice replace LRU victims whose key buffers are reused.
	small := newTestTable(t, 64, 1, p)
	churn := make([][]byte, 512)
	for i := range churn {
		churn[i] = []byte("client-" + strconv.Itoa(100000+i))
	}
	for r := 0; r < 3; r++ {
		for _, k := range churn {
			small.Allow(k, now, 1)
			small.Allow(k, now, 1)
		}
	}
	before := small.Stats().Evictions
	j := 0
	assertNoAllocs(t, "Table.Allow evicting", func() {
		k := churn[j%len(churn)]
		j++
		small.Allow(k, now, 1)
		small.Allow(k, now, 1)
	})
	if small.Stats().Evictions == before {
		t.Error("churn benchmark did not evict")
	}

	buf := make([]byte, 0, 256)
	d := b.Allow(p, now, 1000)
	assertNoAllocs(t, "AppendHeaders", func() {
		buf = AppendHeaders(buf[:0], d)
	})
	md := mb.Allow(m, now, 1)
	assertNoAllocs(t, "AppendHeadersMulti", func() {
		buf = AppendHeadersMulti(buf[:0], m, md)
	})

	c := mustConcurrency(t, ConcurrencyConfig{Limit: 1, QueueSize: 4, QueueTimeout: time.Second})
	tickets := make([]Ticket, 0, 8)
	assertNoAllocs(t, "Concurrency queue cycle", func() {
		c.Acquire(now)
		c.Acquire(now) // queued
		c.Release(now) // handed to the waiter
		c.Release(now)
		tickets = c.Sweep(now, tickets[:0])
	})
	kb := make([]byte, 0, 64)
	ip, route := []byte("203.0.113.9"), []byte("/v1/orders")
	assertNoAllocs(t, "AppendKeyPart + Table.Allow", func() {
		kb = AppendKeyPart(AppendKeyPart(kb[:0], ip), route)
		tb.Allow(kb, now, 1)
	})
	g := mustGradient(t, GradientConfig{})
	assertNoAllocs(t, "Gradient.OnSample", func() {
		now += int64(time.Millisecond)
		g.OnSample(time.Millisecond, now, 20, false)
	})
}
