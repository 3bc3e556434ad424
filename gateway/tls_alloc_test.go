//go:build !race

package gateway

import (
	"testing"
)

// TestTLSKeepAliveRequestAllocations guards the stream path: a request over a keep-alive TLS
// connection allocates nothing in Sluice's code. The two allocations allowed are crypto/tls's
// own: each tls.Conn.Read that reads a record boxes a 16-byte atLeastReader (one in the test's
// client, one in the gateway), which no caller can avoid. Counted over the whole process with
// MemStats rather than testing.AllocsPerRun, whose GOMAXPROCS(1) would leave the epoll loop's
// raw blocking wait holding the only P (see allocation_test.go).
//
// The stream path starts a short flush goroutine for each write it queues; the runtime
// reuses dead goroutines, but when its free list is empty (more goroutines alive at once, as
// on a loaded machine running other tests) it allocates a new one. In full-suite runs that
// added 0.07 to 0.15 per request, so the bound is 2.5: a real allocation per request in
// Sluice's code still adds at least 1.
func TestTLSKeepAliveRequestAllocations(t *testing.T) {
	f := startTLSGateway(t, "", oneUpstream("", okUpstream(t)), nil)
	k := newTLSKeepAliveClient(t, f)
	for i := 0; i < 200; i++ { // grow every buffer first
		k.do(t)
	}
	const requests = 2000
	best := bestAllocsPerRequest(requests, func() { k.do(t) })
	if best > 2.5 {
		t.Errorf("%.2f allocations per request over keep-alive TLS (best of 3 windows), want at most 2 (crypto/tls's)", best)
	}
}
