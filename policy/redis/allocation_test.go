//go:build !race

package redis

import (
	"testing"
)

func TestOnRequestAllocatesNothingForAKnownKey(t *testing.T) {
	srv := startRedis(t)
	l := newLimit(t, srv.Addr, "alloc", "1000000/s", 1000000, 1000, false)
	waitFor(t, "redis up", func() bool { return l.Stats().Up })
	c := ctxFor("k")
	c.Scratch = make([]byte, 0, 256)
	c.RespFields = make([]byte, 0, 256)
	l.OnRequest(c)
	waitFor(t, "first lease", func() bool { return l.Stats().Fetches > 0 })
	allocs := testing.AllocsPerRun(500, func() {
		c.RespFields = c.RespFields[:0]
		if v := l.OnRequest(c); v.Status != 0 {
			t.Fatalf("status %d", v.Status)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per request", allocs)
	}
}
