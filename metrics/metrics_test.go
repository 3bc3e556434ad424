package metrics

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/proxy"
)

func TestObserveCountsPerRouteTargetAndClass(t *testing.T) {
	f := newFixture(t)
	m := New(Options{})
	m.Prepare(f.snap)
	for i := 0; i < 7; i++ {
		m.Observe(rec(f.users, f.u1, 200, 2e6, 1e6, "/users/1"))
	}
	for i := 0; i < 3; i++ {
		m.Observe(rec(f.users, f.u2, 404, 2e6, 1e6, "/users/x"))
	}
	r := rec(f.orders, f.o1, 502, 1e6, 0, "/orders/")
	r.Error = "connection refused"
	m.Observe(r)
	m.Observe(rec(nil, nil, 404, 1e5, 0, "/nowhere"))
	got := scrape(t, m)
	want := map[string]float64{
		`sluice_requests_total{route="users"}`:                                                  10,
		`sluice_responses_total{route="users",class="2xx"}`:                                     7,
		`sluice_responses_total{route="users",class="4xx"}`:                                     3,
		`sluice_responses_total{route="orders",class="5xx"}`:                                    1,
		`sluice_requests_total{route="(none)"}`:                                                 1,
		`sluice_request_bytes_total{route="users"}`:                                             1000,
		`sluice_response_bytes_total{route="users"}`:                                            10000,
		`sluice_upstream_requests_total{upstream="users",target="127.0.0.1:9001"}`:              7,
		`sluice_upstream_requests_total{upstream="users",target="127.0.0.1:9002"}`:              3,
		`sluice_upstream_responses_total{upstream="users",target="127.0.0.1:9002",class="4xx"}`: 3,
		`sluice_upstream_errors_total{upstream="orders",target="127.0.0.1:9003"}`:               1,
		`sluice_upstream_errors_total{upstream="users",target="127.0.0.1:9001"}`:                0,
		`sluice_request_duration_seconds_count{route="users"}`:                                  10,
		`sluice_upstream_duration_seconds_count{upstream="users",target="127.0.0.1:9001"}`:      7,
		`sluice_upstream_duration_seconds_count{upstream="orders",target="127.0.0.1:9003"}`:     0,
	}
	for k, v := range want {
		g, ok := got[k]
		if v == 0 && !ok {
			continue // VictoriaMetrics omits empty histograms
		}
		if !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
}

func TestDistinctPathsCreateNoSeries(t *testing.T) {
	f := newFixture(t)
	m := New(Options{})
	m.Prepare(f.snap)
	m.Observe(rec(f.users, f.u1, 200, 1e6, 5e5, "/users/warm"))
	before := len(m.Set().ListMetricNames())
	var beforeOut bytes.Buffer
	m.WritePrometheus(&beforeOut)
	for i := 0; i < 100_000; i++ {
		r := rec(f.users, f.u1, 200+i%400, int64(i)*1000, int64(i)*500, fmt.Sprintf("/users/%d/p%x", i, i*7919))
		r.ClientIP = []byte(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255))
		r.Method = []byte(fmt.Sprintf("M%d", i))
		m.Observe(r)
	}
	after := len(m.Set().ListMetricNames())
	if after != before {
		t.Fatalf("series grew from %d to %d after 100000 distinct paths", before, after)
	}
	var out bytes.Buffer
	m.WritePrometheus(&out)
	if strings.Contains(out.String(), "/users/") || strings.Contains(out.String(), "10.0.") {
		t.Fatal("a request path or client address leaked into the Prometheus output")
	}
	if got := scrape(t, m)[`sluice_requests_total{route="users"}`]; got != 100_001 {
		t.Fatalf("requests = %v, want 100001", got)
	}
}

func TestRecordsOfReplacedSnapshotFindSeriesByName(t *testing.T) {
	old := newFixture(t)
	m := New(Options{})
	m.Prepare(old.snap)
	next := newFixture(t)
	// The new configuration puts orders first: indexes swap, names stay.
	next.users.Index, next.orders.Index = 1, 0
	m.Prepare(next.snap)
	m.Observe(rec(old.users, old.u1, 200, 1e6, 1e6, "/users/"))   // in flight across the reload
	m.Observe(rec(next.users, next.u1, 200, 1e6, 1e6, "/users/")) // after it
	got := scrape(t, m)
	if v := got[`sluice_requests_total{route="users"}`]; v != 2 {
		t.Fatalf("users = %v, want 2", v)
	}
	if v := got[`sluice_requests_total{route="orders"}`]; v != 0 {
		t.Fatalf("orders = %v, want 0", v)
	}
	if v := got[`sluice_upstream_requests_total{upstream="users",target="127.0.0.1:9001"}`]; v != 2 {
		t.Fatalf("target = %v, want 2", v)
	}
}

func TestTickReportsRatesPercentilesAndHistory(t *testing.T) {
	f := newFixture(t)
	m := New(Options{})
	m.Prepare(f.snap)
	t0 := m.Started()
	m.Tick(t0.Add(time.Second)) // an empty second first
	for i := 0; i < 98; i++ {
		m.Observe(rec(f.users, f.u1, 200, 1e6, 8e5, "/users/"))
	}
	m.Observe(rec(f.users, f.u1, 500, 100e6, 90e6, "/users/")) // the target's own 500s
	m.Observe(rec(f.users, f.u1, 500, 100e6, 90e6, "/users/"))
	s := m.Tick(t0.Add(3 * time.Second)) // a two-second window
	if s.Seq != 2 || s.Interval != 2*time.Second {
		t.Fatalf("seq %d interval %v", s.Seq, s.Interval)
	}
	if s.RPS != 50 {
		t.Fatalf("rps = %v, want 50", s.RPS)
	}
	if s.ErrorRate != 0.02 {
		t.Fatalf("error rate = %v, want 0.02", s.ErrorRate)
	}
	// 1ms falls in [896us,1024us) and 100ms in [98304us,114688us): upper bounds.
	if s.P50 != 1024*time.Microsecond || s.P99 != 114688*time.Microsecond {
		t.Fatalf("p50 %v p99 %v", s.P50, s.P99)
	}
	r := s.Routes[0]
	if r.Name != "users" || r.Upstream != "users" || r.RPS != 50 || r.Rate2xx != 49 || r.Rate5xx != 1 {
		t.Fatalf("route %+v", r)
	}
	if len(r.History) != 2 || r.History[0] != 0 || r.History[1] != 50 || r.ErrHistory[1] != 1 {
		t.Fatalf("history %v err %v", r.History, r.ErrHistory)
	}
	if len(s.Routes) != 2 {
		t.Fatalf("the no-route row shows without traffic: %+v", s.Routes)
	}
	tg := s.Upstreams[0].Targets[0]
	if tg.Addr != "127.0.0.1:9001" || tg.RPS != 50 || tg.State != StateUp || tg.ErrorRate != 0.02 || tg.Errors != 0 {
		t.Fatalf("target %+v", tg)
	}
	// EWMA starts at the first window's mean RTT: (98*0.8ms + 2*90ms) / 100.
	if want := time.Duration((98*8e5 + 2*90e6) / 100); tg.EWMA != want {
		t.Fatalf("ewma %v, want %v", tg.EWMA, want)
	}
	for i := 0; i < 60; i++ {
		s = m.Tick(t0.Add(time.Duration(4+i) * time.Second))
	}
	if len(s.Routes[0].History) != HistoryLen || s.Routes[0].History[HistoryLen-1] != 0 {
		t.Fatalf("history not bounded: %d", len(s.Routes[0].History))
	}
}

func TestTargetTurnsFailingAfterConsecutiveErrorsAndRecovers(t *testing.T) {
	f := newFixture(t)
	m := New(Options{FailAfter: 3})
	m.Prepare(f.snap)
	now := m.Started()
	fail := func() {
		r := rec(f.orders, f.o1, 502, 1e6, 0, "/orders/")
		r.Error = "connection refused"
		m.Observe(r)
	}
	fail()
	fail()
	now = now.Add(time.Second)
	if s := m.Tick(now); s.Upstreams[1].Targets[0].State != StateUp {
		t.Fatalf("failing after 2 errors: %+v", s.Upstreams[1].Targets[0])
	}
	fail()
	now = now.Add(time.Second)
	s := m.Tick(now)
	tg := s.Upstreams[1].Targets[0]
	if tg.State != StateFailing || tg.Trips != 1 || tg.ErrorRate != 1 {
		t.Fatalf("after 3 errors: %+v", tg)
	}
	if scrape(t, m)[`sluice_upstream_healthy{upstream="orders",target="127.0.0.1:9003"}`] != 0 {
		t.Fatal("healthy gauge still 1")
	}
	ev := m.Events(0, 0)
	if len(ev) != 1 || ev[0].Kind != EventHealth || ev[0].Subject != "orders/127.0.0.1:9003" || !strings.Contains(ev[0].Detail, "failing") {
		t.Fatalf("events %+v", ev)
	}
	m.Observe(rec(f.orders, f.o1, 200, 1e6, 5e5, "/orders/"))
	now = now.Add(time.Second)
	if s := m.Tick(now); s.Upstreams[1].Targets[0].State != StateUp {
		t.Fatal("did not recover after a good answer")
	}
	ev = m.Events(ev[0].Seq, 0)
	if len(ev) != 1 || ev[0].Detail != "recovered" {
		t.Fatalf("events %+v", ev)
	}
	f.o1.Draining.Store(true)
	now = now.Add(time.Second)
	if s := m.Tick(now); s.Upstreams[1].Targets[0].State != StateDraining {
		t.Fatal("draining not shown")
	}
}

func TestClientClosedIsNotATargetError(t *testing.T) {
	f := newFixture(t)
	m := New(Options{FailAfter: 1})
	m.Prepare(f.snap)
	r := rec(f.users, f.u1, 499, 1e6, 0, "/users/")
	r.Error = "client closed"
	m.Observe(r)
	s := m.Tick(m.Started().Add(time.Second))
	if tg := s.Upstreams[0].Targets[0]; tg.Errors != 0 || tg.State != StateUp {
		t.Fatalf("%+v", tg)
	}
}

func TestTailIsSampledAndBounded(t *testing.T) {
	f := newFixture(t)
	m := New(Options{TailPerSecond: 10, TailSize: 16})
	m.Prepare(f.snap)
	now := m.Started()
	for i := 0; i < 1000; i++ {
		m.Observe(rec(f.users, f.u1, 200, 1e6, 5e5, fmt.Sprintf("/users/%d", i)))
	}
	tail := m.Tail(0, 0)
	if len(tail) != 10 { // the budget of the first second
		t.Fatalf("tail kept %d of 1000 in the first second, want 10", len(tail))
	}
	now = now.Add(time.Second)
	m.Tick(now) // 1000 rps -> stride 100
	for i := 0; i < 1000; i++ {
		m.Observe(rec(f.users, f.u1, 200, 1e6, 5e5, fmt.Sprintf("/users/b%d", i)))
	}
	tail = m.Tail(tail[len(tail)-1].Seq, 0)
	if len(tail) != 10 {
		t.Fatalf("second window kept %d, want 10", len(tail))
	}
	if tail[0].Path != "/users/b99" || tail[1].Path != "/users/b199" {
		t.Fatalf("not spread by stride: %q %q", tail[0].Path, tail[1].Path)
	}
	e := tail[0]
	if e.Route != "users" || e.Upstream != "users" || e.Target != "127.0.0.1:9001" || e.Method != "GET" || e.Status != 200 || e.Duration != time.Millisecond || e.Client != "127.0.0.1" {
		t.Fatalf("entry %+v", e)
	}
	now = now.Add(time.Second)
	m.Tick(now)
	for i := 0; i < 40; i++ {
		m.Observe(rec(f.users, f.u1, 200, 1e6, 5e5, "/x"))
	}
	if all := m.Tail(0, 0); len(all) != 16 {
		t.Fatalf("ring holds %d, capacity 16", len(all))
	}
	if n := m.Tail(0, 3); len(n) != 3 || n[2].Seq != m.Tail(0, 0)[15].Seq {
		t.Fatal("max does not keep the newest")
	}
}

func TestTailKeepsErrorsOutsideTheStride(t *testing.T) {
	f := newFixture(t)
	m := New(Options{TailPerSecond: 5})
	m.Prepare(f.snap)
	m.Tick(m.Started().Add(time.Millisecond)) // ~huge rps estimate: stride large
	m.tail.refill(1e6)
	r := rec(f.orders, f.o1, 502, 1e6, 0, "/orders/")
	r.Error = "connection refused"
	m.Observe(r)
	tail := m.Tail(0, 0)
	if len(tail) != 1 || tail[0].Status != 502 || tail[0].Error != "connection refused" {
		t.Fatalf("%+v", tail)
	}
}

func TestTopRejectedKeepsHeavyHitters(t *testing.T) {
	f := newFixture(t)
	m := New(Options{})
	m.Prepare(f.snap)
	for i := 0; i < 500; i++ {
		r := rec(f.users, nil, 429, 1e3, 0, "/users/")
		r.ClientIP = []byte("192.0.2.1")
		if i%2 == 1 {
			r.ClientIP = []byte(fmt.Sprintf("198.51.100.%d", i%250))
		}
		m.Observe(r)
	}
	top := m.TopRejected(3)
	if len(top) != 3 || top[0].Key != "192.0.2.1" || top[0].Count != 250 {
		t.Fatalf("%+v", top)
	}
	if v := scrape(t, m)[`sluice_limit_rejections_total{route="users"}`]; v != 500 {
		t.Fatalf("rejections %v", v)
	}
}

func TestReloadedCountsAndLogs(t *testing.T) {
	m := New(Options{})
	m.Reloaded(2, nil)
	m.Reloaded(2, fmt.Errorf("bad.yaml:3: unknown field"))
	got := scrape(t, m)
	if got[`sluice_reloads_total{result="ok"}`] != 1 || got[`sluice_reloads_total{result="error"}`] != 1 {
		t.Fatalf("%v", got)
	}
	s := m.Tick(time.Now())
	if s.LastReload.OK || !strings.Contains(s.LastReload.Error, "unknown field") {
		t.Fatalf("%+v", s.LastReload)
	}
	ev := m.Events(0, 0)
	if len(ev) != 2 || ev[1].Level != LevelError {
		t.Fatalf("%+v", ev)
	}
}

func TestEventLogIsBounded(t *testing.T) {
	m := New(Options{EventSize: 4})
	for i := 0; i < 10; i++ {
		m.Event(EventDrain, fmt.Sprint(i), "", LevelInfo)
	}
	ev := m.Events(0, 0)
	if len(ev) != 4 || ev[0].Subject != "6" || ev[3].Subject != "9" {
		t.Fatalf("%+v", ev)
	}
	if len(m.Events(ev[3].Seq, 0)) != 0 || len(m.Events(1000, 0)) != 0 {
		t.Fatal("events after the newest")
	}
}

func TestLatencyBucketsBoundTheirValues(t *testing.T) {
	for _, ns := range []int64{0, 1, 999, 1000, 3999, 4000, 5000, 7999, 8000, 1e6, 1234567, 1e9, 3e12, 1 << 62} {
		i := latencyIndex(ns)
		up := latencyUpper(i)
		if i < latBuckets-1 && time.Duration(ns) >= up {
			t.Errorf("%dns in bucket %d with upper %v", ns, i, up)
		}
		if i > 0 && time.Duration(ns) < latencyUpper(i-1) {
			t.Errorf("%dns in bucket %d, below the previous upper %v", ns, i, latencyUpper(i-1))
		}
	}
}

var _ proxy.Observer = (*Metrics)(nil)

// TestSeriesOfAGoneTargetAreUnregisteredAfterTheRetention moves upstream users from 9002 to a
// new address, as DNS discovery does when a service is redeployed: 9002's series stay exported
// through the retention (the first Prepare without it only stamps it), then go; a target that
// comes back starts from zero; a record of the old snapshot for a dropped series is ignored.
func TestSeriesOfAGoneTargetAreUnregisteredAfterTheRetention(t *testing.T) {
	f := newFixture(t)
	m := New(Options{TargetRetention: time.Nanosecond})
	m.Prepare(f.snap)
	m.Observe(rec(f.users, f.u2, 200, 1e6, 1e6, "/users/"))
	series := `sluice_upstream_requests_total{upstream="users",target="127.0.0.1:9002"}`
	if got := scrape(t, m)[series]; got != 1 {
		t.Fatalf("before: %s = %v, want 1", series, got)
	}
	moved := func() *fixture {
		n := newFixture(t)
		n.u2.Addr, n.u2.ID = "127.0.0.1:9009", 3
		return n
	}
	m.Prepare(moved().snap)
	if _, ok := scrape(t, m)[series]; !ok {
		t.Fatal("gone at the first Prepare without it; want it kept through the retention")
	}
	time.Sleep(time.Millisecond)
	m.Prepare(moved().snap)
	got := scrape(t, m)
	for name := range got {
		if strings.Contains(name, `target="127.0.0.1:9002"`) {
			t.Fatalf("%s still exported after the retention", name)
		}
	}
	if _, ok := got[`sluice_upstream_requests_total{upstream="users",target="127.0.0.1:9009"}`]; !ok {
		t.Fatal("the new target has no series")
	}
	m.Observe(rec(f.users, f.u2, 200, 1e6, 1e6, "/users/")) // in flight on the first snapshot
	if _, ok := scrape(t, m)[series]; ok {
		t.Fatal("a late record brought an unregistered series back")
	}
	m.Prepare(f.snap) // back
	if got := scrape(t, m)[series]; got != 0 {
		t.Fatalf("returning target: %s = %v, want a fresh 0", series, got)
	}
}

// TestLoopsRecordIntoShardsThatAddUp records from eight loops, more than the four shards, and
// checks that the scrape (counters and histogram counts) and the per-second aggregate see the
// sum of all of them, as one loop's records would give.
func TestLoopsRecordIntoShardsThatAddUp(t *testing.T) {
	f := newFixture(t)
	m := New(Options{Shards: 4})
	m.Prepare(f.snap)
	m.Tick(time.Now())
	const perLoop = 25
	for loop := 0; loop < 8; loop++ {
		for i := 0; i < perLoop; i++ {
			r := rec(f.users, f.u1, 200+300*(i%2), 2e6, 1e6, "/users/")
			r.Loop = loop
			m.Observe(r)
		}
	}
	got := scrape(t, m)
	want := map[string]float64{
		`sluice_requests_total{route="users"}`:                                             200,
		`sluice_responses_total{route="users",class="2xx"}`:                                8 * 13, // the even i of each loop
		`sluice_responses_total{route="users",class="5xx"}`:                                8 * 12,
		`sluice_request_bytes_total{route="users"}`:                                        200 * 100,
		`sluice_request_duration_seconds_count{route="users"}`:                             200,
		`sluice_upstream_requests_total{upstream="users",target="127.0.0.1:9001"}`:         200,
		`sluice_upstream_duration_seconds_count{upstream="users",target="127.0.0.1:9001"}`: 200,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if again := scrape(t, m); again[`sluice_request_duration_seconds_count{route="users"}`] != 200 {
		t.Error("a second scrape changed the histogram: shards merged twice")
	}
	s := m.Tick(time.Now().Add(time.Second))
	for _, r := range s.Routes {
		if r.Name == "users" && r.Requests != 200 {
			t.Errorf("aggregate: users requests %d, want 200", r.Requests)
		}
	}
}
