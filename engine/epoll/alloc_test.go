//go:build linux && !race

package epoll

import (
	"runtime"
	"testing"
	"time"
)

// allocsPerRun is testing.AllocsPerRun without its GOMAXPROCS(1): with a single P the loop's
// raw blocking wait would hold it, and the client goroutine would run only when the 10ms
// preemption signal interrupts the wait (the reason Start ensures GOMAXPROCS > loops). It
// counts every goroutine's mallocs, the loop's included.
func allocsPerRun(runs int, f func()) float64 {
	f()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.Mallocs
	for i := 0; i < runs; i++ {
		f()
	}
	runtime.ReadMemStats(&ms)
	return float64(ms.Mallocs-before) / float64(runs)
}

// TestEchoPathAllocatesNothing proves the per-request path (read, OnData, Peek, Write or
// Write2, Discard, and buffering of a partial message) allocates nothing once warm. The client
// side (net.TCPConn Write and io.ReadFull into fixed buffers) allocates nothing either, so any
// allocation counted here is the engine's.
func TestEchoPathAllocatesNothing(t *testing.T) {
	cases := []struct {
		name  string
		h     *echoHandler
		parts int // writes per message: > 1 leaves partial messages buffered on the conn
	}{
		{"WriteEcho", &echoHandler{}, 1},
		{"Write2Echo", &echoHandler{split: true}, 1},
		{"PartialMessagesBuffered", &echoHandler{msgSize: 512}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startEcho(t, tc.h, 1)
			c := dialClients(t, addr, 1)[0]
			c.SetDeadline(time.Now().Add(20 * time.Second))
			msg := make([]byte, 512)
			for i := range msg {
				msg[i] = byte(i)
			}
			buf := make([]byte, len(msg))
			var err error
			for i := 0; i < 200; i++ { // warm-up: pools, epoll interest, runtime caches
				if err = pingOnce(c, msg, buf, tc.parts); err != nil {
					t.Fatal(err)
				}
			}
			allocs := allocsPerRun(2000, func() {
				if e := pingOnce(c, msg, buf, tc.parts); e != nil {
					err = e
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%.4f allocations per request", allocs)
			// Mallocs also counts the runtime's own rare allocations (a timer, a GC
			// worker); a per-request allocation in the engine shows as >= 1.
			if allocs >= 0.01 {
				t.Fatalf("%.3f allocations per request, want 0", allocs)
			}
		})
	}
}
