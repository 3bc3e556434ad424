package policy

import (
	"strconv"
	"testing"

	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/proxy"
)

// BenchmarkRateLimitOnRequestHotKey is the filter on one key from every
// goroutine: key building, table lookup, header lines.
func BenchmarkRateLimitOnRequestHotKey(b *testing.B) {
	rl, err := NewRateLimit(RateLimitConfig{Name: "a", Windows: []*limits.Policy{mustPolicy(b, "a", "1000000000/s", 1000000000)}, Key: mustKey(b, "header:X-Api-Key")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := request(b, "GET / HTTP/1.1\nHost: h\nX-Api-Key: hot\n", "127.0.0.1", nil)
		c.Scratch = make([]byte, 0, 256)
		c.RespFields = make([]byte, 0, 256)
		for pb.Next() {
			c.RespFields = c.RespFields[:0]
			rl.OnRequest(c)
		}
	})
}

// BenchmarkRateLimitOnRequestManyKeys spreads requests over 1M client keys
// in a table that holds them all.
func BenchmarkRateLimitOnRequestManyKeys(b *testing.B) {
	rl, err := NewRateLimit(RateLimitConfig{Name: "a", Windows: []*limits.Policy{mustPolicy(b, "a", "100/s", 0)}, Key: mustKey(b, "header:X-Api-Key"), MaxKeys: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	const keys = 1 << 20
	cs := make([]*proxy.FilterContext, 256)
	for i := range cs {
		cs[i] = request(b, "GET / HTTP/1.1\nHost: h\nX-Api-Key: k"+strconv.Itoa(1000000 + i)[1:]+"\n", "127.0.0.1", nil)
		cs[i].Scratch = make([]byte, 0, 256)
		cs[i].RespFields = make([]byte, 0, 256)
	}
	// Keys differ by the header; rewrite the value bytes in place so 1M keys
	// need no 1M parsed requests.
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := cs[i&255]
		v := c.Req.Peek("X-Api-Key")
		n := (i * 2654435761) % keys
		for j := len(v) - 1; j >= 1; j-- {
			v[j] = byte('0' + n%10)
			n /= 10
		}
		c.RespFields = c.RespFields[:0]
		rl.OnRequest(c)
	}
}

// BenchmarkInFlightAcquireRelease is a fixed concurrency limit's cost per
// request from every goroutine.
func BenchmarkInFlightAcquireRelease(b *testing.B) {
	f, err := NewInFlight(InFlightConfig{Name: "r", MaxInFlight: 1 << 30})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := request(b, "GET / HTTP/1.1\nHost: h\n", "127.0.0.1", nil)
		for pb.Next() {
			f.OnRequest(c)
			f.OnDone(c, 200)
		}
	})
}
