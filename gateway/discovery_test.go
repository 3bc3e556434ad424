package gateway

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sluice-gw/sluice/config"
)

// dnsZone is a DNS server on loopback answering from records the test changes as it goes.
type dnsZone struct {
	Addr string
	mu   sync.Mutex
	rrs  map[string][]dns.RR // "name/type" -> answer
	fail bool                // answer SERVFAIL
	asks map[string]int
}

func startDNS(t *testing.T) *dnsZone {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := &dnsZone{Addr: pc.LocalAddr().String(), rrs: map[string][]dns.RR{}, asks: map[string]int{}}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: z, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { _ = srv.Shutdown() })
	return z
}

// set replaces the records of name and type; zone-file lines, e.g. "a.svc. 1 IN A 127.0.0.1".
func (z *dnsZone) set(name string, qtype uint16, lines ...string) {
	var rrs []dns.RR
	for _, l := range lines {
		rr, err := dns.NewRR(l)
		if err != nil {
			panic(err)
		}
		rrs = append(rrs, rr)
	}
	z.mu.Lock()
	z.rrs[dns.Fqdn(name)+"/"+dns.TypeToString[qtype]] = rrs
	z.mu.Unlock()
}

func (z *dnsZone) ServeDNS(w dns.ResponseWriter, q *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(q)
	z.mu.Lock()
	key := q.Question[0].Name + "/" + dns.TypeToString[q.Question[0].Qtype]
	z.asks[key]++
	rrs, ok := z.rrs[key]
	_, anyType := z.rrs[q.Question[0].Name+"/A"]
	_, anySRV := z.rrs[q.Question[0].Name+"/SRV"]
	_, anyAAAA := z.rrs[q.Question[0].Name+"/AAAA"]
	extra := z.rrs[q.Question[0].Name+"/extra"]
	fail := z.fail
	z.mu.Unlock()
	switch {
	case fail:
		m.Rcode = dns.RcodeServerFailure
	case ok:
		m.Answer = rrs
		m.Extra = extra
	case !anyType && !anySRV && !anyAAAA:
		m.Rcode = dns.RcodeNameError
	}
	_ = w.WriteMsg(m)
}

func (z *dnsZone) asked(name string, qtype uint16) int {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.asks[dns.Fqdn(name)+"/"+dns.TypeToString[qtype]]
}

// TestSRVWeightsBecomeTargetWeights: the records of one priority share the name's weight in
// proportion to their SRV weights (RFC 2782), scaled so the heaviest gets srvShares; a weight
// 0 gets the smallest share, and all-zero records are equal. The configured weight multiplies.
func TestSRVWeightsBecomeTargetWeights(t *testing.T) {
	z := startDNS(t)
	z.set("_http._tcp.w.svc", dns.TypeSRV,
		"_http._tcp.w.svc. 10 IN SRV 0 60 8001 a.w.svc.",
		"_http._tcp.w.svc. 10 IN SRV 0 20 8002 b.w.svc.",
		"_http._tcp.w.svc. 10 IN SRV 0 0 8003 c.w.svc.")
	z.set("_http._tcp.zero.svc", dns.TypeSRV,
		"_http._tcp.zero.svc. 10 IN SRV 0 0 8004 a.w.svc.",
		"_http._tcp.zero.svc. 10 IN SRV 0 0 8005 b.w.svc.")
	for _, h := range []string{"a.w.svc", "b.w.svc", "c.w.svc"} {
		z.set(h, dns.TypeA, h+". 10 IN A 127.0.0.1")
	}
	_, shares, _, err := resolve(nameKey{resolver: z.Addr, srv: "_http._tcp.w.svc"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"127.0.0.1:8001": 100, "127.0.0.1:8002": 33, "127.0.0.1:8003": 1}
	if !maps.Equal(shares, want) {
		t.Fatalf("shares %v, want %v", shares, want)
	}
	_, shares, _, err = resolve(nameKey{resolver: z.Addr, srv: "_http._tcp.zero.svc"})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"127.0.0.1:8004": 1, "127.0.0.1:8005": 1}; !maps.Equal(shares, want) {
		t.Fatalf("all-zero shares %v, want %v", shares, want)
	}
	for _, c := range []struct{ weight, share, want int }{{1, 0, 1}, {3, 0, 3}, {1, 33, 33}, {5, 100, 500}, {1000, 100, 10000}} {
		if got := srvWeight(c.weight, c.share); got != c.want {
			t.Fatalf("srvWeight(%d, %d) = %d, want %d", c.weight, c.share, got, c.want)
		}
	}
}

func TestResolveAnswersFromTheZone(t *testing.T) {
	z := startDNS(t)
	z.set("both.svc", dns.TypeA, "both.svc. 30 IN A 127.0.0.1")
	z.set("both.svc", dns.TypeAAAA, "both.svc. 20 IN AAAA ::1")
	z.set("_http._tcp.web.svc", dns.TypeSRV,
		"_http._tcp.web.svc. 10 IN SRV 0 5 8001 a.web.svc.",
		"_http._tcp.web.svc. 10 IN SRV 0 5 8002 b.web.svc.",
		"_http._tcp.web.svc. 10 IN SRV 1 5 8003 backup.web.svc.") // lower priority: not used
	z.set("a.web.svc", dns.TypeA, "a.web.svc. 7 IN A 127.0.0.1")
	z.set("b.web.svc", dns.TypeA, "b.web.svc. 30 IN A 127.0.0.1")
	z.set("_http._tcp.extra.svc", dns.TypeSRV, "_http._tcp.extra.svc. 10 IN SRV 0 0 9000 pod.extra.svc.")
	z.mu.Lock()
	rr, _ := dns.NewRR("pod.extra.svc. 10 IN A 127.0.0.1")
	z.rrs["_http._tcp.extra.svc./extra"] = []dns.RR{rr}
	z.mu.Unlock()

	cases := []struct {
		name  string
		key   nameKey
		addrs []string
		ttl   time.Duration
	}{
		{"A and AAAA", nameKey{dns: "both.svc:80"}, []string{"127.0.0.1:80", "[::1]:80"}, 20 * time.Second},
		{"SRV of the lowest priority", nameKey{srv: "_http._tcp.web.svc"}, []string{"127.0.0.1:8001", "127.0.0.1:8002"}, 7 * time.Second},
		{"SRV with addresses in the additional section", nameKey{srv: "_http._tcp.extra.svc"}, []string{"127.0.0.1:9000"}, 10 * time.Second},
		{"a name that does not exist", nameKey{dns: "gone.svc:80"}, nil, negativeTTL},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.key.resolver = z.Addr
			addrs, _, ttl, err := resolve(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(addrs, tc.addrs) || ttl != tc.ttl {
				t.Fatalf("got %v ttl %v, want %v ttl %v", addrs, ttl, tc.addrs, tc.ttl)
			}
		})
	}
	if z.asked("pod.extra.svc", dns.TypeA) != 0 {
		t.Fatal("asked for an address the additional section already gave")
	}
	z.mu.Lock()
	z.fail = true
	z.mu.Unlock()
	if _, _, _, err := resolve(nameKey{resolver: z.Addr, dns: "both.svc:80"}); err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Fatalf("SERVFAIL gave err %v", err)
	}
}

// get sends one GET through the gateway and returns the body, or the error text.
func getBody(cl *http.Client, addr string) string {
	resp, err := cl.Get("http://" + addr + "/")
	if err != nil {
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Sprintf("status %d %s", resp.StatusCode, resp.Header.Get("X-Sluice-Error"))
	}
	return string(b)
}

func TestSRVChangeMovesTrafficWithoutDroppingInFlight(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		release := make(chan struct{})
		first := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				<-release
			}
			io.WriteString(w, "first")
		}))
		second := startHTTPUpstream(t, okHandler("second"))
		_, p1, _ := net.SplitHostPort(first.Addr)
		_, p2, _ := net.SplitHostPort(second.Addr)
		z := startDNS(t)
		z.set("_http._tcp.app.svc", dns.TypeSRV, "_http._tcp.app.svc. 1 IN SRV 0 0 "+p1+" pod.app.svc.")
		z.set("pod.app.svc", dns.TypeA, "pod.app.svc. 1 IN A 127.0.0.1")
		g, addr := startGateway(t, engine, "upstreams:\n  u:\n    resolver: "+z.Addr+"\n    targets:\n      - srv: _http._tcp.app.svc\n"+
			"routes:\n  - match: { path_prefix: / }\n    upstream: u\n")
		cl := &http.Client{Timeout: 10 * time.Second}
		if got := getBody(cl, addr); got != "first" {
			t.Fatalf("before the change: %q", got)
		}
		// A request in flight on the first target when the record moves.
		slow := make(chan string, 1)
		go func() {
			resp, err := http.Get("http://" + addr + "/slow")
			if err != nil {
				slow <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			slow <- fmt.Sprintf("%d %s", resp.StatusCode, b)
		}()
		waitFor(t, "the slow request to reach the first target", func() bool { return first.requests.Load() >= 2 })
		v := g.Version()
		z.set("_http._tcp.app.svc", dns.TypeSRV, "_http._tcp.app.svc. 1 IN SRV 0 0 "+p2+" pod.app.svc.")
		waitFor(t, "the answer to be applied", func() bool { return g.Version() > v })
		for i := 0; i < 20; i++ {
			if got := getBody(cl, addr); got != "second" {
				t.Fatalf("after the change, request %d: %q", i, got)
			}
		}
		close(release)
		select {
		case got := <-slow:
			if got != "200 first" {
				t.Fatalf("in-flight request on the old target ended %q", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("in-flight request never finished")
		}
	})
}

func TestDNSChangeFromAToAAAAMovesTraffic(t *testing.T) {
	v4 := startHTTPUpstream(t, okHandler("v4"))
	_, port, _ := net.SplitHostPort(v4.Addr)
	ln6, err := net.Listen("tcp", "[::1]:"+port)
	if err != nil {
		t.Skipf("no IPv6 loopback on port %s: %v", port, err)
	}
	srv6 := &http.Server{Handler: okHandler("v6")}
	go srv6.Serve(ln6)
	t.Cleanup(func() { srv6.Close() })
	z := startDNS(t)
	z.set("api.svc", dns.TypeA, "api.svc. 1 IN A 127.0.0.1")
	z.set("api.svc", dns.TypeAAAA)
	g, addr := startGateway(t, backends()[0], "upstreams:\n  u:\n    resolver: "+z.Addr+"\n    targets:\n      - dns: api.svc:"+port+"\n"+
		"routes:\n  - match: { path_prefix: / }\n    upstream: u\n")
	cl := &http.Client{Timeout: 10 * time.Second}
	if got := getBody(cl, addr); got != "v4" {
		t.Fatalf("before: %q", got)
	}
	v := g.Version()
	z.set("api.svc", dns.TypeA)
	z.set("api.svc", dns.TypeAAAA, "api.svc. 1 IN AAAA ::1")
	waitFor(t, "the answer to be applied", func() bool { return g.Version() > v })
	for i := 0; i < 10; i++ {
		if got := getBody(cl, addr); got != "v6" {
			t.Fatalf("after, request %d: %q", i, got)
		}
	}
	if g.res.targetStats("u")[0].Addr != "[::1]:"+port {
		t.Fatalf("lb targets %+v", g.res.targetStats("u"))
	}
	// The DNS server fails: the last answer stays in force and the error is reported.
	z.mu.Lock()
	z.fail = true
	z.mu.Unlock()
	waitFor(t, "the failed lookup to be reported", func() bool {
		names, _ := g.Discovery()
		return len(names) == 1 && strings.Contains(names[0].Err, "SERVFAIL")
	})
	names, rebuildErr := g.Discovery()
	if names[0].Name != "dns api.svc:"+port || names[0].Resolver != z.Addr || !slices.Equal(names[0].Addrs, []string{"[::1]:" + port}) || rebuildErr != nil {
		t.Fatalf("discovery %+v, rebuild error %v", names, rebuildErr)
	}
	for i := 0; i < 5; i++ {
		if got := getBody(cl, addr); got != "v6" {
			t.Fatalf("while DNS fails, request %d: %q", i, got)
		}
	}
}

func TestUnresolvableNameIsAConfigError(t *testing.T) {
	z := startDNS(t)
	z.mu.Lock()
	z.fail = true
	z.mu.Unlock()
	f := newLBFixture(t)
	yaml := "listen:\n  - address: 127.0.0.1:1\nupstreams:\n  u:\n    resolver: " + z.Addr + "\n    targets:\n      - dns: x.svc:80\nroutes:\n  - match: { path_prefix: / }\n    upstream: u\n"
	c, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := build(c, &f.ids, &f.res, 1, nil); err == nil || !strings.Contains(err.Error(), "SERVFAIL") {
		t.Fatalf("build with a failing resolver: %v", err)
	}
}
