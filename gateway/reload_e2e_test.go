package gateway

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/config"
)

// TestReloadUnderLoadDropsNothing reloads the configuration every 100 ms, good and bad versions
// alternating, while keep-alive clients send a steady load; not one request may fail, and every
// good reload must be in force afterwards.
func TestReloadUnderLoadDropsNothing(t *testing.T) {
	const loadFor = 4 * time.Second
	if testing.Short() {
		t.Skip("runs for seconds")
	}
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Seen-Tag", r.Header.Get("X-Tag"))
		}))
		body := func(tag int) string {
			return fmt.Sprintf(`upstreams:
  u:
    targets: [{address: %s}]
routes:
  - match: { path_prefix: / }
    upstream: u
    request_headers: { set: { X-Tag: "v%d" } }
`, up.Addr, tag)
		}
		g, addr := startGateway(t, engine, body(0))
		cfg0 := g.Config()

		var ok, failed atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := dial(t, addr)
				for {
					select {
					case <-stop:
						return
					default:
					}
					c.send("GET /r HTTP/1.1\r\nHost: t\r\n\r\n")
					resp, err := http.ReadResponse(c.br, nil)
					if err != nil || resp.StatusCode != 200 {
						failed.Add(1)
						return
					}
					resp.Body.Close()
					ok.Add(1)
					time.Sleep(2 * time.Millisecond)
				}
			}()
		}
		deadline := time.Now().Add(loadFor)
		good, refused, lastGood := 0, 0, 0
		for tag := 1; time.Now().Before(deadline); tag++ {
			time.Sleep(100 * time.Millisecond)
			if tag%2 == 0 {
				// A bad configuration: two identical routes are refused by the router.
				bad, err := config.Parse("bad.yaml", []byte(fmt.Sprintf("engine: %s\nloops: 1\nlisten:\n  - address: %s\nadmin:\n  address: \"off\"\n%s", engine, cfg0.Listen[0].Address, body(tag)+"  - match: { path_prefix: / }\n    upstream: u\n")))
				if err == nil {
					err = g.Reload(bad)
				}
				if err == nil {
					t.Fatal("a configuration with a duplicate route was accepted")
				}
				refused++
				continue
			}
			next, err := config.Parse("next.yaml", []byte(fmt.Sprintf("engine: %s\nloops: 1\nlisten:\n  - address: %s\nadmin:\n  address: \"off\"\n%s", engine, cfg0.Listen[0].Address, body(tag))))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Reload(next); err != nil {
				t.Fatalf("reload %d: %v", tag, err)
			}
			good++
			lastGood = tag
		}
		close(stop)
		wg.Wait()
		if failed.Load() != 0 || ok.Load() < 100 {
			t.Fatalf("%d requests failed, %d succeeded across %d reloads and %d refusals", failed.Load(), ok.Load(), good, refused)
		}
		c := dial(t, addr)
		resp, _ := c.get("/after")
		if want := fmt.Sprintf("v%d", lastGood); resp.Header.Get("X-Seen-Tag") != want {
			t.Fatalf("after the reloads the upstream saw tag %q, want %q", resp.Header.Get("X-Seen-Tag"), want)
		}
		t.Logf("%d requests, %d good reloads, %d refused", ok.Load(), good, refused)
	})
}

// TestRefusedReloadLeavesBalancingAlone: a reload refused for a bad upstream TLS file must not
// have changed the balancer's membership on its way (it removed a target here).
func TestRefusedReloadLeavesBalancingAlone(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		var hits [2]atomic.Int64
		a := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[0].Add(1) }))
		b := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits[1].Add(1) }))
		body := func(targets, extra string) string {
			return fmt.Sprintf("upstreams:\n  u:\n    balancer: round_robin\n    targets: [%s]\n  other:\n    targets: [{address: %s}]\n%sroutes:\n  - match: { path_prefix: / }\n    upstream: u\n", targets, a.Addr, extra)
		}
		both := fmt.Sprintf("{address: %s}, {address: %s}", a.Addr, b.Addr)
		g, addr := startGateway(t, engine, body(both, ""))
		cfg0 := g.Config()
		bad, err := config.Parse("bad.yaml", []byte(fmt.Sprintf("engine: %s\nloops: 1\nlisten:\n  - address: %s\nadmin:\n  address: \"off\"\n%s", engine, cfg0.Listen[0].Address,
			body(fmt.Sprintf("{address: %s}", a.Addr), "    tls: { ca: /nonexistent/ca.pem }\n"))))
		if err == nil {
			err = g.Reload(bad)
		}
		if err == nil {
			t.Fatal("a reload with a missing CA file was accepted")
		}
		c := dial(t, addr)
		for i := 0; i < 10; i++ {
			if resp, _ := c.get("/r"); resp.StatusCode != 200 {
				t.Fatalf("request %d: %d", i, resp.StatusCode)
			}
		}
		if hits[0].Load() == 0 || hits[1].Load() == 0 {
			t.Fatalf("after a refused reload the targets got %d and %d requests: one was dropped", hits[0].Load(), hits[1].Load())
		}
	})
}

// TestReusedTargetIDNeverReachesTheOldAddress replaces target a by c, ages a's retired ID past
// the quarantine, then configures b, which takes a's ID. The loop's pool for that ID still
// holds an idle keep-alive connection to a; b's requests must not ride it.
func TestReusedTargetIDNeverReachesTheOldAddress(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		named := func(name string) *countingServer {
			return startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Served-By", name)
			}))
		}
		a, b, c := named("a"), named("b"), named("c")
		g, addr := startGateway(t, engine, oneUpstream("", a.Addr))
		listen := g.Config().Listen[0].Address
		reload := func(target string) {
			t.Helper()
			next, err := config.Parse("next.yaml", []byte(fmt.Sprintf("engine: %s\nloops: 1\nlisten:\n  - address: %s\nadmin:\n  address: \"off\"\n%s", engine, listen, oneUpstream("", target))))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Reload(next); err != nil {
				t.Fatal(err)
			}
		}
		servedBy := func() string {
			t.Helper()
			resp, _ := dial(t, addr).get("/who")
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			return resp.Header.Get("X-Served-By")
		}
		if got := servedBy(); got != "a" {
			t.Fatalf("served by %q, want a", got)
		}
		idA := g.ids.id(a.Addr)
		reload(c.Addr)
		g.ids.mu.Lock()
		for i := range g.ids.retired {
			g.ids.retired[i].at = g.ids.retired[i].at.Add(-idQuarantine)
		}
		g.ids.mu.Unlock()
		reload(b.Addr)
		if idB := g.ids.id(b.Addr); idB != idA {
			t.Fatalf("b got ID %d, want a's retired %d reused", idB, idA)
		}
		for i := 0; i < 3; i++ {
			if got := servedBy(); got != "b" {
				t.Fatalf("request %d served by %q, want b: a reused ID reached the old address", i, got)
			}
		}
		if n := a.requests.Load(); n != 1 {
			t.Fatalf("a served %d requests, want only the first", n)
		}
	})
}
