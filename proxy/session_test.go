package proxy

import (
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/routing"
)

// fakeIO is a driver without sockets: byte buffers for each direction and a record of what the
// session asked for.
type fakeIO struct {
	now        int64
	clientIn   []byte
	clientOut  strings.Builder
	upIn       []byte
	upOut      strings.Builder
	acquires   []bool    // fresh flag of each UpstreamAcquire
	targets    []*Target // target of each UpstreamAcquire
	releases   []bool    // reuse flag of each UpstreamRelease
	closedW    bool
	closed     bool
	clientWait bool    // outbound "full"
	wakes      []int64 // deadlines passed to WakeAt
}

func (f *fakeIO) ClientPeek() []byte  { return f.clientIn }
func (f *fakeIO) ClientDiscard(n int) { f.clientIn = f.clientIn[n:] }
func (f *fakeIO) ClientWrite(a, b []byte) error {
	f.clientOut.Write(a)
	f.clientOut.Write(b)
	return nil
}
func (f *fakeIO) ClientOutbound() int {
	if f.clientWait {
		return 1 << 30
	}
	return 0
}
func (f *fakeIO) ClientPause(bool)  {}
func (f *fakeIO) ClientCloseWrite() { f.closedW = true }
func (f *fakeIO) ClientClose()      { f.closed = true }
func (f *fakeIO) UpstreamAcquire(t *Target, fresh bool) {
	f.acquires = append(f.acquires, fresh)
	f.targets = append(f.targets, t)
}
func (f *fakeIO) UpstreamPeek() []byte  { return f.upIn }
func (f *fakeIO) UpstreamDiscard(n int) { f.upIn = f.upIn[n:] }
func (f *fakeIO) UpstreamWrite(a, b []byte) error {
	f.upOut.Write(a)
	f.upOut.Write(b)
	return nil
}
func (f *fakeIO) UpstreamOutbound() int      { return 0 }
func (f *fakeIO) UpstreamPause(bool)         {}
func (f *fakeIO) UpstreamRelease(reuse bool) { f.releases = append(f.releases, reuse) }
func (f *fakeIO) Now() int64                 { return f.now }
func (f *fakeIO) WakeAt(dl int64)            { f.wakes = append(f.wakes, dl) }
func (f *fakeIO) takeClientOut() string      { s := f.clientOut.String(); f.clientOut.Reset(); return s }
func (f *fakeIO) takeUpOut() string          { s := f.upOut.String(); f.upOut.Reset(); return s }
func (f *fakeIO) feedClient(s *Session, b string) {
	f.clientIn = append(f.clientIn, b...)
	s.OnClientData()
}
func (f *fakeIO) feedUp(s *Session, b string) { f.upIn = append(f.upIn, b...); s.OnUpstreamData() }

// testConfig is one upstream "u" with one target, a route "api" (/api, body limit 100, prefix
// stripped) and a catch-all "all".
func testConfig(tb testing.TB) *atomic.Pointer[Snapshot] {
	tb.Helper()
	up := &Upstream{Name: "u", ResponseTimeout: time.Second, ReadTimeout: time.Second, Retries: 1}
	up.Targets = []*Target{{ID: 0, Addr: "127.0.0.1:1", Upstream: up}}
	table, err := routing.Build([]routing.Spec{
		{Name: "api", PathPrefix: "/api", Target: &Route{Name: "api", Upstream: up, MaxBody: 100, StripPrefix: "/api"}},
		{Name: "all", PathPrefix: "/", Target: &Route{Name: "all", Upstream: up}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	var cfg atomic.Pointer[Snapshot]
	cfg.Store(&Snapshot{Routes: table, HeaderReadTimeout: time.Second, IdleTimeout: 10 * time.Second, Via: []byte("sluice")})
	return &cfg
}

func newTestSession(t *testing.T) (*Session, *fakeIO) {
	t.Helper()
	f := &fakeIO{now: 1}
	return NewSession(f, testConfig(t), &ExchangePool{}, netip.MustParseAddr("10.1.2.3"), "http"), f
}

// exchange runs one simple GET through a ready upstream and returns what the client saw.
func (f *fakeIO) readyAndAnswer(t *testing.T, s *Session, reused bool, response string) string {
	t.Helper()
	if len(f.acquires) == 0 {
		t.Fatal("no upstream was asked for")
	}
	s.OnUpstreamReady(reused)
	f.feedUp(s, response)
	return f.takeClientOut()
}

func TestSessionProxiesSimpleGet(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET /x?q=1 HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\n\r\n")
	got := f.readyAndAnswer(t, s, false, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	sent := f.takeUpOut()
	if !strings.HasPrefix(sent, "GET /x?q=1 HTTP/1.1\r\n") || strings.Contains(sent, "X-Hop") ||
		!strings.Contains(sent, "X-Forwarded-For: 10.1.2.3") || !strings.Contains(sent, "Via: 1.1 sluice") {
		t.Fatalf("upstream got %q", sent)
	}
	if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(got, "\r\n\r\nok") || strings.Contains(got, "Connection: close") {
		t.Fatalf("client got %q", got)
	}
	if len(f.releases) != 1 || !f.releases[0] {
		t.Fatalf("releases %v, want one reuse", f.releases)
	}
	if !s.Idle() {
		t.Fatal("session not idle after a complete exchange")
	}
}

func TestSessionParsesHeadFedByteByByte(t *testing.T) {
	s, f := newTestSession(t)
	req := "POST /api/items HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
	for i := 0; i < len(req); i++ {
		f.feedClient(s, req[i:i+1])
		if i < len(req)-6 && len(f.acquires) != 0 {
			t.Fatalf("acquired upstream before the head was complete (byte %d)", i)
		}
	}
	s.OnUpstreamReady(false)
	if sent := f.takeUpOut(); !strings.HasPrefix(sent, "POST /items HTTP/1.1\r\n") || !strings.HasSuffix(sent, "\r\n\r\nhello") {
		t.Fatalf("upstream got %q (strip_prefix and body expected)", sent)
	}
}

func TestSessionStreamsBodySplitAcrossEvents(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123")
	s.OnUpstreamReady(false)
	f.feedClient(s, "456")
	f.feedClient(s, "789GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
	sent := f.takeUpOut()
	if !strings.HasSuffix(sent, "\r\n\r\n0123456789") {
		t.Fatalf("upstream got %q", sent)
	}
	if len(f.acquires) != 1 {
		t.Fatal("pipelined request started before the first exchange ended")
	}
	f.feedUp(s, "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\n")
	f.feedUp(s, "a")
	f.feedUp(s, "bc")
	if got := f.takeClientOut(); !strings.HasSuffix(got, "\r\n\r\nabc") {
		t.Fatalf("client got %q", got)
	}
	// The pipelined request starts once the first exchange is over.
	if len(f.acquires) != 2 {
		t.Fatalf("acquires = %d, want the pipelined request to start", len(f.acquires))
	}
}

func TestSessionChunkedResponsePassesThrough(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamReady(false)
	f.feedUp(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel")
	f.feedUp(s, "lo\r\n0\r\n\r\n")
	got := f.takeClientOut()
	if !strings.Contains(got, "Transfer-Encoding: chunked\r\n") || !strings.HasSuffix(got, "5\r\nhello\r\n0\r\n\r\n") {
		t.Fatalf("client got %q", got)
	}
	if len(f.releases) != 1 || !f.releases[0] {
		t.Fatalf("releases %v", f.releases)
	}
}

func TestSessionDechunksForHTTP10Client(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET / HTTP/1.0\r\n\r\n")
	s.OnUpstreamReady(false)
	f.feedUp(s, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n")
	got := f.takeClientOut()
	if strings.Contains(got, "Transfer-Encoding") || !strings.HasSuffix(got, "\r\n\r\nhelloabc") || !f.closedW {
		t.Fatalf("client got %q (closed %v)", got, f.closedW)
	}
}

func TestSessionNoBodyForHeadAnd204And304(t *testing.T) {
	for _, tc := range []struct{ req, resp string }{
		{"HEAD / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 204 No Content\r\n\r\n"},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"},
	} {
		s, f := newTestSession(t)
		f.feedClient(s, tc.req)
		s.OnUpstreamReady(false)
		f.feedUp(s, tc.resp)
		if len(f.releases) != 1 || !f.releases[0] || !s.Idle() {
			t.Errorf("%q: releases %v idle %v", tc.resp, f.releases, s.Idle())
		}
	}
}

func TestSessionRetriesOnceOnStaleReusedConnection(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamReady(true)
	s.OnUpstreamClosed()
	if len(f.acquires) != 2 || !f.acquires[1] {
		t.Fatalf("acquires %v, want a fresh retry", f.acquires)
	}
	s.OnUpstreamReady(false)
	if sent := f.takeUpOut(); strings.Count(sent, "GET / HTTP/1.1") != 2 {
		t.Fatalf("upstream got %q, want the head twice", sent)
	}
	f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("client got %q", got)
	}
}

func TestSessionDoesNotRetryPostOrFreshConnection(t *testing.T) {
	for _, tc := range []struct {
		req    string
		reused bool
	}{
		{"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", true},
		{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", false},
	} {
		s, f := newTestSession(t)
		f.feedClient(s, tc.req)
		s.OnUpstreamReady(tc.reused)
		s.OnUpstreamClosed()
		if got := f.takeClientOut(); len(f.acquires) != 1 || !strings.HasPrefix(got, "HTTP/1.1 502 ") || !strings.Contains(got, "X-Sluice-Error: upstream closed connection") {
			t.Errorf("%q reused=%v: acquires %v, client %q", tc.req, tc.reused, f.acquires, got)
		}
	}
}

func TestSessionTruncatedResponseDropsClient(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamReady(false)
	f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
	s.OnUpstreamClosed()
	if !f.closed || !s.Closed() {
		t.Fatal("client kept open after a truncated response")
	}
}

func TestSessionCloseDelimitedResponseEndsConnection(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamReady(false)
	f.feedUp(s, "HTTP/1.1 200 OK\r\n\r\nsome")
	f.upIn = append(f.upIn, " more"...)
	s.OnUpstreamClosed()
	got := f.takeClientOut()
	if !strings.Contains(got, "Connection: close") || !strings.HasSuffix(got, "some more") || !f.closedW {
		t.Fatalf("client got %q, half-closed %v", got, f.closedW)
	}
	if len(f.releases) != 1 || f.releases[0] {
		t.Fatalf("releases %v: a close-delimited upstream is never reused", f.releases)
	}
}

func TestSessionTimers(t *testing.T) {
	t.Run("header timeout answers 408", func(t *testing.T) {
		s, f := newTestSession(t)
		f.feedClient(s, "GET / HTTP/1.1\r\nHo")
		f.now += int64(2 * time.Second)
		s.OnTimer(f.now)
		if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 408 ") || !f.closedW {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("response timeout answers 504", func(t *testing.T) {
		s, f := newTestSession(t)
		f.feedClient(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		s.OnUpstreamReady(false)
		f.now += int64(500 * time.Millisecond)
		s.OnTimer(f.now)
		if f.clientOut.Len() != 0 {
			t.Fatal("fired early")
		}
		f.now += int64(time.Second)
		s.OnTimer(f.now)
		if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 504 ") || len(f.releases) != 1 || f.releases[0] {
			t.Fatalf("got %q releases %v", got, f.releases)
		}
	})
	t.Run("idle keep-alive closes quietly", func(t *testing.T) {
		s, f := newTestSession(t)
		f.now += int64(11 * time.Second)
		s.OnTimer(f.now)
		if !f.closed || f.clientOut.Len() != 0 {
			t.Fatal("idle connection not closed quietly")
		}
	})
}

func TestSessionErrorsBeforeUpstream(t *testing.T) {
	for _, tc := range []struct {
		name, req string
		status    string
		keepAlive bool
	}{
		{"smuggling", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400", false},
		{"too large", "POST /api/x HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n", "413", false},
		{"connect", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", "405", true},
		{"traversal", "GET /%2e%2e/etc HTTP/1.1\r\nHost: a\r\n\r\n", "400", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, f := newTestSession(t)
			f.feedClient(s, tc.req)
			got := f.takeClientOut()
			if !strings.HasPrefix(got, "HTTP/1.1 "+tc.status+" ") || len(f.acquires) != 0 {
				t.Fatalf("got %q, acquires %v", got, f.acquires)
			}
			if tc.keepAlive == f.closedW {
				t.Fatalf("keep-alive %v but half-closed %v", tc.keepAlive, f.closedW)
			}
		})
	}
}

func TestSessionUpgradeTunnelsBothWays(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	s.OnUpstreamReady(false)
	if sent := f.takeUpOut(); !strings.Contains(sent, "Upgrade: websocket") || !strings.Contains(strings.ToLower(sent), "connection: upgrade") {
		t.Fatalf("upstream got %q", sent)
	}
	f.feedUp(s, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nserver-hello")
	if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 101") || !strings.HasSuffix(got, "server-hello") {
		t.Fatalf("client got %q", got)
	}
	f.feedClient(s, "client-bytes")
	if sent := f.takeUpOut(); sent != "client-bytes" {
		t.Fatalf("upstream got %q", sent)
	}
}

func TestSessionBackpressureStopsConsumingUpstream(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamReady(false)
	f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabc")
	f.clientWait = true
	f.feedUp(s, "def")
	if len(f.upIn) != 3 {
		t.Fatalf("consumed upstream bytes while the client backlog was full (left %d)", len(f.upIn))
	}
	f.clientWait = false
	s.OnClientWritable()
	if got := f.takeClientOut(); !strings.HasSuffix(got, "abcdef") || len(f.upIn) != 0 {
		t.Fatalf("client got %q", got)
	}
}

func TestSessionReturnsExchangeToPoolWhenIdle(t *testing.T) {
	s, f := newTestSession(t)
	pool := s.pool
	f.feedClient(s, "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n")
	x := s.exchange
	if x == nil || len(pool.free) != 0 {
		t.Fatal("no exchange borrowed for a request")
	}
	s.OnUpstreamReady(false)
	f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if s.exchange != x {
		t.Fatal("a pipelined request must keep the exchange")
	}
	s.OnUpstreamReady(true)
	f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if s.exchange != nil || len(pool.free) != 1 || pool.free[0] != x {
		t.Fatalf("idle session kept its exchange (pool %d)", len(pool.free))
	}
	f.feedClient(s, "GET /c HTTP/1.1\r\nHost: a\r\n\r\n")
	if s.exchange != x || len(pool.free) != 0 {
		t.Fatal("the next request did not reuse the pooled exchange")
	}
}

type recordingFilter struct {
	verdict Verdict
	add     string
	done    []int
}

func (f *recordingFilter) OnRequest(c *FilterContext) Verdict {
	if c.Req == nil || c.Route == nil {
		panic("filter context without request or route")
	}
	c.RespFields = append(c.RespFields, f.add...)
	return f.verdict
}
func (f *recordingFilter) OnDone(c *FilterContext, status int) { f.done = append(f.done, status) }

func TestSessionFiltersAnswerOrAnnotate(t *testing.T) {
	s, f := newTestSession(t)
	route := s.cfg.Load().Routes.Route(1).Target().(*Route) // "all"
	pass := &recordingFilter{add: "RateLimit: \"r\";r=9;t=1\r\n"}
	deny := &recordingFilter{verdict: Verdict{Status: 429, Reason: "rate limited", Fields: []byte("Retry-After: 3\r\n")}}
	route.Filters = []Filter{pass, deny}
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	got := f.takeClientOut()
	if !strings.HasPrefix(got, "HTTP/1.1 429 ") || !strings.Contains(got, "\r\nRetry-After: 3\r\n") || len(f.acquires) != 0 {
		t.Fatalf("client got %q, acquires %v", got, f.acquires)
	}
	if len(pass.done) != 1 || pass.done[0] != 429 || len(deny.done) != 0 {
		t.Fatalf("OnDone: pass %v deny %v", pass.done, deny.done)
	}
	// Let it through: the passing filter's fields reach the response.
	route.Filters = []Filter{pass}
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	got = f.readyAndAnswer(t, s, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if !strings.Contains(got, "\r\nRateLimit: \"r\";r=9;t=1\r\n") || len(pass.done) != 2 || pass.done[1] != 200 {
		t.Fatalf("client got %q, done %v", got, pass.done)
	}
}

type recordingBalancer struct {
	t        *Target
	outcomes []Outcome
}

func (b *recordingBalancer) Pick(now int64, key uint64) *Target { return b.t }
func (b *recordingBalancer) Done(t *Target, now int64, o Outcome, rtt int64) {
	b.outcomes = append(b.outcomes, o)
}

func TestSessionReportsOutcomesToBalancer(t *testing.T) {
	s, f := newTestSession(t)
	up := s.cfg.Load().Routes.Route(1).Target().(*Route).Upstream
	b := &recordingBalancer{t: up.Targets[0]}
	up.Balancer = b
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamFailed(errConnRefused)
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	f.readyAndAnswer(t, s, false, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n")
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	f.readyAndAnswer(t, s, true, "HTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n")
	want := []Outcome{OutcomeConnectFailure, OutcomeError, OutcomeSuccess}
	if len(b.outcomes) != 3 || b.outcomes[0] != want[0] || b.outcomes[1] != want[1] || b.outcomes[2] != want[2] {
		t.Fatalf("outcomes %v, want %v", b.outcomes, want)
	}
	if up.Targets[0].InFlight.Load() != 0 {
		t.Fatalf("in-flight %d after all exchanges ended", up.Targets[0].InFlight.Load())
	}
}

var errConnRefused = errorString("connection refused")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestSessionRequestID(t *testing.T) {
	s, f := newTestSession(t)
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamReady(false)
	sent := f.takeUpOut()
	i := strings.Index(sent, "X-Request-ID: ")
	if i < 0 {
		t.Fatalf("no generated X-Request-ID upstream: %q", sent)
	}
	id := sent[i+len("X-Request-ID: ") : i+strings.Index(sent[i:], "\r\n")]
	f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if got := f.takeClientOut(); !strings.Contains(got, "X-Request-ID: "+id+"\r\n") {
		t.Fatalf("response lacks the request id %q: %q", id, got)
	}
	// A client's own ID travels as received, once.
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\nX-Request-ID: abc-123\r\n\r\n")
	s.OnUpstreamReady(true)
	if sent := f.takeUpOut(); strings.Count(sent, "X-Request-ID") != 1 || !strings.Contains(sent, "X-Request-ID: abc-123\r\n") {
		t.Fatalf("upstream got %q", sent)
	}
	f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	f.takeClientOut()
	// Gateway answers carry it too; a new request never reuses the last one's.
	f.feedClient(s, "GET /%2e%2e/x HTTP/1.1\r\nHost: a\r\n\r\n")
	got := f.takeClientOut()
	if !strings.HasPrefix(got, "HTTP/1.1 400") || !strings.Contains(got, "X-Request-ID: ") || strings.Contains(got, "abc-123") || strings.Contains(got, id) {
		t.Fatalf("error answer: %q", got)
	}
}

// movingBalancer picks targets in order and moves a failed request to the next one while its
// budget lasts, recording every Done.
type movingBalancer struct {
	ts     []*Target
	next   int
	budget int
	done   []string // "addr:outcome"
	asked  []*Target
	// same makes Retry answer the failed target again after delay (no other target).
	same     bool
	delay    time.Duration
	attempts []int
}

func (b *movingBalancer) Pick(now int64, key uint64) *Target {
	t := b.ts[b.next%len(b.ts)]
	b.next++
	return t
}
func (b *movingBalancer) Done(t *Target, now int64, o Outcome, rtt int64) {
	b.done = append(b.done, t.Addr+":"+string(rune('0'+o)))
}
func (b *movingBalancer) Retry(now int64, key uint64, failed *Target, attempt int) (*Target, time.Duration) {
	b.asked = append(b.asked, failed)
	b.attempts = append(b.attempts, attempt)
	if b.budget == 0 {
		return nil, 0
	}
	b.budget--
	if b.same {
		return failed, b.delay
	}
	for _, t := range b.ts {
		if t != failed {
			return t, 0
		}
	}
	return nil, 0
}

func newMovingSession(t *testing.T, retries, budget int) (*Session, *fakeIO, *movingBalancer) {
	s, f := newTestSession(t)
	up := s.cfg.Load().Routes.Route(1).Target().(*Route).Upstream
	up.Retries = retries
	up.Targets = append(up.Targets, &Target{ID: 1, Addr: "127.0.0.1:2", Upstream: up})
	b := &movingBalancer{ts: up.Targets, budget: budget}
	up.Balancer = b
	return s, f, b
}

func TestSessionMovesConnectFailureToAnotherTarget(t *testing.T) {
	for _, req := range []string{
		"GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
		// Nothing was sent, so even a POST with a body may move.
		"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi",
	} {
		s, f, b := newMovingSession(t, 1, 10)
		f.feedClient(s, req)
		s.OnUpstreamFailed(errConnRefused)
		if len(f.targets) != 2 || f.targets[0].Addr != "127.0.0.1:1" || f.targets[1].Addr != "127.0.0.1:2" {
			t.Fatalf("%q: acquired %v, want 1 then 2", req, f.targets)
		}
		f.readyAndAnswer(t, s, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		if sent := f.takeUpOut(); !strings.HasPrefix(sent, req[:4]) || (strings.HasPrefix(req, "POST") && !strings.HasSuffix(sent, "hi")) {
			t.Fatalf("%q: upstream got %q", req, sent)
		}
		want := "127.0.0.1:1:1 127.0.0.1:2:0" // connect failure on 1, success on 2
		if got := strings.Join(b.done, " "); got != want {
			t.Fatalf("%q: Done calls %q, want %q", req, got, want)
		}
		for _, tg := range b.ts {
			if tg.InFlight.Load() != 0 {
				t.Fatalf("%s in flight %d after the exchange", tg.Addr, tg.InFlight.Load())
			}
		}
	}
}

func TestSessionMovesAtMostRetriesTimes(t *testing.T) {
	s, f, b := newMovingSession(t, 1, 10)
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamFailed(errConnRefused)
	s.OnUpstreamFailed(errConnRefused)
	if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 502 ") {
		t.Fatalf("client got %q after two connect failures with retries 1", got)
	}
	if len(f.targets) != 2 || len(b.done) != 2 {
		t.Fatalf("acquired %d, Done %v; want 2 attempts each settled once", len(f.targets), b.done)
	}
}

func TestSessionAnswersWhenTheBudgetRefusesAMove(t *testing.T) {
	s, f, b := newMovingSession(t, 3, 0)
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamFailed(errConnRefused)
	if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 502 ") {
		t.Fatalf("client got %q, want 502", got)
	}
	if len(b.asked) != 1 || len(b.done) != 1 || b.done[0] != "127.0.0.1:1:1" {
		t.Fatalf("asked %d, Done %v; want one refused retry and the failure settled once", len(b.asked), b.done)
	}
	if b.ts[0].InFlight.Load() != 0 {
		t.Fatal("in flight left counted")
	}
}

func TestSessionMovesIdempotentRequestWhenUpstreamDiesBeforeAnswering(t *testing.T) {
	for _, tc := range []struct {
		req  string
		move bool
	}{
		{"GET /x HTTP/1.1\r\nHost: a\r\n\r\n", true},
		{"POST /x HTTP/1.1\r\nHost: a\r\n\r\n", false},                      // not idempotent
		{"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", false}, // body already sent
	} {
		s, f, _ := newMovingSession(t, 1, 10)
		f.feedClient(s, tc.req)
		s.OnUpstreamReady(false) // fresh connection: the stale-connection retry does not apply
		s.OnUpstreamClosed()
		moved := len(f.targets) == 2 && f.targets[1].Addr == "127.0.0.1:2"
		if moved != tc.move {
			t.Fatalf("%q: acquired %v, want moved=%v", tc.req, f.targets, tc.move)
		}
		if !tc.move {
			if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 502 ") {
				t.Fatalf("%q: client got %q", tc.req, got)
			}
		}
	}
}

func TestSessionRetriesTheSameTargetAfterTheBackoff(t *testing.T) {
	s, f, b := newMovingSession(t, 2, 10)
	b.same, b.delay = true, 50*time.Millisecond
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamFailed(errConnRefused)
	if len(f.targets) != 1 {
		t.Fatalf("acquired %d times before the backoff ran out, want 1", len(f.targets))
	}
	if want := f.now + int64(50*time.Millisecond); len(f.wakes) != 1 || f.wakes[0] != want || s.Deadline() != want {
		t.Fatalf("wakes asked %v, deadline %d; want one wake at the backoff's end %d", f.wakes, s.Deadline(), want)
	}
	s.OnTimer(f.now + int64(49*time.Millisecond))
	if len(f.targets) != 1 {
		t.Fatal("retried before the backoff ran out")
	}
	s.OnTimer(f.now + int64(50*time.Millisecond))
	if len(f.targets) != 2 || f.targets[1] != b.ts[0] || !f.acquires[1] {
		t.Fatalf("after the backoff: acquired %v (fresh %v), want a fresh connection to the same target", f.targets, f.acquires)
	}
	s.OnUpstreamFailed(errConnRefused)
	s.OnTimer(f.now + int64(100*time.Millisecond))
	if len(b.attempts) != 2 || b.attempts[0] != 0 || b.attempts[1] != 1 {
		t.Fatalf("attempts asked %v, want [0 1]", b.attempts)
	}
	f.readyAndAnswer(t, s, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	if b.ts[0].InFlight.Load() != 0 || len(b.done) != 3 {
		t.Fatalf("in flight %d, Done %v; want 0 and three settled attempts", b.ts[0].InFlight.Load(), b.done)
	}
}

func TestSessionClientLeavingDuringBackoffSettlesTheAttempt(t *testing.T) {
	s, f, b := newMovingSession(t, 1, 10)
	b.same, b.delay = true, time.Second
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamFailed(errConnRefused)
	s.OnClientClosed()
	if b.ts[0].InFlight.Load() != 0 || len(b.done) != 2 || b.done[1] != "127.0.0.1:1:4" {
		t.Fatalf("in flight %d, Done %v; want the waiting attempt settled as abandoned", b.ts[0].InFlight.Load(), b.done)
	}
	s.OnTimer(f.now + int64(2*time.Second))
	if len(f.targets) != 1 {
		t.Fatal("a closed session still retried")
	}
}

func TestSessionPoolLimitIsNoVerdictOnTheTarget(t *testing.T) {
	s, f := newTestSession(t)
	up := s.cfg.Load().Routes.Route(1).Target().(*Route).Upstream
	b := &recordingBalancer{t: up.Targets[0]}
	up.Balancer = b
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamFailed(ErrPoolFull)
	if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 503 ") {
		t.Fatalf("client got %q", got)
	}
	if len(b.outcomes) != 1 || b.outcomes[0] != OutcomeAbandoned {
		t.Fatalf("outcomes %v, want [abandoned]: a full local pool says nothing about the target", b.outcomes)
	}
}

func TestSessionConnectTimeoutIsAConnectFailure(t *testing.T) {
	s, f := newTestSession(t)
	up := s.cfg.Load().Routes.Route(1).Target().(*Route).Upstream
	b := &recordingBalancer{t: up.Targets[0]}
	up.Balancer = b
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamFailed(ErrConnectTimeout)
	if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 504 ") {
		t.Fatalf("client got %q", got)
	}
	if len(b.outcomes) != 1 || b.outcomes[0] != OutcomeConnectFailure {
		t.Fatalf("outcomes %v, want [connect failure]", b.outcomes)
	}
}

func TestSessionCountsRouteInFlight(t *testing.T) {
	s, f := newTestSession(t)
	route := s.cfg.Load().Routes.Route(1).Target().(*Route)
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	if n := route.InFlight.Load(); n != 1 {
		t.Fatalf("in flight %d during the exchange", n)
	}
	f.readyAndAnswer(t, s, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	s.OnUpstreamReady(false)
	s.OnClientClosed()
	if n := route.InFlight.Load(); n != 0 {
		t.Fatalf("in flight %d after the exchanges ended", n)
	}
}

// postingIO lets parked sessions be resumed: Post queues the function for the test to run.
type postingIO struct {
	*fakeIO
	posted []func()
}

func (p *postingIO) Post(fn func()) error { p.posted = append(p.posted, fn); return nil }

type queueingFilter struct {
	waiter    Waiter
	token     uint64
	cancelled bool
	done      []int
}

func (q *queueingFilter) OnRequest(c *FilterContext) Verdict {
	q.waiter, q.token = c.Waiter, c.WaitToken
	return Verdict{Queue: time.Second, Reason: "busy"}
}
func (q *queueingFilter) OnDone(c *FilterContext, status int) { q.done = append(q.done, status) }
func (q *queueingFilter) Cancel(c *FilterContext) bool        { q.cancelled = true; return true }

func TestSessionParksAQueuedRequestUntilWoken(t *testing.T) {
	s0, f := newTestSession(t)
	p := &postingIO{fakeIO: f}
	s := NewSession(p, s0.cfg, &ExchangePool{}, s0.peer, "http")
	q := &queueingFilter{}
	route := s.cfg.Load().Routes.Route(1).Target().(*Route)
	route.Filters = []Filter{q}
	f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	if len(f.acquires) != 0 || f.clientOut.Len() != 0 {
		t.Fatal("a queued request went on")
	}
	q.waiter.Wake(q.token, true)
	for _, fn := range p.posted {
		fn()
	}
	if len(f.acquires) != 1 {
		t.Fatal("the woken request did not go upstream")
	}
	if got := f.readyAndAnswer(t, s, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("client got %q", got)
	}
	if len(q.done) != 1 || q.done[0] != 200 {
		t.Fatalf("the slot was not released: %v", q.done)
	}
	// A second one times out in the queue: 503, the filter's entry cancelled, a late wake ignored.
	p.posted = nil
	f.feedClient(s, "GET /y HTTP/1.1\r\nHost: a\r\n\r\n")
	f.now += int64(2 * time.Second)
	s.OnTimer(f.now)
	if got := f.takeClientOut(); !strings.HasPrefix(got, "HTTP/1.1 503") || !strings.Contains(got, "X-Sluice-Error: busy") || !q.cancelled {
		t.Fatalf("timeout: %q cancelled=%v", got, q.cancelled)
	}
	q.waiter.Wake(q.token, true)
	for _, fn := range p.posted {
		fn()
	}
	if len(f.acquires) != 1 {
		t.Fatal("a stale wake restarted the request")
	}
}

// TestSessionUpstreamCloseFinishingABufferedBody: a response whose body waited in the
// upstream buffer (the client's backlog was full) is completed by the upstream's close. The
// close handler forwards it, which ends the exchange and releases it, or starts the next
// pipelined request; it must then leave that alone. (It read the released exchange and
// crashed the process, or aborted the next request as "upstream closed mid-response".)
func TestSessionUpstreamCloseFinishingABufferedBody(t *testing.T) {
	for _, pipelined := range []bool{false, true} {
		s, f := newTestSession(t)
		reqs := "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
		if pipelined {
			reqs += "GET /b HTTP/1.1\r\nHost: a\r\n\r\n"
		}
		f.feedClient(s, reqs)
		s.OnUpstreamReady(false)
		f.clientWait = true
		f.feedUp(s, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
		f.clientWait = false
		s.OnUpstreamClosed()
		got := f.takeClientOut()
		if !strings.HasPrefix(got, "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(got, "\r\n\r\nhello") {
			t.Fatalf("pipelined=%v: client got %q", pipelined, got)
		}
		if f.closed {
			t.Fatalf("pipelined=%v: the client was closed after a complete answer", pipelined)
		}
		if pipelined {
			if len(f.acquires) != 2 || s.Idle() {
				t.Fatalf("the pipelined request did not go on: acquires %v, idle %v", f.acquires, s.Idle())
			}
		} else if !s.Idle() {
			t.Fatal("the session is not idle after the complete answer")
		}
	}
}

// TestRequestIDsOfLoopsAndStreamsNeverCollide numbers IDs from two loops' own pools and from
// pools without their own range (the stream path's): every ID is distinct, a loop's own pool
// leaves the process-wide counter alone, and the top byte tells the loops apart.
func TestRequestIDsOfLoopsAndStreamsNeverCollide(t *testing.T) {
	loops := []*ExchangePool{{Loop: 0, OwnIDs: true}, {Loop: 1, OwnIDs: true}}
	streams := []*ExchangePool{{Loop: 1}, {Loop: 7}, nil}
	seen := map[uint64]string{}
	before := requestIDCounter.Load()
	for i := 0; i < 1000; i++ {
		for j, p := range loops {
			id := p.nextRequestID()
			if id>>40 != uint64(j+1) {
				t.Fatalf("loop %d made %#x: top byte is not its range", j, id)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("%#x made twice (%s, loop %d)", id, prev, j)
			}
			seen[id] = "loop"
		}
	}
	if requestIDCounter.Load() != before {
		t.Fatal("a loop's own pool took the process-wide counter")
	}
	for i := 0; i < 1000; i++ {
		for _, p := range streams {
			id := p.nextRequestID()
			if id>>40 != 0 {
				t.Fatalf("a stream pool made %#x, in a loop's range", id)
			}
			if prev, dup := seen[id]; dup {
				t.Fatalf("%#x made twice (%s, stream)", id, prev)
			}
			seen[id] = "stream"
		}
	}
}
