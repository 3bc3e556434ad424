package gateway

import (
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"
)

// startRedisServer runs redis-server on a free loopback port for the test, or
// skips when the binary is missing (scripts/deps.sh test installs it). stop
// kills it; start runs it again on the same port.
func startRedisServer(t *testing.T) (addr string, stop, start func()) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (run scripts/deps.sh test, or apt-get install redis-server)")
	}
	addr = freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	var cmd *exec.Cmd
	start = func() {
		cmd = exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--loglevel", "warning")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitListening(t, addr)
	}
	stop = func() {
		if cmd != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			cmd = nil
		}
	}
	start()
	t.Cleanup(stop)
	return addr, stop, start
}

func TestLimitsRedisTwoGatewaysShareOneLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		raddr, stop, start := startRedisServer(t)
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		const burst, lease = 10, 2
		top := "limits:\n  fleet:\n    key: header:X-Api-Key\n    windows:\n      - rate: 10/min\n    redis:\n      address: " + raddr +
			"\n      lease: 2\n      on_error: closed\n      timeout: 200ms\n"
		ga, a := startGateway(t, engine, limitedRoute(top, "", "    limits: [fleet]\n", up.Addr))
		_, b := startGateway(t, engine, limitedRoute(top, "", "    limits: [fleet]\n", up.Addr))
		ca, cb := dial(t, a), dial(t, b)
		codes := map[int]int{}
		req := func(c *client, key string) int {
			c.send("GET /x HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + key + "\r\n\r\n")
			resp, _ := c.read("GET")
			return resp.StatusCode
		}
		deadline := time.Now().Add(1500 * time.Millisecond)
		for i := 0; time.Now().Before(deadline) && i < 2000; i++ {
			codes[req(ca, "shared")]++
			codes[req(cb, "shared")]++
			time.Sleep(time.Millisecond)
		}
		if codes[200] > burst+2*2*lease || codes[200] < burst-2*lease || codes[429] == 0 || len(codes) != 2 {
			t.Fatalf("two gateways answered %v for a shared burst of %d (lease %d)", codes, burst, lease)
		}
		if got := up.requests.Load(); got != int64(codes[200]) {
			t.Fatalf("upstream saw %d, gateways admitted %d", got, codes[200])
		}
		if req(ca, "other") != 200 {
			t.Fatal("another key was limited")
		}
		// Fail closed: once the outage is noticed, 503 until Redis is back.
		stop()
		deadline = time.Now().Add(5 * time.Second)
		got := 0
		for time.Now().Before(deadline) {
			if got = req(ca, "k-outage"); got == 503 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got != 503 {
			t.Fatalf("with Redis down and on_error: closed, got %d", got)
		}
		if st := ga.LimitStats(); len(st) != 1 || st[0].Kind != "redis" || st[0].Redis.Errors == 0 || st[0].Redis.FailedClosed == 0 || st[0].Redis.Up {
			t.Fatalf("outage not shown in stats: %+v", st)
		}
		// Restarted, Redis is found again without restarting the gateway.
		start()
		deadline = time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if got = req(ca, "k-after"); got == 200 {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if got != 200 {
			t.Fatalf("after Redis restarted, got %d", got)
		}
	})
}
