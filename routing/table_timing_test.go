package routing

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkLookup runs the same request mix against tables of 10, 1,000 and
// 10,000 realistic routes; the per-lookup time should stay flat (the issue
// asks for 10,000 within 3x of 10) with 0 allocs/op.
func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run("routes="+strconv.Itoa(n), func(b *testing.B) {
			tab := mustBuild(b, realisticSpecs(n))
			reqs := realisticRequests(n)
			var m Match
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := &reqs[i%len(reqs)]
				_, _ = tab.Lookup(&m, r.host, r.method, r.path, r.query, benchHeaders)
			}
		})
	}
}

// BenchmarkLookupByKind isolates the path kinds at 10,000 routes.
func BenchmarkLookupByKind(b *testing.B) {
	tab := mustBuild(b, realisticSpecs(10000))
	cases := []struct{ name, host, path, query string }{
		{"exact", "gw.example.org", "/svc500/health", ""},
		{"prefix", "gw.example.org", "/svc500/static/app.js", ""},
		{"template", "gw.example.org", "/svc500/users/12345/orders/678", ""},
		{"template-rest", "gw.example.org", "/svc500/files/a/b/c/d.txt", ""},
		{"query-condition", "gw.example.org", "/svc500/search/x", "q=shoes&beta=1"},
		{"wildcard-host", "edge.t3.example.net", "/svc503/health", ""},
		{"miss", "gw.example.org", "/nowhere/at/all", ""},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			host, path, query := []byte(c.host), []byte(c.path), []byte(c.query)
			method := []byte("GET")
			var m Match
			if ok, err := tab.Lookup(&m, host, method, path, query, benchHeaders); err != nil || ok == (c.name == "miss") {
				b.Fatalf("fixture: ok=%v err=%v", ok, err)
			}
			b.SetBytes(int64(len(path)))
			b.ReportAllocs()
			for b.Loop() {
				_, _ = tab.Lookup(&m, host, method, path, query, benchHeaders)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	cases := []struct{ name, path string }{
		{"clean", "/api/v1/users/12345/orders"},
		{"dirty", "/api//v1/./users/../users/%7e12345/orders/%3a|x"},
		{"utf8", "/caf%c3%a9/\xe2\x82\xac/na%C3%AFve"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			in := []byte(c.path)
			dst := make([]byte, 0, 3*len(in))
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				dst, _ = Normalize(dst[:0], in)
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	specs := realisticSpecs(10000)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(specs); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLookupTimeFlatAcrossTableSizes guards the bound: a lookup in a
// 10,000-route table costs at most 3x one in a 10-route table. Each size is
// measured several times, interleaved, and the fastest run kept, so that
// load from other processes on a shared machine inflates neither side.
// Skipped with -short and under the race detector's timing distortion.
func TestLookupTimeFlatAcrossTableSizes(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing test")
	}
	const lookups = 20_000 // about 10 ms per round on the test machine
	measure := func(n int) func() float64 {
		tab := mustBuild(t, realisticSpecs(n))
		reqs := realisticRequests(n)
		var m Match
		return func() float64 {
			start := time.Now()
			for i := range lookups {
				r := &reqs[i%len(reqs)]
				_, _ = tab.Lookup(&m, r.host, r.method, r.path, r.query, benchHeaders)
			}
			return float64(time.Since(start).Nanoseconds()) / lookups
		}
	}
	small, large := measure(10), measure(10000)
	// Up to three attempts of fifteen interleaved rounds each: noise from
	// other processes only ever slows a round, so one attempt within the
	// bound shows the table can meet it, while a real regression fails all.
	var ratio float64
	for attempt := range 3 {
		var s, l float64
		for range 15 {
			s = minPositive(s, small())
			l = minPositive(l, large())
		}
		ratio = l / s
		t.Logf("attempt %d: 10 routes %.0f ns/lookup, 10,000 routes %.0f ns/lookup (%.2fx)", attempt, s, l, ratio)
		if ratio <= 3 {
			return
		}
	}
	t.Fatalf("10,000-route lookups cost %.2fx 10-route lookups, more than 3x", ratio)
}

func minPositive(cur, v float64) float64 {
	if cur == 0 || v < cur {
		return v
	}
	return cur
}
