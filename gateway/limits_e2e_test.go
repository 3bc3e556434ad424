package gateway

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/config"
)

// limitedRoute is the YAML for upstream "u" and one route applying the given
// route fields (limits, concurrency), with extra top-level sections first.
func limitedRoute(top, upstreamExtra, routeExtra, target string) string {
	return top + "upstreams:\n  u:\n    targets:\n      - address: " + target + "\n" + upstreamExtra +
		"routes:\n  - name: api\n    match: { path_prefix: / }\n    upstream: u\n" + routeExtra
}

func TestLimitsClientOverItsLimitGets429WithHeadersOthersUnaffected(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		top := "limits:\n  per_key:\n    key: header:X-Api-Key\n    windows:\n      - rate: 3/min\n"
		_, addr := startGateway(t, engine, limitedRoute(top, "", "    limits: [per_key]\n", up.Addr))
		c := dial(t, addr)
		req := func(key string) *http.Response {
			c.send("GET /x HTTP/1.1\r\nHost: h\r\nX-Api-Key: " + key + "\r\n\r\n")
			resp, _ := c.read("GET")
			return resp
		}
		for i := 0; i < 3; i++ {
			resp := req("alice")
			if resp.StatusCode != 200 {
				t.Fatalf("alice request %d: %d", i, resp.StatusCode)
			}
			if got, want := resp.Header.Get("RateLimit-Policy"), `"per_key";q=3;w=60`; got != want {
				t.Fatalf("RateLimit-Policy %q, want %q", got, want)
			}
			if got, want := resp.Header.Get("RateLimit"), fmt.Sprintf(`"per_key";r=%d;t=`, 2-i); !strings.HasPrefix(got, want) {
				t.Fatalf("RateLimit %q, want prefix %q", got, want)
			}
		}
		resp := req("alice")
		if resp.StatusCode != 429 {
			t.Fatalf("alice over the limit: %d", resp.StatusCode)
		}
		ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
		if err != nil || ra < 19 || ra > 20 {
			t.Fatalf("Retry-After %q, want 20 (one unit of 3/min)", resp.Header.Get("Retry-After"))
		}
		if got := resp.Header.Get("RateLimit"); got != fmt.Sprintf(`"per_key";r=0;t=%d`, ra) {
			t.Fatalf("refusal RateLimit %q", got)
		}
		if resp.Header.Get("RateLimit-Policy") != `"per_key";q=3;w=60` {
			t.Fatalf("refusal RateLimit-Policy %q", resp.Header.Get("RateLimit-Policy"))
		}
		if !strings.Contains(resp.Header.Get("X-Sluice-Error"), "rate limited") {
			t.Fatalf("X-Sluice-Error %q", resp.Header.Get("X-Sluice-Error"))
		}
		if resp := req("bob"); resp.StatusCode != 200 {
			t.Fatalf("bob was limited with alice: %d", resp.StatusCode)
		}
		// The connection stays usable after a 429.
		if resp := req("alice"); resp.StatusCode != 429 {
			t.Fatalf("alice again: %d", resp.StatusCode)
		}
		if got := up.requests.Load(); got != 4 {
			t.Fatalf("upstream saw %d requests, want the 4 admitted ones", got)
		}
	})
}

func TestLimitsShadowModeCountsButNeverAnswers(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		top := "limits:\n  trial:\n    key: client_ip\n    shadow: true\n    windows:\n      - rate: 1/min\n"
		g, addr := startGateway(t, engine, limitedRoute(top, "", "    limits: [trial]\n", up.Addr))
		c := dial(t, addr)
		for i := 0; i < 5; i++ {
			resp, _ := c.get("/x")
			if resp.StatusCode != 200 || resp.Header.Get("RateLimit") != "" {
				t.Fatalf("request %d: %d RateLimit %q", i, resp.StatusCode, resp.Header.Get("RateLimit"))
			}
		}
		if got := up.requests.Load(); got != 5 {
			t.Fatalf("upstream saw %d, want 5", got)
		}
		st := g.LimitStats()
		if len(st) != 1 || st[0].Name != "trial" || st[0].Kind != "rate" || len(st[0].Windows) != 1 || st[0].Windows[0].ShadowRejected != 4 || st[0].Windows[0].Rejected != 0 {
			t.Fatalf("limit stats %+v", st)
		}
	})
}

func TestLimitsRouteConcurrencyAnswers503OverTheCap(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		release := make(chan struct{})
		entered := make(chan struct{}, 8)
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			entered <- struct{}{}
			select {
			case <-release:
			case <-time.After(5 * time.Second):
			}
		}))
		_, addr := startGateway(t, engine, limitedRoute("", "", "    concurrency: { max_in_flight: 2 }\n", up.Addr))
		var wg sync.WaitGroup
		codes := make(chan int, 2)
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := dial(t, addr)
				resp, _ := c.get("/slow")
				codes <- resp.StatusCode
			}()
		}
		for i := 0; i < 2; i++ {
			select {
			case <-entered:
			case <-time.After(5 * time.Second):
				t.Fatal("slow requests never reached the upstream")
			}
		}
		c := dial(t, addr)
		resp, _ := c.get("/third")
		if resp.StatusCode != 503 || !strings.Contains(resp.Header.Get("X-Sluice-Error"), "concurrency limit") {
			t.Fatalf("third request: %d %q", resp.StatusCode, resp.Header.Get("X-Sluice-Error"))
		}
		close(release)
		wg.Wait()
		close(codes)
		for code := range codes {
			if code != 200 {
				t.Fatalf("slow request: %d", code)
			}
		}
		// Slots are free again once the exchanges ended.
		if resp, _ := c.get("/after"); resp.StatusCode != 200 {
			t.Fatalf("after release: %d", resp.StatusCode)
		}
		if got := up.requests.Load(); got != 3 {
			t.Fatalf("upstream saw %d requests, want 3 (the refused one never reached it)", got)
		}
	})
}

func TestLimitsUpstreamConcurrencyCapsEveryRoute(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		release := make(chan struct{})
		entered := make(chan struct{}, 8)
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				entered <- struct{}{}
				select {
				case <-release:
				case <-time.After(5 * time.Second):
				}
			}
		}))
		body := "upstreams:\n  u:\n    targets:\n      - address: " + up.Addr + "\n    concurrency: { max_in_flight: 1 }\n" +
			"routes:\n  - match: { path_prefix: /slow }\n    upstream: u\n  - match: { path_prefix: / }\n    upstream: u\n"
		_, addr := startGateway(t, engine, body)
		done := make(chan int, 1)
		go func() {
			c := dial(t, addr)
			resp, _ := c.get("/slow")
			done <- resp.StatusCode
		}()
		select {
		case <-entered:
		case <-time.After(5 * time.Second):
			t.Fatal("slow request never reached the upstream")
		}
		c := dial(t, addr)
		if resp, _ := c.get("/other"); resp.StatusCode != 503 {
			t.Fatalf("other route while the upstream is at its cap: %d", resp.StatusCode)
		}
		close(release)
		if code := <-done; code != 200 {
			t.Fatalf("slow request: %d", code)
		}
		if resp, _ := c.get("/other"); resp.StatusCode != 200 {
			t.Fatalf("after release: %d", resp.StatusCode)
		}
	})
}

func TestLimitsReloadKeepsStateOfUnchangedLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		top := "limits:\n  per_key:\n    key: header:X-Api-Key\n    windows:\n      - rate: 2/min\n"
		g, addr := startGateway(t, engine, limitedRoute(top, "", "    limits: [per_key]\n", up.Addr))
		c := dial(t, addr)
		req := func() int {
			c.send("GET /x HTTP/1.1\r\nHost: h\r\nX-Api-Key: alice\r\n\r\n")
			resp, _ := c.read("GET")
			return resp.StatusCode
		}
		if req() != 200 || req() != 200 || req() != 429 {
			t.Fatal("limit not enforced before the reload")
		}
		reload := func(body string) {
			t.Helper()
			src := fmt.Sprintf("engine: %s\nloops: 1\nlisten:\n  - address: %s\nadmin:\n  address: \"off\"\n%s", engine, addr, body)
			cfg, err := config.Parse("reload.yaml", []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.Reload(cfg); err != nil {
				t.Fatal(err)
			}
		}
		reload(limitedRoute(top, "", "    limits: [per_key]\n", up.Addr))
		if got := req(); got != 429 {
			t.Fatalf("an unchanged limit was reset by the reload: %d", got)
		}
		reload(limitedRoute(strings.Replace(top, "2/min", "3/min", 1), "", "    limits: [per_key]\n", up.Addr))
		if got := req(); got != 200 {
			t.Fatalf("a changed limit kept the old state: %d", got)
		}
	})
}

func TestLimitsAdaptiveConcurrencyServesAndReportsItsLimit(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		upExtra := "    adaptive_concurrency:\n      initial_limit: 8\n      min_limit: 2\n      max_limit: 16\n      window: 10ms\n      min_samples: 2\n"
		g, addr := startGateway(t, engine, limitedRoute("", upExtra, "", up.Addr))
		c := dial(t, addr)
		for i := 0; i < 20; i++ {
			if resp, _ := c.get("/x"); resp.StatusCode != 200 {
				t.Fatalf("request %d: %d", i, resp.StatusCode)
			}
		}
		// The loop releases the slot after writing the answer, so the client can read the
		// 20th answer a moment before its request is counted out.
		var st []LimitStat
		for end := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			st = g.LimitStats()
			if len(st) == 1 && st[0].InFlight != nil && st[0].InFlight.InFlight == 0 || time.Now().After(end) {
				break
			}
		}
		if len(st) != 1 || st[0].Kind != "concurrency" || st[0].Name != "upstream u" || st[0].InFlight.Admitted != 20 || st[0].InFlight.InFlight != 0 {
			t.Fatalf("stats %+v, in flight %+v", st, st[0].InFlight)
		}
		if l := st[0].InFlight.Limit; l < 2 || l > 16 {
			t.Fatalf("adaptive limit %d outside [2, 16]", l)
		}
	})
}
