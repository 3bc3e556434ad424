//go:build !race

package metrics

import (
	"testing"
	"time"
)

func TestObserveAllocatesNothing(t *testing.T) {
	f := newFixture(t)
	m := New(Options{TailPerSecond: 1 << 30})
	m.Prepare(f.snap)
	ok := rec(f.users, f.u1, 200, 1e6, 5e5, "/users/1")
	bad := rec(f.orders, f.o1, 502, 1e6, 0, "/orders/")
	bad.Error = "connection refused"
	lim := rec(f.users, nil, 429, 1e3, 0, "/users/")
	none := rec(nil, nil, 404, 1e3, 0, "/x")
	m.Observe(ok) // warm the histograms' lazily made buckets
	m.Observe(bad)
	m.Observe(lim)
	m.Observe(none)
	m.Tick(time.Now())
	if n := testing.AllocsPerRun(1000, func() {
		m.Observe(ok)
		m.Observe(bad)
		m.Observe(lim)
		m.Observe(none)
	}); n != 0 {
		t.Fatalf("Observe allocates %v times per run", n)
	}
}
