//go:build !race

package gateway

import (
	"runtime"
	"testing"
)

// TestTLSKeepAliveRequestAllocations guards the stream path: a request over a keep-alive TLS
// connection allocates nothing in Sluice's code. The two allocations allowed are crypto/tls's
// own: each tls.Conn.Read that reads a record boxes a 16-byte atLeastReader (one in the test's
// client, one in the gateway), which no caller can avoid. Counted over the whole process with
// MemStats rather than testing.AllocsPerRun, whose GOMAXPROCS(1) would leave the epoll loop's
// raw blocking wait holding the only P (see allocation_test.go).
func TestTLSKeepAliveRequestAllocations(t *testing.T) {
	f := startTLSGateway(t, "", oneUpstream("", okUpstream(t)), nil)
	k := newTLSKeepAliveClient(t, f)
	for i := 0; i < 200; i++ { // grow every buffer first
		k.do(t)
	}
	// The count is process-wide, so a goroutine another test left winding down can add a
	// few: the best of three windows is the path's own figure (a real allocation per
	// request shows in every window).
	const requests = 2000
	best := -1.0
	for w := 0; w < 3; w++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := 0; i < requests; i++ {
			k.do(t)
		}
		runtime.ReadMemStats(&after)
		if avg := float64(after.Mallocs-before.Mallocs) / requests; best < 0 || avg < best {
			best = avg
		}
	}
	if best > 2.05 {
		t.Errorf("%.2f allocations per request over keep-alive TLS (best of 3 windows), want at most 2 (crypto/tls's)", best)
	}
}
