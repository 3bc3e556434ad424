package redis

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/policy"
	"github.com/sluice-gw/sluice/proxy"
)

func ctxFor(key string) *proxy.FilterContext {
	r := &http1.Request{}
	if _, err := http1.ParseRequest([]byte("GET / HTTP/1.1\r\nHost: h\r\nX-K: "+key+"\r\n\r\n"), r); err != nil {
		panic(err)
	}
	p := netip.MustParseAddr("127.0.0.1")
	return &proxy.FilterContext{Req: r, Peer: p, ClientIP: p.AppendTo(nil)}
}

func newLimit(t testing.TB, addr, name, rate string, burst, lease int64, failOpen bool) *Limit {
	t.Helper()
	p, err := limits.ParsePolicy(name, rate, burst)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(Config{
		Name: name, Windows: []*limits.Policy{p}, Key: policy.Key{Parts: []policy.KeyPart{{Kind: policy.KeyHeader, Name: "X-K"}}},
		Address: addr, Lease: lease, FailOpen: failOpen, Timeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func TestScriptGrantsExactlyTheBurstThenReportsRetry(t *testing.T) {
	srv := startRedis(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := rueidis.NewLuaScript(gcraScript)
	ctx := context.Background()
	// 1 unit per second (T = 1e6 us), burst 5, asked in leases of 2.
	run := func(want, debt int64) []int64 {
		r, err := s.Exec(ctx, c, []string{"t:k"}, []string{itoa(want), itoa(debt), "1000000", "5000000"}).AsIntSlice()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := run(2, 0); r[0] != 2 {
		t.Fatalf("first lease %v", r)
	}
	if r := run(2, 1); r[0] != 2 { // 1 debt + 2 granted: 5 spent
		t.Fatalf("second lease %v", r)
	}
	r := run(2, 0)
	if r[0] != 0 || r[2] != 1 || r[1] <= 900000 || r[1] > 1000000 {
		t.Fatalf("over the burst: %v, want 0 granted and about 1s to wait on window 1", r)
	}
}

func TestLeasesServeRequestsWithoutWaitingAndRefuseWith429(t *testing.T) {
	srv := startRedis(t)
	l := newLimit(t, srv.Addr, "one", "6/min", 6, 2, false)
	waitFor(t, "redis up", func() bool { return l.Stats().Up })
	c := ctxFor("alice")
	admitted := 0
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		c.RespFields = c.RespFields[:0]
		v := l.OnRequest(c)
		if v.Status == 0 {
			admitted++
			continue
		}
		if v.Status != 429 {
			t.Fatalf("status %d", v.Status)
		}
		f := string(v.Fields)
		if !strings.Contains(f, "RateLimit-Policy: \"one\";q=6;w=60\r\n") || !strings.Contains(f, "Retry-After: ") || !strings.Contains(f, "RateLimit: \"one\";r=0;t=") {
			t.Fatalf("refusal fields %q", f)
		}
		time.Sleep(time.Millisecond)
	}
	// The whole burst, and at most the documented slack beyond it: a key may run up to one
	// lease into debt while the fetch that discovers the burst is spent is on its way (when
	// that fetch read the debt before the requests that ran it up: a matter of scheduling, seen
	// once as 8 under CI-like load), and one lease is on hand (doc.go: 2 x Lease). Redis
	// charges the debt with the next fetch, which TestScriptGrantsExactlyTheBurstThenReportsRetry
	// checks.
	if admitted < 6 || admitted > 6+2*2 {
		t.Fatalf("admitted %d of a 6/min limit (burst 6, lease 2) in 2s, want 6 to 10", admitted)
	}
	if st := l.Stats(); st.Fetches == 0 || st.Errors != 0 {
		t.Fatalf("stats %+v", st)
	}
	if v := l.OnRequest(ctxFor("bob")); v.Status != 0 {
		t.Fatalf("bob refused: %d", v.Status)
	}
}

func TestTwoInstancesShareOneLimitWithinLeaseSlack(t *testing.T) {
	srv := startRedis(t)
	const burst, lease = 20, 2
	a := newLimit(t, srv.Addr, "shared", "20/min", burst, lease, false)
	b := newLimit(t, srv.Addr, "shared", "20/min", burst, lease, false)
	waitFor(t, "redis up", func() bool { return a.Stats().Up && b.Stats().Up })
	ca, cb := ctxFor("k"), ctxFor("k")
	admitted := 0
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; time.Now().Before(deadline) && i < 5000; i++ {
		if a.OnRequest(ca).Status == 0 {
			admitted++
		}
		if b.OnRequest(cb).Status == 0 {
			admitted++
		}
		time.Sleep(200 * time.Microsecond)
	}
	// Every unit spent is charged in Redis (debt is paid with the next
	// fetch), so after the fetches settle the total is the burst; the
	// documented slack bounds any moment: 2*lease per instance.
	if admitted > burst+2*2*lease || admitted < burst-2*lease {
		t.Fatalf("two instances admitted %d of a shared burst of %d (lease %d)", admitted, burst, lease)
	}
	t.Logf("admitted %d of %d", admitted, burst)
}

func TestRedisOutageFailsOpenOrClosedAndRecovers(t *testing.T) {
	srv := startRedis(t)
	open := newLimit(t, srv.Addr, "open", "1000/s", 1000, 10, true)
	closed := newLimit(t, srv.Addr, "closed", "1000/s", 1000, 10, false)
	waitFor(t, "redis up", func() bool { return open.Stats().Up && closed.Stats().Up })
	c := ctxFor("k")
	if open.OnRequest(c).Status != 0 || closed.OnRequest(c).Status != 0 {
		t.Fatal("refused while Redis is up")
	}
	srv.Stop()
	// Requests keep asking for leases; the failed round trips mark Redis down.
	waitFor(t, "outage noticed", func() bool {
		open.OnRequest(ctxFor("k2"))
		closed.OnRequest(ctxFor("k2"))
		return !open.Stats().Up && !closed.Stats().Up
	})
	if v := open.OnRequest(c); v.Status != 0 {
		t.Fatalf("fail-open limit answered %d", v.Status)
	}
	if v := closed.OnRequest(c); v.Status != 503 || v.Reason != "rate limit backend unavailable" {
		t.Fatalf("fail-closed limit: %+v", v)
	}
	if st := closed.Stats(); st.Errors == 0 || st.FailedClosed == 0 || st.LastError == "" {
		t.Fatalf("errors not counted: %+v", st)
	}
	if st := open.Stats(); st.FailedOpen == 0 {
		t.Fatalf("fail-open decisions not counted: %+v", st)
	}
	srv.Start()
	waitFor(t, "reconnect", func() bool { return open.Stats().Up && closed.Stats().Up })
	waitFor(t, "closed limit admits again", func() bool { return closed.OnRequest(ctxFor("k3")).Status == 0 })
}

func TestNewRejectsLeaseAboveBurstAndSubMicrosecondRates(t *testing.T) {
	p, _ := limits.ParsePolicy("p", "10/s", 5)
	fine, _ := limits.ParsePolicy("f", "2000000/s", 0)
	key := policy.Key{Parts: []policy.KeyPart{{Kind: policy.KeyRoute}}}
	for _, cfg := range []Config{
		{Name: "a", Windows: []*limits.Policy{p}, Key: key, Address: "127.0.0.1:1", Lease: 6},
		{Name: "b", Windows: []*limits.Policy{fine}, Key: key, Address: "127.0.0.1:1", Lease: 1},
		{Name: "c", Windows: []*limits.Policy{p}, Address: "127.0.0.1:1", Lease: 1},
		{Name: "d", Windows: []*limits.Policy{{Rate: 1, Per: time.Second}}, Key: key, Address: "127.0.0.1:1", Lease: 1},
	} {
		if l, err := New(cfg); err == nil {
			l.Close()
			t.Errorf("config %s accepted", cfg.Name)
		}
	}
}

func itoa(n int64) string { return strconvItoa(n) }

func newLimitB(b *testing.B, addr string) *Limit {
	l := newLimit(b, addr, "bench", "1000000/s", 1000000, 10000, false)
	waitFor(b, "redis up", func() bool { return l.Stats().Up })
	return l
}

func TestScriptChargesEveryWindowAndReportsTheBindingOne(t *testing.T) {
	srv := startRedis(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := rueidis.NewLuaScript(gcraScript)
	ctx := context.Background()
	keys := []string{"m:0", "m:1"}
	// Window 1: 10/s burst 10 (T = 100ms). Window 2: 4/day burst 4.
	day := itoa(int64(24*time.Hour/time.Microsecond) / 4)
	args := func(want, debt int64) []string {
		return []string{itoa(want), itoa(debt), "100000", "1000000", day, itoa(4 * (int64(24*time.Hour/time.Microsecond) / 4))}
	}
	r, err := s.Exec(ctx, c, keys, args(3, 0)).AsIntSlice()
	if err != nil || r[0] != 3 {
		t.Fatalf("first: %v %v", r, err)
	}
	// Only one unit left in the daily window, although the throttle has 7.
	r, err = s.Exec(ctx, c, keys, args(3, 0)).AsIntSlice()
	if err != nil || r[0] != 1 || r[2] != 2 || r[1] < int64(5*time.Hour/time.Microsecond) {
		t.Fatalf("second: %v %v, want 1 granted and the daily window binding for hours", r, err)
	}
	// Both windows were charged: the throttle's TAT holds 4 units.
	tat0, _ := c.Do(ctx, c.B().Get().Key("m:0").Build()).AsInt64()
	tat1, _ := c.Do(ctx, c.B().Get().Key("m:1").Build()).AsInt64()
	if tat0 == 0 || tat1 == 0 {
		t.Fatalf("windows not stored: %d %d", tat0, tat1)
	}
}
