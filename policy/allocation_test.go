//go:build !race

package policy

import (
	"net/netip"
	"testing"

	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/proxy"
)

func TestFiltersAllocateNothingPerRequest(t *testing.T) {
	rl, err := NewRateLimit(RateLimitConfig{
		Name:    "a",
		Windows: []*limits.Policy{mustPolicy(t, "a", "1000000/s", 0), mustPolicy(t, "b", "1/day", 1)},
		Key:     Key{Parts: []KeyPart{{Kind: KeyClientIP}, {Kind: KeyHeader, Name: "X-Api-Key"}, {Kind: KeyRoute}}, Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	in, err := NewInFlight(InFlightConfig{Name: "r", Adaptive: &limits.GradientConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	c := request(t, "GET / HTTP/1.1\nHost: h\nX-Api-Key: k1\nX-Forwarded-For: 203.0.113.7, 127.0.0.2\n", "127.0.0.1", &proxy.Route{Name: "r"})
	c.Scratch = make([]byte, 0, 512)
	c.RespFields = make([]byte, 0, 512)
	rl.OnRequest(c) // the key's first request stores it
	allocs := testing.AllocsPerRun(1000, func() {
		c.RespFields = c.RespFields[:0]
		if v := rl.OnRequest(c); v.Status != 429 {
			t.Fatalf("status %d", v.Status)
		}
		c.Now++
		in.OnRequest(c)
		in.OnDone(c, 200)
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per request", allocs)
	}
}
