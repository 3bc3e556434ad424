//go:build linux

package epoll

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/engine"
	gnetengine "github.com/sluice-gw/sluice/engine/gnet"
)

// TestMeasurePing is the harness behind the numbers in docs/ENGINE-EPOLL.md; it is skipped
// unless EPOLL_MEASURE is set, because it measures a separate process from the outside:
//
//	go test -c -o /tmp/epoll.test ./engine/epoll
//	EPOLL_MEASURE=server EPOLL_ADDR=127.0.0.1:7070 EPOLL_SECONDS=20 EPOLL_WAIT=raw /tmp/epoll.test -test.run MeasurePing &
//	EPOLL_MEASURE=client EPOLL_ADDR=127.0.0.1:7070 EPOLL_SECONDS=5 EPOLL_RATE=5000 EPOLL_CONNS=50 /tmp/epoll.test -test.run MeasurePing -test.v
//
// and, around the client run, strace -c -f -p <server pid> or the server's
// /proc/<pid>/task/*/status context-switch counters and /proc/<pid>/stat CPU times.
// The server is a one-loop echo server (EPOLL_WAIT=raw, runtime or probe: wait.go;
// EPOLL_ENGINE=gnet runs the same handler on the gnet backend instead); the client
// sends 128-byte requests at EPOLL_RATE per second in total over EPOLL_CONNS connections, each
// waiting for its echo. Both end on their own after EPOLL_SECONDS.
func TestMeasurePing(t *testing.T) {
	mode := os.Getenv("EPOLL_MEASURE")
	if mode == "" {
		t.Skip("measurement harness; set EPOLL_MEASURE=server or client (see the comment)")
	}
	addr := envOr("EPOLL_ADDR", "127.0.0.1:7070")
	secs := envInt("EPOLL_SECONDS", 5)
	if secs <= 0 || secs > 600 {
		t.Fatalf("EPOLL_SECONDS=%d, want 1..600", secs)
	}
	switch mode {
	case "server":
		mode, ok := waitModes[envOr("EPOLL_WAIT", "raw")]
		if !ok {
			t.Fatalf("EPOLL_WAIT=%q, want raw, runtime or probe", os.Getenv("EPOLL_WAIT"))
		}
		waitMode = mode
		defer func() { waitMode = waitRaw }()
		start := Start
		if envOr("EPOLL_ENGINE", "epoll") == "gnet" {
			start = gnetengine.Start // the same echo handler on the other backend, for comparison
		}
		s, err := start(&echoHandler{}, []string{addr}, engine.Options{Loops: envInt("EPOLL_LOOPS", 1)})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("server pid %d on %s, engine=%s wait=%s\n", os.Getpid(), addr, envOr("EPOLL_ENGINE", "epoll"), envOr("EPOLL_WAIT", "raw"))
		time.Sleep(time.Duration(secs) * time.Second)
		s.Stop()
	case "client":
		rate, conns := envInt("EPOLL_RATE", 5000), envInt("EPOLL_CONNS", 50)
		if rate <= 0 || conns <= 0 || conns > 10000 {
			t.Fatalf("EPOLL_RATE=%d EPOLL_CONNS=%d", rate, conns)
		}
		lats := pingAtRate(t, addr, conns, rate, time.Duration(secs)*time.Second)
		n := len(lats)
		if n == 0 {
			t.Fatal("no request completed")
		}
		slices.Sort(lats)
		t.Logf("requests %d in %ds = %.0f req/s, latency p50 %v p90 %v p99 %v", n, secs, float64(n)/float64(secs),
			lats[n/2], lats[n*9/10], lats[n*99/100])
	default:
		t.Fatalf("EPOLL_MEASURE=%q, want server or client", mode)
	}
}

// pingAtRate runs conns clients, each sending one request every conns/rate seconds and
// waiting for its echo, for d. It returns the latency of every request done.
func pingAtRate(t *testing.T, addr string, conns, rate int, d time.Duration) []time.Duration {
	period := time.Duration(int64(time.Second) * int64(conns) / int64(rate))
	end := time.Now().Add(d)
	var mu sync.Mutex
	var all []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < conns; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(end.Add(5 * time.Second))
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			msg, buf := make([]byte, 128), make([]byte, 128)
			lats := make([]time.Duration, 0, int(d/period)+1)
			defer func() {
				mu.Lock()
				all = append(all, lats...)
				mu.Unlock()
			}()
			// Spread the clients over the period so the requests arrive evenly.
			next := time.Now().Add(period * time.Duration(i) / time.Duration(conns))
			for {
				time.Sleep(time.Until(next))
				if time.Now().After(end) {
					return
				}
				begin := time.Now()
				if err := pingOnce(c, msg, buf, 1); err != nil {
					t.Error(err)
					return
				}
				lats = append(lats, time.Since(begin))
				next = next.Add(period)
			}
		}(i)
	}
	wg.Wait()
	return all
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func envInt(k string, def int) int {
	v, err := strconv.Atoi(os.Getenv(k))
	if err != nil {
		return def
	}
	return v
}
