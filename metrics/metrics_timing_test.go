package metrics

import (
	"sync/atomic"
	"testing"
)

// BenchmarkObserve records from every P at once, each goroutine as its own loop (its own
// Record.Loop), all on the same route and target: what several loops serving one API cost.
func BenchmarkObserve(b *testing.B) {
	f := newFixture(b)
	m := New(Options{})
	m.Prepare(f.snap)
	var loops atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := rec(f.users, f.u1, 200, 1e6, 5e5, "/users/1")
		r.Loop = int(loops.Add(1) - 1)
		for pb.Next() {
			m.Observe(r)
		}
	})
}

func BenchmarkObserveOneLoop(b *testing.B) {
	f := newFixture(b)
	m := New(Options{})
	m.Prepare(f.snap)
	r := rec(f.users, f.u1, 200, 1e6, 5e5, "/users/1")
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(r)
	}
}
