//go:build linux

package epoll

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkPingPong is request/response over loopback: conns clients, each sending a 128-byte
// message and waiting for its echo before the next; ns/op is wall time per request over all
// clients together. The wait sub-benchmarks compare the wait strategies of wait.go.
func BenchmarkPingPong(b *testing.B) {
	for _, wait := range []string{"raw", "runtime", "probe"} {
		for _, conns := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("wait=%s/conns=%d", wait, conns), func(b *testing.B) {
				waitMode = waitModes[wait]
				defer func() { waitMode = waitRaw }()
				benchPingPong(b, conns)
			})
		}
	}
}

var waitModes = map[string]int{"raw": waitRaw, "runtime": waitRuntime, "probe": waitProbe}

func benchPingPong(b *testing.B, conns int) {
	_, addr := startEcho(b, &echoHandler{}, 1)
	cs := dialClients(b, addr, conns)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.SetBytes(128)
	b.ReportAllocs()
	b.ResetTimer()
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetDeadline(time.Now().Add(time.Minute))
			msg := make([]byte, 128)
			buf := make([]byte, 128)
			for next.Add(1) <= int64(b.N) {
				if err := pingOnce(c, msg, buf, 1); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}
}
