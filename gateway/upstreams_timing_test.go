package gateway

import (
	"testing"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/proxy"
)

var cookieKey = config.HashKey{Kind: config.HashKeyCookie, Name: "sid"}

func benchUpstream(b *testing.B, extra string) *proxy.Upstream {
	f := &lbFixture{} // buildTB reports to b
	b.Cleanup(f.res.close)
	return f.buildTB(b, extra, addrA, addrB, addrC, "127.0.0.1:9004", "127.0.0.1:9005", "127.0.0.1:9006", "127.0.0.1:9007", "127.0.0.1:9008")
}

// BenchmarkBalancerPickDone is one request's whole balancer cost: Pick (policy, drain and
// breaker checks, in-flight count, retry-budget deposit) and Done (release, EWMA, breaker and
// outlier feedback). The clock advances 1 µs a request, as the loop's would; it is read once
// per wake-up by the loop, not here.
func BenchmarkBalancerPickDone(b *testing.B) {
	for _, tc := range []struct{ name, extra string }{
		{"round_robin", ""},
		{"weighted_round_robin", "    balancer: weighted_round_robin\n"},
		{"random", "    balancer: random\n"},
		{"least_request", "    balancer: least_request\n"},
		{"peak_ewma", "    balancer: peak_ewma\n"},
		{"consistent_hash", "    balancer: consistent_hash\n"},
		{"least_request+breaker", "    balancer: least_request\n    circuit_breaker: { failure_percent: 50 }\n"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			u := benchUpstream(b, tc.extra)
			bal := u.Balancer
			now := lbNow()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				now += 1000
				t := bal.Pick(now, uint64(i)*0x9e3779b97f4a7c15)
				bal.Done(t, now, proxy.OutcomeSuccess, 1000)
			}
		})
	}
}

func BenchmarkHashKeyCookie(b *testing.B) {
	var r http1.Request
	if _, err := http1.ParseRequest([]byte("GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nCookie: theme=dark; sid=0123456789abcdef; lang=en\r\n\r\n"), &r); err != nil {
		b.Fatal(err)
	}
	f := hashKeyFunc(cookieKey)
	ip := []byte("10.0.0.1")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = f(&r, ip, nil)
	}
}
