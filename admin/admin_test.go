package admin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/gateway"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/metrics"
	"github.com/sluice-gw/sluice/policy/redis"
)

func TestMetricsCountKnownTraffic(t *testing.T) {
	b := newBed(t, "")
	b.get(t, "/api/ok", 20)
	b.get(t, "/api/missing", 5)
	b.get(t, "/api/broken", 3)
	b.get(t, "/flaky/x", 2)   // connection refused: 502 made by the gateway
	b.get(t, "/elsewhere", 4) // no route: 404
	want := map[string]string{
		`sluice_requests_total{route="api"}`:                                                    "28",
		`sluice_responses_total{route="api",class="2xx"}`:                                       "20",
		`sluice_responses_total{route="api",class="4xx"}`:                                       "5",
		`sluice_responses_total{route="api",class="5xx"}`:                                       "3",
		`sluice_requests_total{route="flaky"}`:                                                  "2",
		`sluice_responses_total{route="flaky",class="5xx"}`:                                     "2",
		`sluice_requests_total{route="(none)"}`:                                                 "4",
		`sluice_responses_total{route="(none)",class="4xx"}`:                                    "4",
		fmt.Sprintf(`sluice_upstream_requests_total{upstream="api",target=%q}`, b.good):         "28",
		fmt.Sprintf(`sluice_upstream_errors_total{upstream="api",target=%q}`, b.good):           "0",
		fmt.Sprintf(`sluice_upstream_errors_total{upstream="flaky",target=%q}`, b.dead):         "2",
		fmt.Sprintf(`sluice_upstream_duration_seconds_count{upstream="api",target=%q}`, b.good): "28",
		fmt.Sprintf(`sluice_upstream_pool_idle{upstream="api",target=%q}`, b.good):              "1",
		`sluice_request_duration_seconds_count{route="api"}`:                                    "28",
		`sluice_config_version`:                                                                 "1",
	}
	eventually(t, "metrics after known traffic", func() (bool, string) {
		code, body := b.call(t, "GET", "/metrics", "")
		if code != 200 {
			return false, fmt.Sprint("status ", code)
		}
		for k, v := range want {
			if got, ok := seriesValue(body, k); !ok || got != v {
				return false, fmt.Sprintf("%s = %q (present %v), want %s", k, got, ok, v)
			}
		}
		return true, ""
	})
}

func TestTokenIsRequiredWhenSet(t *testing.T) {
	b := newBed(t, "s3cret")
	for _, p := range []string{"/metrics", "/api/v1/stats", "/api/v1/upstreams"} {
		if code, _ := b.call(t, "GET", p, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d", p, code)
		}
		if code, _ := b.call(t, "GET", p, "wrong"); code != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d", p, code)
		}
		if code, _ := b.call(t, "GET", p, "s3cret"); code != http.StatusOK {
			t.Errorf("%s with the token: %d", p, code)
		}
	}
	code, _ := b.call(t, "POST", fmt.Sprintf("/api/v1/upstreams/api/targets/%s/drain", b.good), "")
	if code != http.StatusUnauthorized || b.g.Upstreams()[0].Targets[0].Draining.Load() {
		t.Fatal("drain without a token went through")
	}
}

func TestNonLoopbackAddressNeedsAToken(t *testing.T) {
	b := newBed(t, "")
	_, err := Listen(Options{Address: "0.0.0.0:0", Gateway: b.g, Metrics: b.m})
	if !errors.Is(err, ErrNeedToken) {
		t.Fatalf("err = %v", err)
	}
	s, err := Listen(Options{Address: "0.0.0.0:0", Token: "t", Gateway: b.g, Metrics: b.m})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Listen(Options{Address: "127.0.0.1:0"}); !errors.Is(err, ErrOptions) {
		t.Fatalf("missing gateway: %v", err)
	}
}

func TestDrainAndUndrainChangeTheTarget(t *testing.T) {
	b := newBed(t, "")
	target := b.g.Upstreams()[0].Targets[0]
	code, body := b.call(t, "POST", fmt.Sprintf("/api/v1/upstreams/api/targets/%s/drain", b.good), "")
	if code != 200 || !target.Draining.Load() {
		t.Fatalf("drain: %d %s draining=%v", code, body, target.Draining.Load())
	}
	var ar ActionResult
	if err := json.Unmarshal([]byte(body), &ar); err != nil || !ar.OK || !ar.Changed || ar.State != StateDraining {
		t.Fatalf("%s %v", body, err)
	}
	// A drained target gets no new requests: the only target of "api" is gone, so 503.
	resp, err := http.Get("http://" + b.proxy + "/api/ok")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("request to a drained upstream: %d", resp.StatusCode)
	}
	if code, body := b.call(t, "POST", fmt.Sprintf("/api/v1/upstreams/api/targets/%s/drain", b.good), ""); code != 200 || strings.Contains(body, `"changed": true`) {
		t.Fatalf("second drain: %d %s", code, body)
	}
	if code, _ := b.call(t, "POST", fmt.Sprintf("/api/v1/upstreams/api/targets/%s/undrain", b.good), ""); code != 200 || target.Draining.Load() {
		t.Fatal("undrain did not clear Draining")
	}
	if code, _ := b.call(t, "POST", "/api/v1/upstreams/api/targets/127.0.0.1:1/drain", ""); code != 404 {
		t.Fatalf("unknown target: %d", code)
	}
	if code, _ := b.call(t, "POST", fmt.Sprintf("/api/v1/upstreams/api/targets/%s/explode", b.good), ""); code != 404 {
		t.Fatalf("unknown action: %d", code)
	}
	if code, _ := b.call(t, "GET", fmt.Sprintf("/api/v1/upstreams/api/targets/%s/drain", b.good), ""); code != http.StatusMethodNotAllowed {
		t.Fatalf("GET of an action: %d", code)
	}
	ev := b.m.Events(0, 0)
	if len(ev) != 2 || ev[0].Detail != "drained by an operator" || ev[1].Detail != "undrained by an operator" {
		t.Fatalf("events %+v", ev)
	}
}

func TestDrainSurvivesReload(t *testing.T) {
	b := newBed(t, "")
	if _, err := b.g.SetDraining("api", b.good, true); err != nil {
		t.Fatal(err)
	}
	if code, body := b.call(t, "POST", "/api/v1/reload", ""); code != 200 {
		t.Fatalf("reload: %d %s", code, body)
	}
	if !b.g.Upstreams()[0].Targets[0].Draining.Load() {
		t.Fatal("the reload undrained the target")
	}
}

func TestReloadAppliesAGoodFileAndRefusesABadOne(t *testing.T) {
	b := newBed(t, "")
	code, body := b.call(t, "POST", "/api/v1/reload", "")
	var ar ActionResult
	if err := json.Unmarshal([]byte(body), &ar); err != nil || code != 200 || !ar.OK || ar.Version != 2 {
		t.Fatalf("good reload: %d %s", code, body)
	}
	if err := os.WriteFile(b.file, []byte("listen: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, body = b.call(t, "POST", "/api/v1/reload", "")
	ar = ActionResult{}
	if err := json.Unmarshal([]byte(body), &ar); err != nil || code != http.StatusUnprocessableEntity || ar.OK || ar.Error == "" || ar.Version != 2 {
		t.Fatalf("bad reload: %d %s", code, body)
	}
	if b.g.Version() != 2 {
		t.Fatalf("version %d after a refused reload", b.g.Version())
	}
	_, m := b.call(t, "GET", "/metrics", "")
	if v, _ := seriesValue(m, `sluice_reloads_total{result="ok"}`); v != "1" {
		t.Fatalf("ok reloads %q", v)
	}
	if v, _ := seriesValue(m, `sluice_reloads_total{result="error"}`); v != "1" {
		t.Fatalf("refused reloads %q", v)
	}
	var ev []Event
	_, body = b.call(t, "GET", "/api/v1/events/recent", "")
	if err := json.Unmarshal([]byte(body), &ev); err != nil || len(ev) != 2 || ev[0].Kind != "reload" || ev[1].Level != "error" {
		t.Fatalf("events %s", body)
	}
	b.m.Tick(time.Now())
	st, err := NewClient(b.admin, "").Stats(context.Background())
	if err != nil || st.LastReload == nil || st.LastReload.OK || st.ConfigVersion != 2 {
		t.Fatalf("stats %+v %v", st.LastReload, err)
	}
}

func TestStatsDescribeRoutesAndUpstreams(t *testing.T) {
	b := newBed(t, "")
	b.get(t, "/api/ok", 10)
	b.get(t, "/flaky/", 3)
	eventually(t, "counted", func() (bool, string) {
		_, body := b.call(t, "GET", "/metrics", "")
		v, _ := seriesValue(body, `sluice_requests_total{route="flaky"}`)
		return v == "3", body
	})
	b.m.Tick(time.Now())
	c := NewClient(b.srv.Addr().String(), "")
	st, err := c.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Instance != "test" || st.ConfigVersion != 1 || st.Requests != 13 || len(st.Routes) != 3 || len(st.Upstreams) != 3 {
		t.Fatalf("%+v", st)
	}
	if r := st.Routes[0]; r.Name != "api" || r.Match != "/api/" || r.Upstream != "api" || r.Requests != 10 || r.RPS <= 0 {
		t.Fatalf("route %+v", r)
	}
	flaky := st.Upstreams[1].Targets[0]
	// Three connect failures in a row: the metrics see it failing, outlier detection ejects it.
	if st.Upstreams[1].Name != "flaky" || flaky.Addr != b.dead || !flaky.Failing || flaky.State != StateEjected || !flaky.Ejected || flaky.TimesEjected != 1 || flaky.EjectedForMs <= 0 || flaky.Errors != 3 {
		t.Fatalf("flaky target %+v", flaky)
	}
	api := st.Upstreams[0].Targets[0]
	if api.State != StateUp || api.EWMAMs <= 0 || api.PoolIdle != 1 || api.Weight != 1 {
		t.Fatalf("api target %+v", api)
	}
	ups, err := c.Upstreams(context.Background())
	if err != nil || len(ups) != 3 {
		t.Fatalf("%v %v", ups, err)
	}
	if _, err := c.TargetAction(context.Background(), "flaky", b.dead, "reset"); err != nil {
		t.Fatal(err)
	}
	b.m.Tick(time.Now())
	st, _ = c.Stats(context.Background())
	if tg := st.Upstreams[1].Targets[0]; tg.Failing || tg.Consecutive != 0 {
		t.Fatalf("reset did not clear the failing state: %+v", tg)
	}
	eventually(t, "an ejection event", func() (bool, string) {
		for _, e := range b.m.Events(0, 0) {
			if e.Kind == metrics.EventEject && e.Subject == "flaky/"+b.dead && strings.Contains(e.Detail, "ejected by outlier detection") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", b.m.Events(0, 0))
	})
	_, body := b.call(t, "GET", "/api/v1/limits", "")
	var lim Limits
	if err := json.Unmarshal([]byte(body), &lim); err != nil || len(lim.Routes) != 3 {
		t.Fatalf("limits %s", body)
	}
}

func TestStreamCarriesAggregatesTailAndEvents(t *testing.T) {
	b := newBed(t, "")
	b.run(t)
	c := NewClient(b.admin, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	frames := make(chan Frame, 64)
	done := make(chan error, 1)
	go func() { done <- c.Stream(ctx, 5*time.Second, func(f Frame) { frames <- f }) }()
	stop := time.Now().Add(2500 * time.Millisecond)
	for time.Now().Before(stop) {
		b.get(t, "/api/ok", 20)
		b.get(t, "/flaky/", 1)
	}
	var sawRPS, sawTail, sawErrTail, sawEvent bool
	for !(sawRPS && sawTail && sawErrTail && sawEvent) {
		select {
		case f := <-frames:
			sawRPS = sawRPS || f.Stats.RPS > 0 && f.Stats.ErrorRate > 0
			for _, e := range f.Tail {
				sawTail = sawTail || e.Path == "/api/ok" && e.Status == 200 && e.Target == b.good
				sawErrTail = sawErrTail || e.Status == 502 && e.Error != ""
			}
			for _, e := range f.Events {
				sawEvent = sawEvent || (e.Kind == "health" || e.Kind == "eject") && strings.Contains(e.Subject, b.dead)
			}
		case err := <-done:
			t.Fatalf("stream ended: %v", err)
		case <-ctx.Done():
			t.Fatalf("rps %v tail %v errors %v event %v", sawRPS, sawTail, sawErrTail, sawEvent)
		}
	}
	cancel()
	<-done
}

func TestStreamEndsWhenTheServerCloses(t *testing.T) {
	b := newBed(t, "")
	b.run(t)
	c := NewClient(b.admin, "")
	got := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- c.Stream(context.Background(), 5*time.Second, func(Frame) {
			select {
			case got <- struct{}{}:
			default:
			}
		})
	}()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("no first frame")
	}
	b.srv.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("nil error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end")
	}
}

func TestBreakerStateCountdownAndEvents(t *testing.T) {
	b := newBed(t, "")
	b.get(t, "/errs/x", 12) // 500s: the breaker (min 5 results, 50%) opens, then refuses
	var bal []gateway.TargetBalance
	eventually(t, "the breaker open", func() (bool, string) {
		bal = b.g.Balance("errs")
		return len(bal) == 1 && bal[0].Breaker == "open", fmt.Sprintf("%+v", bal)
	})
	if bal[0].BreakerOpenFor < 5*time.Second || bal[0].BreakerOpenFor > 10*time.Second { // opened a moment ago, for 10s
		t.Fatalf("open for %v", bal[0].BreakerOpenFor)
	}
	b.m.Tick(time.Now())
	st, err := NewClient(b.admin, "").Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tg := st.Upstreams[2].Targets[0]
	if tg.State != StateOpen || tg.Breaker != "open" || tg.BreakerOpenForMs <= 0 {
		t.Fatalf("%+v", tg)
	}
	_, body := b.call(t, "GET", "/metrics", "")
	if v, _ := seriesValue(body, fmt.Sprintf(`sluice_upstream_breaker_state{upstream="errs",target=%q}`, b.good)); v != "1" {
		t.Fatalf("breaker gauge %q", v)
	}
	if _, ok := seriesValue(body, fmt.Sprintf(`sluice_upstream_breaker_state{upstream="api",target=%q}`, b.good)); ok {
		t.Fatal("a breaker gauge for an upstream without a breaker")
	}
	if v, _ := seriesValue(body, `sluice_responses_total{route="errs",class="5xx"}`); v != "12" {
		t.Fatalf("5xx of errs %q", v)
	}
	eventually(t, "a breaker event", func() (bool, string) {
		for _, e := range b.m.Events(0, 0) {
			if e.Kind == metrics.EventBreaker && e.Subject == b.good && e.Detail == "closed → open" && e.Level == metrics.LevelError {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", b.m.Events(0, 0))
	})
}

// TestDistinctPathsThroughTheGatewayAddNoSeries is the end-to-end half of the metrics
// package's 100,000-path test: distinct paths, methods and bad requests through a real
// gateway leave the set of series as it was.
func TestDistinctPathsThroughTheGatewayAddNoSeries(t *testing.T) {
	b := newBed(t, "")
	b.get(t, "/api/ok", 1)
	b.get(t, "/nowhere", 1)
	series := func() map[string]bool {
		_, body := b.call(t, "GET", "/metrics", "")
		out := map[string]bool{}
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, "sluice_") {
				out[line[:strings.LastIndexByte(line, ' ')]] = true
			}
		}
		return out
	}
	eventually(t, "the warm-up counted", func() (bool, string) {
		_, body := b.call(t, "GET", "/metrics", "")
		v, _ := seriesValue(body, `sluice_requests_total{route="(none)"}`)
		return v == "1", v
	})
	before := series()
	cl := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 2000; i++ {
		method := []string{"GET", "POST", "PUT", "X-CUSTOM"}[i%4]
		req, _ := http.NewRequest(method, fmt.Sprintf("http://%s/%s/p%d?q=%d", b.proxy, []string{"api", "elsewhere"}[i%2], i, i), nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	eventually(t, "the traffic counted", func() (bool, string) {
		_, body := b.call(t, "GET", "/metrics", "")
		v, _ := seriesValue(body, `sluice_requests_total{route="(none)"}`)
		return v == "1001", v
	})
	after := series()
	for s := range after {
		if !before[s] && !strings.Contains(s, "_bucket{") { // histograms fill new vmrange buckets
			t.Errorf("new series %s", s)
		}
	}
	if len(after) > len(before)+200 {
		t.Fatalf("series grew from %d to %d", len(before), len(after))
	}
}

func TestResetClosesAnOpenBreaker(t *testing.T) {
	b := newBed(t, "")
	b.get(t, "/errs/x", 12)
	eventually(t, "the breaker open", func() (bool, string) {
		bal := b.g.Balance("errs")
		return len(bal) == 1 && bal[0].Breaker == "open", fmt.Sprintf("%+v", bal)
	})
	code, body := b.call(t, "POST", fmt.Sprintf("/api/v1/upstreams/errs/targets/%s/reset", b.good), "")
	if code != 200 || !strings.Contains(body, `"changed": true`) {
		t.Fatalf("reset: %d %s", code, body)
	}
	if bal := b.g.Balance("errs"); bal[0].Breaker != "closed" {
		t.Fatalf("after reset the breaker is %q", bal[0].Breaker)
	}
	if code, _ := b.call(t, "POST", "/api/v1/upstreams/errs/targets/127.0.0.1:1/reset", ""); code != 404 {
		t.Fatalf("reset of an unknown target: %d", code)
	}
}

func TestLimitFiltersConvertEveryKind(t *testing.T) {
	in := []gateway.LimitStat{
		{Name: "per_key", Kind: "rate", Windows: []gateway.WindowStat{{Policy: "10/1s burst 10", Rejected: 3}}, Table: &limits.TableStats{Keys: 4, Untracked: 1}},
		{Name: "global", Kind: "redis", Redis: &redis.Stats{Up: false, Errors: 2, FailedClosed: 5, Keys: 1}},
		{Name: "route api", Kind: "concurrency", InFlight: &limits.ConcurrencyStats{Limit: 8, InFlight: 8, Waiting: 2, Rejected: 1, TimedOut: 1}},
	}
	out := limitFilters(in)
	if len(out) != 3 || out[0].Keys != 4 || out[0].Windows[0].Rejected != 3 || out[0].Untracked != 1 {
		t.Fatalf("rate: %+v", out[0])
	}
	if out[1].RedisUp == nil || *out[1].RedisUp || out[1].RedisErrors != 2 || out[1].FailedClosed != 5 {
		t.Fatalf("redis: %+v", out[1])
	}
	if out[2].Limit != 8 || out[2].Waiting != 2 || out[2].TimedOut != 1 {
		t.Fatalf("concurrency: %+v", out[2])
	}
}

// TestScrapesAreGzippedForClientsThatAskAndPlainOtherwise: /metrics (and the JSON snapshots)
// come gzipped to a client that accepts gzip, plain to one that does not, with the same text.
func TestScrapesAreGzippedForClientsThatAskAndPlainOtherwise(t *testing.T) {
	b := newBed(t, "")
	b.get(t, "/api/ok", 3)
	fetch := func(path string, gz bool) (*http.Response, []byte) {
		req, _ := http.NewRequest("GET", b.admin+path, nil)
		if gz {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		// A transport that does not add Accept-Encoding nor decode by itself.
		resp, err := (&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true}}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	for _, path := range []string{"/metrics", "/api/v1/stats"} {
		plain, pbody := fetch(path, false)
		if plain.StatusCode != 200 || plain.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s without gzip: %d %q", path, plain.StatusCode, plain.Header.Get("Content-Encoding"))
		}
		zipped, zbody := fetch(path, true)
		if len(pbody) < 1<<10 {
			if zipped.Header.Get("Content-Encoding") != "" {
				t.Fatalf("%s: %d bytes were gzipped, below the 1 KiB floor", path, len(pbody))
			}
			continue
		}
		if zipped.StatusCode != 200 || zipped.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("%s with gzip: %d %q", path, zipped.StatusCode, zipped.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(bytes.NewReader(zbody))
		if err != nil {
			t.Fatal(err)
		}
		unzipped, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if len(zbody) >= len(unzipped) {
			t.Fatalf("%s: %d gzipped bytes for %d plain", path, len(zbody), len(unzipped))
		}
		if path == "/metrics" && (!strings.Contains(string(unzipped), "sluice_requests_total") || !strings.Contains(string(pbody), "sluice_requests_total")) {
			t.Fatalf("%s: the series are missing", path)
		}
	}
}
