//go:build !race

package gateway

import (
	"runtime"
	"testing"
	"time"
)

// TestProxyRequestAllocatesNothing measures every allocation in the process (gateway, client
// and upstream alike) over many keep-alive requests once warm. Background work of the engine
// (its ticker) may allocate a little over the run, hence the per-request average bound far
// below one.
func TestProxyRequestAllocatesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := fastUpstream(t)
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		rt := newRoundTripper(t, addr)
		for i := 0; i < 200; i++ {
			if err := rt.do(); err != nil {
				t.Fatal(err)
			}
		}
		const requests = 2000
		// Not testing.AllocsPerRun: it sets GOMAXPROCS(1), and the epoll loop's raw blocking
		// wait keeps its P (docs/ARCHITECTURE.md), leaving nothing for the client.
		best := bestAllocsPerRequest(requests, func() {
			if err := rt.do(); err != nil {
				t.Fatal(err)
			}
		})
		if best > 0.02 {
			t.Fatalf("%.3f allocations per proxied request (best of 3 windows), want 0", best)
		}
	})
}

// bestAllocsPerRequest counts every allocation in the process over requests calls of do, less
// what the process allocates in the same time doing nothing (goroutines another test left
// winding down, timers), and returns the best of three such windows: background work can only
// make a window look worse, while an allocation per request shows in every window.
func bestAllocsPerRequest(requests int, do func()) float64 {
	best := -1.0
	for w := 0; w < 3; w++ {
		var m0, m1, m2 runtime.MemStats
		runtime.ReadMemStats(&m0)
		start := time.Now()
		for i := 0; i < requests; i++ {
			do()
		}
		took := time.Since(start)
		runtime.ReadMemStats(&m1)
		time.Sleep(took)
		runtime.ReadMemStats(&m2)
		busy, idle := float64(m1.Mallocs-m0.Mallocs), float64(m2.Mallocs-m1.Mallocs)
		if avg := max(busy-idle, 0) / float64(requests); best < 0 || avg < best {
			best = avg
		}
	}
	return best
}
