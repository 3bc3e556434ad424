package gateway

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/config"
)

// backends lists the engines every end-to-end test runs on.
func backends() []string {
	var out []string
	for _, name := range []string{config.EngineEpoll, config.EngineGnet} {
		if _, ok := Starters[name]; ok {
			out = append(out, name)
		}
	}
	return out
}

// eachBackend runs f as a subtest per engine backend.
func eachBackend(t *testing.T, f func(t *testing.T, engine string)) {
	for _, b := range backends() {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

// freePort reserves a loopback port number (gnet cannot report a ":0" listener's port).
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startGateway runs a gateway on engine with a config whose listen address is filled in; body
// is the YAML after the listen section (upstreams, routes, ...).
func startGateway(t testing.TB, engine, body string) (*Gateway, string) {
	t.Helper()
	addr := freePort(t)
	yaml := fmt.Sprintf("engine: %s\nloops: 1\nlisten:\n  - address: %s\nadmin:\n  address: \"off\"\n%s", engine, addr, body)
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	g, err := Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	waitListening(t, addr)
	return g, addr
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never listened", addr)
}

// oneUpstream is the YAML for one upstream "u" with the given targets and a catch-all route.
func oneUpstream(extra string, targets ...string) string {
	var b strings.Builder
	b.WriteString("upstreams:\n  u:\n    targets:\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "      - address: %s\n", t)
	}
	b.WriteString(extra)
	b.WriteString("routes:\n  - match: { path_prefix: / }\n    upstream: u\n")
	return b.String()
}

// countingServer is a net/http upstream that counts requests and distinct connections.
type countingServer struct {
	*http.Server
	Addr     string
	requests atomic.Int64
	conns    atomic.Int64
}

func startHTTPUpstream(t testing.TB, h http.Handler) *countingServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingServer{Addr: ln.Addr().String()}
	cs.Server = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cs.requests.Add(1)
			h.ServeHTTP(w, r)
		}),
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				cs.conns.Add(1)
			}
		},
	}
	go cs.Serve(ln)
	t.Cleanup(func() { cs.Close() })
	return cs
}

// rawServer accepts connections and hands each to handle on its own goroutine.
type rawServer struct {
	ln    net.Listener
	Addr  string
	wg    sync.WaitGroup
	conns atomic.Int64
}

func startRawUpstream(t testing.TB, handle func(c net.Conn)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, Addr: ln.Addr().String()}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// client is a raw keep-alive client that reads responses with net/http's parser.
type client struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatal(err)
	}
}

// read reads one response and its whole body.
func (c *client) read(method string) (*http.Response, string) {
	c.t.Helper()
	resp, err := http.ReadResponse(c.br, &http.Request{Method: method})
	if err != nil {
		c.t.Fatalf("read response: %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	c.send("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n")
	return c.read("GET")
}

// expectClosed asserts that the connection ends (EOF or reset) without more bytes than allowed.
func (c *client) expectClosed() string {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c.br)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		c.t.Fatalf("connection still open after 5s (read %q)", b)
	}
	return string(b)
}
