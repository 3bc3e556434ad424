package proxy

import (
	"net/netip"
	"testing"
)

// benchIO is a driver that keeps nothing: the cost measured is the session's alone.
type benchIO struct {
	now            int64
	clientIn, upIn []byte
	out            int
}

func (f *benchIO) ClientPeek() []byte              { return f.clientIn }
func (f *benchIO) ClientDiscard(n int)             { f.clientIn = f.clientIn[n:] }
func (f *benchIO) ClientWrite(a, b []byte) error   { f.out += len(a) + len(b); return nil }
func (f *benchIO) ClientOutbound() int             { return 0 }
func (f *benchIO) ClientPause(bool)                {}
func (f *benchIO) ClientCloseWrite()               {}
func (f *benchIO) ClientClose()                    {}
func (f *benchIO) UpstreamAcquire(*Target, bool)   {}
func (f *benchIO) UpstreamPeek() []byte            { return f.upIn }
func (f *benchIO) UpstreamDiscard(n int)           { f.upIn = f.upIn[n:] }
func (f *benchIO) UpstreamWrite(a, b []byte) error { f.out += len(a) + len(b); return nil }
func (f *benchIO) UpstreamOutbound() int           { return 0 }
func (f *benchIO) UpstreamPause(bool)              {}
func (f *benchIO) UpstreamRelease(bool)            {}
func (f *benchIO) Now() int64                      { return f.now }
func (f *benchIO) WakeAt(int64)                    {}

// BenchmarkSessionExchange is one keep-alive GET through the session without sockets: parse,
// route (testConfig's /api route, prefix stripped), balance, rewrite the head, parse the
// response, write it: the user-space part of a
// proxied request (the kernel's part is measured by bench/peers). 0 allocs/op.
func BenchmarkSessionExchange(b *testing.B) {
	f := &benchIO{now: 1}
	s := NewSession(f, testConfig(b), &ExchangePool{}, netip.MustParseAddr("10.1.2.3"), "http")
	req := []byte("GET /api/v1/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench\r\nAccept: application/json\r\n\r\n")
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\":42,\"n\"}")
	one := func() {
		f.now += 1000
		f.clientIn = req
		s.OnClientData()
		s.OnUpstreamReady(true)
		f.upIn = resp
		s.OnUpstreamData()
	}
	for i := 0; i < 100; i++ {
		one()
	}
	if f.out == 0 || !s.Idle() {
		b.Fatalf("the exchange did not complete (out %d, idle %v)", f.out, s.Idle())
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		one()
	}
	if !s.Idle() {
		b.Fatal("the session is not idle after the exchanges")
	}
}
