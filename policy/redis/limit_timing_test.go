package redis

import (
	"testing"
)

// BenchmarkOnRequestHotKeyLeased is the per-request cost on one key from
// every goroutine while leases are fetched in the background: no request
// waits on Redis.
func BenchmarkOnRequestHotKeyLeased(b *testing.B) {
	srv := startRedis(b)
	l := newLimitB(b, srv.Addr)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := ctxFor("hot")
		c.Scratch = make([]byte, 0, 256)
		c.RespFields = make([]byte, 0, 256)
		for pb.Next() {
			c.RespFields = c.RespFields[:0]
			l.OnRequest(c)
		}
	})
	st := l.Stats()
	b.ReportMetric(float64(st.Fetches)/float64(b.N), "fetches/op")
}
