//go:build !race

package gateway

import (
	"runtime"
	"testing"
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
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < requests; i++ {
			if err := rt.do(); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		avg := float64(after.Mallocs-before.Mallocs) / requests
		if avg > 0.02 {
			t.Fatalf("%.3f allocations per proxied request, want 0", avg)
		}
	})
}
