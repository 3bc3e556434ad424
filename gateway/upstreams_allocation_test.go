//go:build !race

package gateway

import (
	"testing"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/proxy"
)

func TestBalancerPickDoneAllocatesNothing(t *testing.T) {
	for _, extra := range []string{
		"", "    balancer: weighted_round_robin\n", "    balancer: random\n", "    balancer: least_request\n",
		"    balancer: peak_ewma\n", "    balancer: consistent_hash\n",
		"    circuit_breaker: { failure_percent: 50 }\n    health_check: { path: /h, interval: 1h }\n",
	} {
		f := newLBFixture(t)
		u := f.build(extra, addrA, addrB, addrC)
		bal := u.Balancer
		rp := bal.(proxy.RetryPicker)
		var i uint64
		now := lbNow()
		if n := testing.AllocsPerRun(1000, func() {
			i++
			now += 1000
			pt := bal.Pick(now, i*0x9e3779b97f4a7c15)
			bal.Done(pt, now, proxy.OutcomeConnectFailure, 0)
			if r, _ := rp.Retry(now, i, pt, 0); r != nil {
				bal.Done(r, now, proxy.OutcomeSuccess, 1000)
			}
		}); n != 0 {
			t.Errorf("%q: %v allocations per Pick/Done/Retry, want 0", extra, n)
		}
	}
}

func TestHashKeysAllocateNothing(t *testing.T) {
	var r http1.Request
	if _, err := http1.ParseRequest([]byte("GET /p HTTP/1.1\r\nHost: a\r\nX-User: u\r\nCookie: a=1; sid=xyz\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	ip, path := []byte("10.0.0.1"), []byte("/p")
	for _, k := range []config.HashKey{
		{Kind: config.HashKeyClientIP}, {Kind: config.HashKeyPath}, {Kind: config.HashKeyHeader, Name: "X-User"}, cookieKey,
	} {
		f := hashKeyFunc(k)
		if n := testing.AllocsPerRun(1000, func() { _ = f(&r, ip, path) }); n != 0 {
			t.Errorf("%s: %v allocations, want 0", k, n)
		}
	}
}
