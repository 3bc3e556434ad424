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
func TestTLSKeepAliveRequestAllocations(t *testing.T) {
	f := startTLSGateway(t, "", oneUpstream("", okUpstream(t)), nil)
	k := newTLSKeepAliveClient(t, f)
	for i := 0; i < 200; i++ { // grow every buffer first
		k.do(t)
	}
	const requests = 2000
	best := bestAllocsPerRequest(requests, func() { k.do(t) })
	if best > 2.05 {
		t.Errorf("%.2f allocations per request over keep-alive TLS (best of 3 windows), want at most 2 (crypto/tls's)", best)
	}
}
