package gateway

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/lb"
	"github.com/sluice-gw/sluice/proxy"
)

// lbFixture builds snapshots of one upstream "u" into a registry that lives for the test.
type lbFixture struct {
	t   *testing.T
	ids targetIDs
	res resilience
	v   uint64
}

func newLBFixture(t *testing.T) *lbFixture {
	f := &lbFixture{t: t}
	t.Cleanup(f.res.close)
	return f
}

// build parses a configuration with upstream u (extra is YAML under it, indented four spaces)
// and returns the built proxy.Upstream.
func (f *lbFixture) build(extra string, targets ...string) *proxy.Upstream {
	f.t.Helper()
	return f.buildTB(f.t, extra, targets...)
}

func (f *lbFixture) buildTB(tb testing.TB, extra string, targets ...string) *proxy.Upstream {
	tb.Helper()
	yaml := "listen:\n  - address: 127.0.0.1:1\n" + oneUpstream(extra, targets...)
	c, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		tb.Fatalf("config: %v\n%s", err, yaml)
	}
	f.v++
	snap, err := build(c, &f.ids, &f.res, f.v, nil)
	if err != nil {
		tb.Fatal(err)
	}
	ups := upstreamsOf(snap)
	if len(ups) != 1 || ups[0].Balancer == nil {
		tb.Fatalf("upstreams %v, balancer missing", ups)
	}
	return ups[0]
}

func (f *lbFixture) lbTarget(u *proxy.Upstream, addr string) *lb.Target {
	f.t.Helper()
	for _, pt := range u.Targets {
		if pt.Addr == addr {
			return u.Balancer.(*lbBalancer).lbTarget(pt)
		}
	}
	f.t.Fatalf("no target %s", addr)
	return nil
}

func targetByAddr(u *proxy.Upstream, addr string) *proxy.Target {
	for _, pt := range u.Targets {
		if pt.Addr == addr {
			return pt
		}
	}
	return nil
}

// exchange picks and settles one request with outcome o, returning the target.
func exchange(u *proxy.Upstream, o proxy.Outcome) *proxy.Target {
	t := u.Balancer.Pick(lbNow(), 0)
	if t != nil {
		u.Balancer.Done(t, lbNow(), o, int64(time.Millisecond))
	}
	return t
}

const (
	addrA = "127.0.0.1:9001"
	addrB = "127.0.0.1:9002"
	addrC = "127.0.0.1:9003"
)

func TestBalancerSkipsDrainingTargetsBeforeAnySweep(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("", addrA, addrB, addrC)
	targetByAddr(u, addrB).Draining.Store(true)
	for i := 0; i < 300; i++ {
		pt := exchange(u, proxy.OutcomeSuccess)
		if pt == nil || pt.Addr == addrB {
			t.Fatalf("pick %d: %v, want a target that is not draining", i, pt)
		}
	}
}

func TestBalancerCountsInFlightUntilDone(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("    balancer: least_request\n", addrA, addrB)
	var picked []*proxy.Target
	for i := 0; i < 10; i++ {
		picked = append(picked, u.Balancer.Pick(lbNow(), 0))
	}
	la, lbt := f.lbTarget(u, addrA), f.lbTarget(u, addrB)
	if got := la.Inflight() + lbt.Inflight(); got != 10 {
		t.Fatalf("in flight %d after 10 picks, want 10", got)
	}
	if d := la.Inflight() - lbt.Inflight(); d < -1 || d > 1 {
		t.Fatalf("least_request spread %d/%d, want within one", la.Inflight(), lbt.Inflight())
	}
	for _, pt := range picked {
		u.Balancer.Done(pt, lbNow(), proxy.OutcomeAbandoned, 0)
	}
	if la.Inflight() != 0 || lbt.Inflight() != 0 {
		t.Fatalf("in flight %d/%d after Done, want 0", la.Inflight(), lbt.Inflight())
	}
}

func TestConsecutiveConnectFailuresEjectTheTarget(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("    outlier_detection: { consecutive_connect_failures: 2, max_ejection_percent: 50 }\n", addrA, addrB)
	pa := targetByAddr(u, addrA)
	for i := 0; i < 2; i++ {
		u.Balancer.(*lbBalancer).Pick(lbNow(), 0) // keep the round robin moving
		u.Balancer.Done(pa, lbNow(), proxy.OutcomeConnectFailure, 0)
	}
	// Done released two requests never acquired on A; rebalance the counter for the check.
	f.lbTarget(u, addrA).Acquire()
	f.lbTarget(u, addrA).Acquire()
	if !f.lbTarget(u, addrA).Ejected(lbNow()) {
		t.Fatal("A not ejected after 2 connect failures in a row")
	}
	for i := 0; i < 50; i++ {
		if pt := exchange(u, proxy.OutcomeSuccess); pt == nil || pt.Addr != addrB {
			t.Fatalf("pick %d went to %v while A is ejected", i, pt)
		}
	}
}

func TestReloadKeepsStateOfUnchangedTargets(t *testing.T) {
	f := newLBFixture(t)
	extra := "    outlier_detection: { consecutive_5xx: 1, max_ejection_percent: 100 }\n"
	u1 := f.build(extra, addrA, addrB)
	la := f.lbTarget(u1, addrA)
	la.Acquire()
	u1.Balancer.Done(targetByAddr(u1, addrA), lbNow(), proxy.OutcomeError, 0)
	if !la.Ejected(lbNow()) {
		t.Fatal("A not ejected")
	}
	// Reload: B leaves, C joins, A stays.
	u2 := f.build(extra, addrA, addrC)
	if f.lbTarget(u2, addrA) != la {
		t.Fatal("reload replaced A's lb target: its state is lost")
	}
	if !la.Ejected(lbNow()) {
		t.Fatal("A's ejection lost over the reload")
	}
	for i := 0; i < 20; i++ {
		if pt := exchange(u2, proxy.OutcomeSuccess); pt == nil || pt.Addr != addrC {
			t.Fatalf("pick %d: %v, want C (A ejected, B gone)", i, pt)
		}
	}
	// The old snapshot's adapter no longer picks B (it left the set) and maps nothing to C.
	for i := 0; i < 20; i++ {
		if pt := u1.Balancer.Pick(lbNow(), 0); pt != nil {
			t.Fatalf("old snapshot picked %s, want nil: A is ejected, B left, C is not in it", pt.Addr)
		}
	}
	// A changed breaker configuration starts the upstream afresh.
	u3 := f.build(extra+"    circuit_breaker: { failure_percent: 50 }\n", addrA, addrC)
	if f.lbTarget(u3, addrA) == la || f.lbTarget(u3, addrA).Breaker() == nil {
		t.Fatal("breaker config change kept the old target, which has no breaker")
	}
}

func TestBreakerOpensThenHalfOpensWithOneProbe(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("    outlier_detection: { consecutive_5xx: 0, consecutive_connect_failures: 0 }\n"+
		"    circuit_breaker: { min_requests: 4, failure_percent: 50, open_duration: 50ms, half_open_probes: 1 }\n", addrA)
	br := f.lbTarget(u, addrA).Breaker()
	for i := 0; i < 4; i++ {
		if exchange(u, proxy.OutcomeError) == nil {
			t.Fatalf("request %d refused while closed", i)
		}
	}
	if br.State() != lb.Open {
		t.Fatalf("state %v after 4 failures of 4, want open", br.State())
	}
	if pt := u.Balancer.Pick(lbNow(), 0); pt != nil {
		t.Fatal("open breaker let a request through")
	}
	time.Sleep(60 * time.Millisecond)
	probe := u.Balancer.Pick(lbNow(), 0)
	if probe == nil {
		t.Fatal("no probe after open_duration")
	}
	if pt := u.Balancer.Pick(lbNow(), 0); pt != nil {
		t.Fatal("a second request got through while the single probe is out")
	}
	u.Balancer.Done(probe, lbNow(), proxy.OutcomeSuccess, int64(time.Millisecond))
	if br.State() != lb.Closed {
		t.Fatalf("state %v after a successful probe, want closed", br.State())
	}
	var seen []string
	trs, _, _ := f.res.transitions(0, nil)
	for _, tr := range trs {
		seen = append(seen, tr.From.String()+">"+tr.To.String())
	}
	if got := strings.Join(seen, " "); got != "closed>open open>half-open half-open>closed" {
		t.Fatalf("transitions %q", got)
	}
}

func TestRetryGoesToAnotherTargetWithinTheBudget(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("    retry_budget: { percent: 50, min_per_second: 0 }\n", addrA, addrB)
	ad := u.Balancer.(*lbBalancer)
	pa := targetByAddr(u, addrA)
	var retried int
	for i := 0; i < 10; i++ {
		first := ad.Pick(lbNow(), 0)
		ad.Done(first, lbNow(), proxy.OutcomeConnectFailure, 0)
		if r, delay := ad.Retry(lbNow(), 0, first, 0); r != nil {
			if delay != 0 {
				t.Fatalf("retry %d on another target waits %v, want 0", i, delay)
			}
			if r == first {
				t.Fatalf("retry %d went to the failed target %s", i, r.Addr)
			}
			retried++
			ad.Done(r, lbNow(), proxy.OutcomeSuccess, 0)
		}
	}
	// 10 requests at 50% allow 5 retries; checks and deposits interleave, so 5 exactly.
	if retried != 5 {
		t.Fatalf("%d retries of 10 requests with a 50%% budget, want 5", retried)
	}
	_ = pa
}

func TestRetryOnTheOnlyTargetBacksOffWithJitter(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("    retry_backoff: { base: 10ms, max: 40ms }\n    retry_budget: { percent: 100 }\n", addrA)
	ad := u.Balancer.(*lbBalancer)
	var maxSeen [4]time.Duration
	distinct := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		first := ad.Pick(lbNow(), 0)
		ad.Done(first, lbNow(), proxy.OutcomeConnectFailure, 0)
		attempt := i % 4
		r, delay := ad.Retry(lbNow(), 0, first, attempt)
		if r != first {
			t.Fatalf("retry went to %v, want the only target", r)
		}
		ceiling := min(10*time.Millisecond<<attempt, 40*time.Millisecond)
		if delay < 0 || delay > ceiling {
			t.Fatalf("attempt %d waits %v, want within [0, %v]", attempt, delay, ceiling)
		}
		maxSeen[attempt] = max(maxSeen[attempt], delay)
		distinct[delay] = true
		ad.Done(r, lbNow(), proxy.OutcomeSuccess, 0)
	}
	if len(distinct) < 100 || maxSeen[3] < 30*time.Millisecond {
		t.Fatalf("%d distinct delays, attempt-3 max %v: no jitter or no growth", len(distinct), maxSeen[3])
	}
}

func TestHashKeysFollowTheConfiguredPartOfTheRequest(t *testing.T) {
	req := func(head string) *http1.Request {
		var r http1.Request
		buf := []byte(head)
		if _, err := http1.ParseRequest(buf, &r); err != nil {
			t.Fatalf("parse: %v", err)
		}
		return &r
	}
	ip := []byte("10.0.0.7")
	cases := []struct {
		name string
		key  config.HashKey
		head string
		want []byte
	}{
		{"client ip", config.HashKey{Kind: config.HashKeyClientIP}, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ip},
		{"path", config.HashKey{Kind: config.HashKeyPath}, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", []byte("/p")},
		{"header present", config.HashKey{Kind: config.HashKeyHeader, Name: "X-User"}, "GET / HTTP/1.1\r\nHost: a\r\nx-user: alice\r\n\r\n", []byte("alice")},
		{"header absent falls back to client ip", config.HashKey{Kind: config.HashKeyHeader, Name: "X-User"}, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ip},
		{"cookie among others", config.HashKey{Kind: config.HashKeyCookie, Name: "sid"}, "GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; sid=xyz; b=2\r\n\r\n", []byte("xyz")},
		{"cookie quoted", config.HashKey{Kind: config.HashKeyCookie, Name: "sid"}, "GET / HTTP/1.1\r\nHost: a\r\nCookie: sid=\"xyz\"\r\n\r\n", []byte("xyz")},
		{"cookie in a second field", config.HashKey{Kind: config.HashKeyCookie, Name: "sid"}, "GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\nCookie: sid=q\r\n\r\n", []byte("q")},
		{"cookie name is case-sensitive", config.HashKey{Kind: config.HashKeyCookie, Name: "sid"}, "GET / HTTP/1.1\r\nHost: a\r\nCookie: SID=q\r\n\r\n", ip},
		{"cookie prefix is not the name", config.HashKey{Kind: config.HashKeyCookie, Name: "sid"}, "GET / HTTP/1.1\r\nHost: a\r\nCookie: sidx=q\r\n\r\n", ip},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := hashKeyFunc(tc.key)
			if got, want := f(req(tc.head), ip, []byte("/p")), lb.HashKey(tc.want); got != want {
				t.Fatalf("key %x, want hash of %q (%x)", got, tc.want, want)
			}
		})
	}
	if hashKeyFunc(config.HashKey{}) != nil {
		t.Fatal("a balancer without hashing got a hash function")
	}
}

func TestHealthRunNeedsARunOfResultsToFlip(t *testing.T) {
	cases := []struct {
		name    string
		results string // p pass, f fail
		flips   string // verdict after each result: h healthy, u unhealthy
	}{
		{"one failure is noise", "fpfpfp", "hhhhhh"},
		{"three failures take it out", "fff", "hhu"},
		{"two passes bring it back", "fffpfpp", "hhuuuuh"},
		{"a failure resets the passes", "fffpfpfpp", "hhuuuuuuh"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := healthRun{healthy: true}
			var got strings.Builder
			for _, r := range tc.results {
				h.record(r == 'p', 2, 3)
				if h.healthy {
					got.WriteByte('h')
				} else {
					got.WriteByte('u')
				}
			}
			if got.String() != tc.flips {
				t.Fatalf("verdicts %s, want %s", got.String(), tc.flips)
			}
		})
	}
}

func TestActiveHealthCheckTakesAFailingTargetOutAndBringsItBack(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	var hits atomic.Int64
	srv := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			hits.Add(1)
			w.WriteHeader(int(status.Load()))
		}
	}))
	other := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f := newLBFixture(t)
	hc := "    health_check: { path: /healthz, interval: 50ms, timeout: 45ms, healthy_threshold: 2, unhealthy_threshold: 2 }\n    panic_threshold: 0\n"
	u := f.build(hc, srv.Addr, other.Addr)
	lt := f.lbTarget(u, srv.Addr)
	waitFor(t, "checks to arrive", func() bool { return hits.Load() >= 2 })
	if !lt.Healthy() {
		t.Fatal("healthy target marked unhealthy")
	}
	status.Store(503)
	waitFor(t, "the target to go unhealthy", func() bool { return !lt.Healthy() })
	for i := 0; i < 20; i++ {
		if pt := exchange(u, proxy.OutcomeSuccess); pt == nil || pt.Addr == srv.Addr {
			t.Fatalf("pick %d: %v, want not the unhealthy target", i, pt)
		}
	}
	status.Store(200)
	waitFor(t, "the target to come back", lt.Healthy)
	// A target nothing listens on goes unhealthy.
	dead := freePort(t)
	u = f.build(hc, srv.Addr, other.Addr, dead)
	waitFor(t, "the dead target to go unhealthy", func() bool { return !f.lbTarget(u, dead).Healthy() })
	// Turning checks off marks every target healthy again.
	u = f.build("", srv.Addr, other.Addr, dead)
	if !f.lbTarget(u, dead).Healthy() {
		t.Fatal("target stays unhealthy after health checks were turned off")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPanicModeSpreadsOverUnhealthyTargets(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("    panic_threshold: 50\n", addrA, addrB, addrC)
	f.lbTarget(u, addrA).SetHealthy(false)
	f.lbTarget(u, addrB).SetHealthy(false) // one usable of three: below 50%
	got := map[string]int{}
	for i := 0; i < 300; i++ {
		got[exchange(u, proxy.OutcomeSuccess).Addr]++
	}
	if got[addrA] < 50 || got[addrB] < 50 || got[addrC] < 50 {
		t.Fatalf("panic mode spread %v, want every target used", got)
	}
	// A new panic threshold builds a new set (lb.SetConfig is fixed at NewSet) with fresh
	// targets: mark them again.
	u = f.build("    panic_threshold: 0\n", addrA, addrB, addrC)
	f.lbTarget(u, addrA).SetHealthy(false)
	f.lbTarget(u, addrB).SetHealthy(false)
	for i := 0; i < 50; i++ {
		if pt := exchange(u, proxy.OutcomeSuccess); pt.Addr != addrC {
			t.Fatalf("without panic mode pick %d went to unhealthy %s", i, pt.Addr)
		}
	}
}

func TestSweepMirrorsAdminDrainIntoTheBalancer(t *testing.T) {
	f := newLBFixture(t)
	u := f.build("", addrA, addrB)
	targetByAddr(u, addrA).Draining.Store(true)
	waitFor(t, "the drain to reach the lb target", func() bool { return f.lbTarget(u, addrA).Draining() })
	targetByAddr(u, addrA).Draining.Store(false)
	waitFor(t, "the undrain to reach the lb target", func() bool { return !f.lbTarget(u, addrA).Draining() })
}

// FuzzCookieValue checks the Cookie scanner against a plain reference on arbitrary field values:
// it never panics, and finds what strings.Split finds.
func FuzzCookieValue(f *testing.F) {
	for _, s := range []string{"sid=1", "a=1; sid=2", "sid=\"q\"", "sid", "; ;sid= x ;", "SID=1; sid=", "sid==="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if strings.ContainsAny(v, "\r\n\x00") {
			return
		}
		var r http1.Request
		if _, err := http1.ParseRequest([]byte("GET / HTTP/1.1\r\nHost: a\r\nCookie: "+v+"\r\n\r\n"), &r); err != nil {
			return
		}
		got, ok := cookieValue(&r, "sid")
		var want string
		found := false
		for _, pair := range strings.Split(strings.Trim(string(r.Peek("Cookie")), " \t"), ";") {
			pair = strings.TrimLeft(pair, " \t")
			name, val, eq := strings.Cut(pair, "=")
			if eq && name == "sid" {
				val = strings.TrimRight(val, " \t")
				if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
					val = val[1 : len(val)-1]
				}
				want, found = val, true
				break
			}
		}
		if ok != found || string(got) != want {
			t.Fatalf("cookie %q: got %q,%v want %q,%v", v, got, ok, want, found)
		}
	})
}
