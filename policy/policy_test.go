package policy

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/proxy"
)

// request builds a FilterContext for a request head from peer.
func request(t testing.TB, head string, peer string, route *proxy.Route) *proxy.FilterContext {
	t.Helper()
	r := &http1.Request{}
	buf := []byte(strings.ReplaceAll(head, "\n", "\r\n") + "\r\n")
	if _, err := http1.ParseRequest(buf, r); err != nil {
		t.Fatalf("parse %q: %v", head, err)
	}
	p := netip.MustParseAddr(peer)
	return &proxy.FilterContext{Req: r, Route: route, Peer: p, ClientIP: p.AppendTo(nil)}
}

type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() int64          { return c.ns.Load() }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }
func newClock() *fakeClock               { c := &fakeClock{}; c.ns.Store(1); return c }
func mustPolicy(t testing.TB, name, rate string, burst int64) *limits.Policy {
	t.Helper()
	p, err := limits.ParsePolicy(name, rate, burst)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustKey(t testing.TB, s string) Key {
	t.Helper()
	parts, err := ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return Key{Parts: parts}
}

func TestParseKeyAcceptsPartsAndCombinations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
	}{
		{"client_ip", "client_ip"},
		{"route", "route"},
		{"header:X-Api-Key", "header:X-Api-Key"},
		{"client_ip + route", "client_ip+route"},
		{"header:X-Api-Key+route+client_ip", "header:X-Api-Key+route+client_ip"},
	} {
		parts, err := ParseKey(tc.in)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", tc.in, err)
			continue
		}
		if got := FormatKey(parts); got != tc.want {
			t.Errorf("ParseKey(%q) formats as %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseKeyRejectsUnknownEmptyAndRepeatedParts(t *testing.T) {
	for _, in := range []string{"", "ip", "header:", "header:a b", "route+route", "client_ip+", "header:X-A+header:x-a"} {
		if _, err := ParseKey(in); err == nil {
			t.Errorf("ParseKey(%q) accepted", in)
		}
	}
}

func TestKeyPartsAreInjective(t *testing.T) {
	// route "a" + header "b|c" vs route "a|b" + header "c": a separator join
	// would collide; length prefixes do not.
	k := mustKey(t, "route+header:X-K")
	c1 := request(t, "GET / HTTP/1.1\nHost: h\nX-K: bc\n", "10.0.0.1", &proxy.Route{Name: "a"})
	c2 := request(t, "GET / HTTP/1.1\nHost: h\nX-K: c\n", "10.0.0.1", &proxy.Route{Name: "ab"})
	if a, b := k.Append(nil, c1), k.Append(nil, c2); string(a) == string(b) {
		t.Fatalf("keys collide: %q", a)
	}
}

func TestClientIPFollowsTrustedProxiesOnly(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name, peer, xff, want string
	}{
		{"untrusted peer keeps its own address", "192.0.2.9", "203.0.113.5", "192.0.2.9"},
		{"trusted peer names the client", "10.0.0.1", "203.0.113.5", "203.0.113.5"},
		{"rightmost untrusted entry wins over a forged left one", "10.0.0.1", "1.1.1.1, 203.0.113.5, 10.0.0.7", "203.0.113.5"},
		{"garbage stops at the last trusted hop", "10.0.0.1", "203.0.113.5, nonsense, 10.0.0.7", "10.0.0.7"},
		{"no header: the trusted peer is the client", "10.0.0.1", "", "10.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := "GET / HTTP/1.1\nHost: h\n"
			if tc.xff != "" {
				head += "X-Forwarded-For: " + tc.xff + "\n"
			}
			c := request(t, head, tc.peer, nil)
			k := Key{Parts: []KeyPart{{Kind: KeyClientIP}}, Trusted: trusted}
			got := k.Append(nil, c)
			want := limits.AppendKeyString(nil, tc.want)
			if string(got) != string(want) {
				t.Fatalf("key %q, want %q", got, want)
			}
		})
	}
}

func TestRateLimitAdmitsBurstThenAnswers429WithHeaders(t *testing.T) {
	clk := newClock()
	f, err := NewRateLimit(RateLimitConfig{
		Name:    "api",
		Windows: []*limits.Policy{mustPolicy(t, "api", "2/s", 3)},
		Key:     mustKey(t, "header:X-Api-Key"),
		Now:     clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	alice := request(t, "GET / HTTP/1.1\nHost: h\nX-Api-Key: alice\n", "127.0.0.1", nil)
	bob := request(t, "GET / HTTP/1.1\nHost: h\nX-Api-Key: bob\n", "127.0.0.1", nil)
	// 2/s burst 3: three at once, then one every 500ms.
	want := []int{0, 0, 0, 429}
	for i, w := range want {
		alice.RespFields = alice.RespFields[:0]
		v := f.OnRequest(alice)
		if v.Status != w {
			t.Fatalf("request %d: status %d, want %d", i, v.Status, w)
		}
		if w == 0 && !strings.Contains(string(alice.RespFields), "RateLimit-Policy: \"api\";q=2;w=1;sluice-burst=3\r\n") {
			t.Fatalf("request %d: fields %q", i, alice.RespFields)
		}
		if w == 429 {
			fields := string(v.Fields)
			for _, s := range []string{"RateLimit-Policy: \"api\";q=2;w=1;sluice-burst=3\r\n", "RateLimit: \"api\";r=0;t=1\r\n", "Retry-After: 1\r\n"} {
				if !strings.Contains(fields, s) {
					t.Fatalf("refusal fields %q lack %q", fields, s)
				}
			}
		}
	}
	if v := f.OnRequest(bob); v.Status != 0 {
		t.Fatalf("another key was refused: %d", v.Status)
	}
	clk.add(499 * time.Millisecond)
	if v := f.OnRequest(alice); v.Status != 429 {
		t.Fatalf("admitted 1ms early")
	}
	clk.add(time.Millisecond)
	if v := f.OnRequest(alice); v.Status != 0 {
		t.Fatalf("refused after one emission interval: %d", v.Status)
	}
	if got := f.Multi().Policy(0).Counts().Rejected; got != 2 {
		t.Fatalf("rejected count %d, want 2", got)
	}
}

func TestRateLimitEnforcesEveryWindow(t *testing.T) {
	clk := newClock()
	f, err := NewRateLimit(RateLimitConfig{
		Name:    "q",
		Windows: []*limits.Policy{mustPolicy(t, "persec", "10/s", 10), mustPolicy(t, "daily", "15/day", 0)},
		Key:     mustKey(t, "client_ip"),
		Now:     clk.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := request(t, "GET / HTTP/1.1\nHost: h\n", "192.0.2.1", nil)
	admitted := 0
	// 3 seconds of 10 requests each: the throttle would allow 30, the quota 15.
	for s := 0; s < 3; s++ {
		for i := 0; i < 10; i++ {
			if f.OnRequest(c).Status == 0 {
				admitted++
			}
		}
		clk.add(time.Second)
	}
	if admitted != 15 {
		t.Fatalf("admitted %d, want the daily quota of 15", admitted)
	}
	v := f.OnRequest(c)
	if v.Status != 429 || !strings.Contains(string(v.Fields), "\"daily\"") {
		t.Fatalf("quota refusal %d %q", v.Status, v.Fields)
	}
}

func TestRateLimitShadowCountsButAdmits(t *testing.T) {
	clk := newClock()
	p := mustPolicy(t, "shadow", "1/min", 1)
	p.Shadow = true
	f, err := NewRateLimit(RateLimitConfig{Name: "s", Windows: []*limits.Policy{p}, Key: mustKey(t, "route"), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	c := request(t, "GET / HTTP/1.1\nHost: h\n", "192.0.2.1", &proxy.Route{Name: "r"})
	for i := 0; i < 5; i++ {
		c.RespFields = c.RespFields[:0]
		if v := f.OnRequest(c); v.Status != 0 {
			t.Fatalf("shadow policy answered %d", v.Status)
		}
		if len(c.RespFields) != 0 {
			t.Fatalf("shadow policy shows fields %q", c.RespFields)
		}
	}
	if got := p.Counts().ShadowRejected; got != 4 {
		t.Fatalf("shadow refusals %d, want 4", got)
	}
}

func TestRateLimitRefusesOverlongKeyWith431(t *testing.T) {
	f, err := NewRateLimit(RateLimitConfig{Name: "k", Windows: []*limits.Policy{mustPolicy(t, "k", "100/s", 0)}, Key: mustKey(t, "header:X-K"), MaxKeyLen: 16})
	if err != nil {
		t.Fatal(err)
	}
	c := request(t, "GET / HTTP/1.1\nHost: h\nX-K: "+strings.Repeat("a", 40)+"\n", "192.0.2.1", nil)
	if v := f.OnRequest(c); v.Status != 431 {
		t.Fatalf("status %d, want 431", v.Status)
	}
}

func TestRateLimitHammeredKeyNeverAdmitsMoreThanTheLimit(t *testing.T) {
	clk := newClock() // frozen time: exactly the burst may pass
	f, err := NewRateLimit(RateLimitConfig{Name: "h", Windows: []*limits.Policy{mustPolicy(t, "h", "100/min", 37)}, Key: mustKey(t, "header:X-K"), Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := request(t, "GET / HTTP/1.1\nHost: h\nX-K: hot\n", "127.0.0.1", nil)
			for i := 0; i < 200; i++ {
				c.RespFields = c.RespFields[:0]
				if f.OnRequest(c).Status == 0 {
					admitted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if got := admitted.Load(); got != 37 {
		t.Fatalf("admitted %d under contention, want exactly the burst 37", got)
	}
}

func TestInFlightAnswers503AtTheLimitAndFreesOnDone(t *testing.T) {
	f, err := NewInFlight(InFlightConfig{Name: "r", MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	cs := []*proxy.FilterContext{
		request(t, "GET / HTTP/1.1\nHost: h\n", "127.0.0.1", nil),
		request(t, "GET / HTTP/1.1\nHost: h\n", "127.0.0.1", nil),
		request(t, "GET / HTTP/1.1\nHost: h\n", "127.0.0.1", nil),
	}
	if f.OnRequest(cs[0]).Status != 0 || f.OnRequest(cs[1]).Status != 0 {
		t.Fatal("refused below the limit")
	}
	if v := f.OnRequest(cs[2]); v.Status != 503 || v.Reason != "concurrency limit: r" {
		t.Fatalf("third: %+v", v)
	}
	f.OnDone(cs[0], 200)
	if f.OnRequest(cs[2]).Status != 0 {
		t.Fatal("refused after a slot was freed")
	}
	if st := f.Stats(); st.InFlight != 2 || st.Rejected != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAdaptiveLimitShrinksWhenLatencyRisesAndDropsArrive(t *testing.T) {
	clk := newClock()
	f, err := NewInFlight(InFlightConfig{Name: "u", Now: clk.now, Adaptive: &limits.GradientConfig{
		InitialLimit: 40, MinLimit: 4, MaxLimit: 100, Window: 100 * time.Millisecond, MinSamples: 5,
	}})
	if err != nil {
		t.Fatal(err)
	}
	start := f.Stats().Limit
	if start != 40 {
		t.Fatalf("initial limit %d", start)
	}
	// The loop clock runs 1h ahead of the filter clock (as gnet's wall clock
	// would): the skew estimate must cancel it.
	const loopAhead = int64(time.Hour)
	round := func(latency time.Duration, n int, status int) {
		cs := make([]*proxy.FilterContext, n)
		for i := range cs {
			cs[i] = request(t, "GET / HTTP/1.1\nHost: h\n", "127.0.0.1", nil)
			cs[i].Now = clk.now() + loopAhead
			if v := f.OnRequest(cs[i]); v.Status != 0 {
				cs[i] = nil
			}
		}
		clk.add(latency)
		for _, c := range cs {
			if c != nil {
				f.OnDone(c, status)
			}
		}
	}
	for i := 0; i < 30; i++ {
		round(10*time.Millisecond, 30, 200) // baseline: 30 in flight, 10ms
	}
	base := f.Stats().Limit
	for i := 0; i < 30; i++ {
		round(200*time.Millisecond, 30, 503)
	}
	after := f.Stats().Limit
	if after >= base || after > 10 {
		t.Fatalf("limit went %d -> %d under 20x latency and 503s; want it to shrink towards the minimum", base, after)
	}
}

func TestClockSkewMeasuresLatencyAcrossClocks(t *testing.T) {
	var k clockSkew
	// Loop clock = mono + 5s, read up to 3ms stale.
	k.observe(1_000+5e9-3e6, 1_000)
	k.observe(2_000+5e9, 2_000)
	k.observe(3_000+5e9-1e6, 3_000)
	if got := k.since(10_000+5e9, 10_000+int64(7*time.Millisecond)); got != int64(7*time.Millisecond) {
		t.Fatalf("latency %d, want 7ms", got)
	}
}

type wakeRecorder struct{ woken []uint64 }

func (w *wakeRecorder) Wake(token uint64, admitted bool) {
	if admitted {
		w.woken = append(w.woken, token)
	}
}

func TestInFlightQueueHandsSlotsOverInOrder(t *testing.T) {
	f, err := NewInFlight(InFlightConfig{Name: "r", MaxInFlight: 1, QueueSize: 2, QueueTimeout: time.Second, Now: func() int64 { return 1 }})
	if err != nil {
		t.Fatal(err)
	}
	w := &wakeRecorder{}
	a, b, c, d := &proxy.FilterContext{Now: 1}, &proxy.FilterContext{Now: 1, Waiter: w, WaitToken: 7}, &proxy.FilterContext{Now: 1, Waiter: w, WaitToken: 8}, &proxy.FilterContext{Now: 1, Waiter: w, WaitToken: 9}
	if v := f.OnRequest(a); v.Status != 0 || v.Queue != 0 {
		t.Fatalf("first: %+v", v)
	}
	if v := f.OnRequest(b); v.Queue != time.Second {
		t.Fatalf("second should queue: %+v", v)
	}
	if v := f.OnRequest(c); v.Queue != time.Second {
		t.Fatalf("third should queue: %+v", v)
	}
	if v := f.OnRequest(d); v.Status != 503 {
		t.Fatalf("fourth finds the queue full: %+v", v)
	}
	f.OnDone(a, 200)
	if len(w.woken) != 1 || w.woken[0] != 7 {
		t.Fatalf("woken %v, want the oldest waiter (7)", w.woken)
	}
	// The third gives up: nothing was granted to it, so Cancel succeeds and a later release
	// hands nothing to it.
	if !f.Cancel(c) {
		t.Fatal("cancel of a waiting request failed")
	}
	f.OnDone(b, 200)
	if len(w.woken) != 1 {
		t.Fatalf("a cancelled waiter was woken: %v", w.woken)
	}
	if st := f.Stats(); st.InFlight != 0 || st.Waiting != 0 {
		t.Fatalf("stats after everything ended: %+v", st)
	}
}
