package gateway

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/lb"
)

// loadResult counts what clients saw.
type loadResult struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   string
	done       chan struct{} // closed when every worker returned
}

// runLoad sends GETs from workers keep-alive clients until stop is closed or max requests were
// sent, whichever comes first: every load loop here is bounded in time and count.
func runLoad(t *testing.T, addr string, workers int, max int64, stop <-chan struct{}) *loadResult {
	t.Helper()
	res := &loadResult{done: make(chan struct{})}
	var sent atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			for sent.Add(1) <= max {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := cl.Get("http://" + addr + "/")
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && resp.StatusCode != 200 {
						err = fmt.Errorf("status %d (%s)", resp.StatusCode, resp.Header.Get("X-Sluice-Error"))
					}
				}
				if err != nil {
					res.failed.Add(1)
					res.mu.Lock()
					if res.firstErr == "" {
						res.firstErr = err.Error()
					}
					res.mu.Unlock()
					continue
				}
				res.ok.Add(1)
			}
		}()
	}
	t.Cleanup(wg.Wait)
	go func() { wg.Wait(); close(res.done) }()
	return res
}

func (r *loadResult) wait(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatal("load did not finish in 30s")
	}
}

func okHandler(body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
}

func TestKillingATargetMidLoadCostsClientsNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		a := startHTTPUpstream(t, okHandler("a"))
		b := startHTTPUpstream(t, okHandler("b"))
		c := startHTTPUpstream(t, okHandler("c"))
		_, addr := startGateway(t, engine, oneUpstream(
			"    balancer: least_request\n    outlier_detection: { consecutive_connect_failures: 1, max_ejection_percent: 50 }\n",
			a.Addr, b.Addr, c.Addr))
		stop := make(chan struct{})
		res := runLoad(t, addr, 8, 20000, stop)
		waitFor(t, "load to reach every target", func() bool {
			return a.requests.Load() > 50 && b.requests.Load() > 50 && c.requests.Load() > 50
		})
		b.Close() // listener and every connection, idle or mid-request
		before := a.requests.Load() + c.requests.Load()
		waitFor(t, "the survivors to serve 2000 more", func() bool { return a.requests.Load()+c.requests.Load() > before+2000 })
		close(stop)
		res.wait(t)
		t.Logf("%d ok, %d failed (a %d, b %d, c %d)", res.ok.Load(), res.failed.Load(), a.requests.Load(), b.requests.Load(), c.requests.Load())
		// Every request is a GET without a body: those in flight on b when it died, and those
		// that met its refused port or a dead pooled connection, all move to another target.
		if res.failed.Load() != 0 {
			t.Fatalf("%d client errors after a target died (first: %s), want 0", res.failed.Load(), res.firstErr)
		}
	})
}

func TestSlowTargetIsAvoided(t *testing.T) {
	for _, policy := range []string{"peak_ewma", "least_request"} {
		t.Run(policy, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, engine string) {
				slow := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					time.Sleep(20 * time.Millisecond)
				}))
				fast := startHTTPUpstream(t, okHandler("fast"))
				_, addr := startGateway(t, engine, oneUpstream("    balancer: "+policy+"\n", slow.Addr, fast.Addr))
				stop := make(chan struct{})
				timer := time.AfterFunc(3*time.Second, func() { close(stop) })
				defer timer.Stop()
				res := runLoad(t, addr, 4, 2000, stop)
				res.wait(t)
				s, f := slow.requests.Load(), fast.requests.Load()
				t.Logf("%s: slow %d, fast %d, failed %d", policy, s, f, res.failed.Load())
				if res.failed.Load() != 0 {
					t.Fatalf("%d failures: %s", res.failed.Load(), res.firstErr)
				}
				// Round robin would give the slow target half. It answers in 20ms, the fast one in
				// well under 1ms: both policies must send it a small share.
				if s*10 > s+f {
					t.Fatalf("slow target got %d of %d requests, want under 10%%", s, s+f)
				}
			})
		})
	}
}

func TestBreakerOpensAndHalfOpensEndToEnd(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		var failing atomic.Bool
		failing.Store(true)
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if failing.Load() {
				w.WriteHeader(500)
			}
		}))
		g, addr := startGateway(t, engine, oneUpstream(
			"    outlier_detection: { consecutive_5xx: 0, consecutive_connect_failures: 0 }\n"+
				"    circuit_breaker: { min_requests: 5, failure_percent: 50, open_duration: 300ms, half_open_probes: 1 }\n",
			up.Addr))
		cl := dial(t, addr)
		for i := 0; i < 5; i++ {
			if resp, _ := cl.get("/"); resp.StatusCode != 500 {
				t.Fatalf("request %d: status %d, want the upstream's 500", i, resp.StatusCode)
			}
		}
		// Open: the gateway answers without asking the upstream.
		seen := up.requests.Load()
		resp, _ := cl.get("/")
		if resp.StatusCode != 503 || up.requests.Load() != seen {
			t.Fatalf("open breaker: status %d, upstream requests %d -> %d; want 503 and none", resp.StatusCode, seen, up.requests.Load())
		}
		failing.Store(false)
		time.Sleep(350 * time.Millisecond)
		// Half-open: one probe reaches the upstream, succeeds and closes the breaker.
		if resp, _ := cl.get("/"); resp.StatusCode != 200 {
			t.Fatalf("probe: status %d, want 200", resp.StatusCode)
		}
		for i := 0; i < 5; i++ {
			if resp, _ := cl.get("/"); resp.StatusCode != 200 {
				t.Fatalf("after closing, request %d: status %d", i, resp.StatusCode)
			}
		}
		var path []string
		trs, _, _ := g.res.transitions(0, nil)
		for _, tr := range trs {
			path = append(path, tr.To.String())
		}
		if fmt.Sprint(path) != fmt.Sprint([]string{lb.Open.String(), lb.HalfOpen.String(), lb.Closed.String()}) {
			t.Fatalf("transitions %v", path)
		}
	})
}

func TestUnhealthyTargetGetsNoTraffic(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		var sick atomic.Bool
		var served atomic.Int64
		flaky := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" {
				if sick.Load() {
					w.WriteHeader(503)
				}
				return
			}
			served.Add(1)
			io.WriteString(w, "flaky")
		}))
		steady := startHTTPUpstream(t, okHandler("steady"))
		g, addr := startGateway(t, engine, oneUpstream(
			"    health_check: { path: /healthz, interval: 50ms, timeout: 45ms, healthy_threshold: 1, unhealthy_threshold: 2 }\n    panic_threshold: 0\n",
			flaky.Addr, steady.Addr))
		sick.Store(true)
		waitFor(t, "the check to fail the target", func() bool {
			for _, st := range g.res.targetStats("u") {
				if st.Addr == flaky.Addr {
					return !st.Healthy
				}
			}
			return false
		})
		before := served.Load()
		cl := &http.Client{Timeout: 5 * time.Second}
		for i := 0; i < 30; i++ {
			if got := getBody(cl, addr); got != "steady" {
				t.Fatalf("request %d: %q, want the healthy target", i, got)
			}
		}
		if served.Load() != before {
			t.Fatalf("the unhealthy target served %d requests", served.Load()-before)
		}
		sick.Store(false)
		waitFor(t, "traffic to return to the recovered target", func() bool { return getBody(cl, addr) == "flaky" })
	})
}

// TestRetryBackoffIsNotRoundedUpToTheSweep sends a request to a lone target that refuses
// connections, with four retries after a 1-2 ms backoff each. The loop's deadline sweep runs
// every 100 ms, so served by it alone the four backoffs would take at least 300 ms (each
// retry waiting for the next sweep); served at their deadlines they take a few ms, and the
// 502 comes well inside 250 ms even on a loaded machine.
func TestRetryBackoffIsNotRoundedUpToTheSweep(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		refused := freePort(t) // nothing listens there
		_, addr := startGateway(t, engine, oneUpstream(
			"    retries: 4\n    retry_backoff: { base: 1ms, max: 2ms }\n    retry_budget: { percent: 100 }\n",
			refused))
		c := dial(t, addr)
		start := time.Now()
		resp, _ := c.get("/r")
		took := time.Since(start)
		if resp.StatusCode != 502 {
			t.Fatalf("status %d, want 502 from a refusing target", resp.StatusCode)
		}
		if took > 250*time.Millisecond {
			t.Fatalf("four 1-2 ms backoffs took %v: the retries waited for the 100 ms sweep", took)
		}
	})
}
