package metrics

import "testing"

func BenchmarkObserve(b *testing.B) {
	f := newFixture(b)
	m := New(Options{})
	m.Prepare(f.snap)
	r := rec(f.users, f.u1, 200, 1e6, 5e5, "/users/1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
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
