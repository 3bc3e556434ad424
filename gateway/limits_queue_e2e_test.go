package gateway

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestLimitsConcurrencyQueueWaitsThenServes: with one slot and a queue of one, a second
// request waits for the first and is served; a third finds the queue full and gets 503; a
// request that waits longer than queue_timeout gets 503 too.
func TestLimitsConcurrencyQueueWaitsThenServes(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		release := make(chan struct{})
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/hold" {
				<-release
			}
			io.WriteString(w, r.URL.Path)
		}))
		yaml := fmt.Sprintf(`upstreams:
  u:
    targets: [{address: %s}]
routes:
  - match: { path_prefix: / }
    upstream: u
    concurrency: { max_in_flight: 1, queue_size: 1, queue_timeout: 5s }
`, up.Addr)
		_, addr := startGateway(t, engine, yaml)

		first := dial(t, addr)
		first.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
		time.Sleep(100 * time.Millisecond) // the first holds the only slot
		second := dial(t, addr)
		second.send("GET /queued HTTP/1.1\r\nHost: t\r\n\r\n")
		time.Sleep(100 * time.Millisecond) // the second waits in the queue
		third := dial(t, addr)
		resp, body := third.get("/over")
		if resp.StatusCode != 503 || resp.Header.Get("X-Sluice-Error") != "concurrency limit: route route-0" {
			t.Fatalf("third request: %d %q %q", resp.StatusCode, resp.Header.Get("X-Sluice-Error"), body)
		}
		var wg sync.WaitGroup
		wg.Add(1)
		var secondStatus int
		var secondBody string
		go func() {
			defer wg.Done()
			r, b := second.read("GET")
			secondStatus, secondBody = r.StatusCode, b
		}()
		close(release)
		if r, b := first.read("GET"); r.StatusCode != 200 || b != "/hold" {
			t.Fatalf("first: %d %q", r.StatusCode, b)
		}
		wg.Wait()
		if secondStatus != 200 || secondBody != "/queued" {
			t.Fatalf("queued request: %d %q", secondStatus, secondBody)
		}
		// The slots are all back: a new request goes straight through.
		if r, _ := third.get("/after"); r.StatusCode != 200 {
			t.Fatalf("after: %d", r.StatusCode)
		}
	})
}

func TestLimitsConcurrencyQueueTimesOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		release := make(chan struct{})
		defer close(release)
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-time.After(3 * time.Second):
			}
		}))
		yaml := fmt.Sprintf(`upstreams:
  u:
    targets: [{address: %s}]
routes:
  - match: { path_prefix: / }
    upstream: u
    concurrency: { max_in_flight: 1, queue_size: 4, queue_timeout: 200ms }
`, up.Addr)
		_, addr := startGateway(t, engine, yaml)
		first := dial(t, addr)
		first.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
		time.Sleep(100 * time.Millisecond)
		start := time.Now()
		resp, _ := dial(t, addr).get("/waits")
		if resp.StatusCode != 503 || resp.Header.Get("X-Sluice-Error") != "concurrency limit: route route-0 (queue timeout)" {
			t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("X-Sluice-Error"))
		}
		if waited := time.Since(start); waited < 150*time.Millisecond {
			t.Fatalf("answered after %v, before the queue timeout", waited)
		}
	})
}
