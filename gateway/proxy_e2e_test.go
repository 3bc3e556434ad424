package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestProxyKeepAliveReusesUpstreamConnection(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello %s", r.URL.Path)
		}))
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		const n = 20
		for i := 0; i < n; i++ {
			resp, body := c.get(fmt.Sprintf("/x/%d", i))
			if resp.StatusCode != 200 || body != fmt.Sprintf("hello /x/%d", i) {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
		}
		if got := up.requests.Load(); got != n {
			t.Fatalf("upstream saw %d requests, want %d", got, n)
		}
		if got := up.conns.Load(); got != 1 {
			t.Fatalf("upstream saw %d connections for %d sequential requests, want 1", got, n)
		}
	})
}

func TestProxyForwardingHeaders(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		var got http.Header
		var mu sync.Mutex
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = r.Header.Clone()
			got.Set("Host", r.Host)
			mu.Unlock()
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Header().Set("X-Up", "1")
		}))
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		c.send("GET /h HTTP/1.1\r\nHost: example.test\r\nConnection: keep-alive, X-Secret\r\nX-Secret: s\r\nX-Forwarded-For: 6.6.6.6\r\nTE: trailers\r\n\r\n")
		resp, _ := c.read("GET")
		mu.Lock()
		defer mu.Unlock()
		if got.Get("X-Secret") != "" || got.Get("Te") != "" {
			t.Errorf("hop-by-hop headers reached the upstream: %v", got)
		}
		if xff := got.Get("X-Forwarded-For"); xff != "127.0.0.1" {
			t.Errorf("X-Forwarded-For = %q, want the untrusted chain replaced by 127.0.0.1", xff)
		}
		if got.Get("X-Forwarded-Proto") != "http" || got.Get("X-Forwarded-Host") != "example.test" || got.Get("Host") != "example.test" {
			t.Errorf("forwarded headers: %v", got)
		}
		if !strings.Contains(got.Get("Via"), "sluice") {
			t.Errorf("Via = %q", got.Get("Via"))
		}
		if fw := got.Values("Forwarded"); len(fw) != 1 || fw[0] != `for=127.0.0.1;proto=http;host="example.test"` {
			t.Errorf("Forwarded = %q (an untrusted peer's chain is dropped, ours appended)", fw)
		}
		if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-Up") != "1" || !strings.Contains(resp.Header.Get("Via"), "sluice") {
			t.Errorf("response headers: %v", resp.Header)
		}
	})
}

func TestProxyPipelinedRequestsAnsweredInOrder(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/slow" {
				time.Sleep(50 * time.Millisecond)
			}
			io.WriteString(w, r.URL.Path)
		}))
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		paths := []string{"/slow", "/a", "/b", "/slow", "/c"}
		var req strings.Builder
		for _, p := range paths {
			req.WriteString("GET " + p + " HTTP/1.1\r\nHost: t\r\n\r\n")
		}
		c.send(req.String())
		for _, p := range paths {
			resp, body := c.read("GET")
			if resp.StatusCode != 200 || body != p {
				t.Fatalf("got %d %q, want %q", resp.StatusCode, body, p)
			}
		}
	})
}

func TestProxyBodiesInEveryFraming(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			sum := sha256.Sum256(b)
			w.Header().Set("X-Len", strconv.Itoa(len(b)))
			w.Header().Set("X-TE", strings.Join(r.TransferEncoding, ","))
			if r.URL.Query().Get("chunked") == "1" {
				// No Content-Length and a flush: net/http answers chunked.
				w.Write(sum[:8])
				w.(http.Flusher).Flush()
				w.Write(sum[8:])
				return
			}
			w.Header().Set("Content-Length", "32")
			w.Write(sum[:])
		}))
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		payload := bytes.Repeat([]byte("0123456789abcdef"), 4096) // 64 KiB
		want := sha256.Sum256(payload)

		// Content-Length request, Content-Length response.
		c.send(fmt.Sprintf("POST /cl HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n%s", len(payload), payload))
		resp, body := c.read("POST")
		if resp.Header.Get("X-Len") != strconv.Itoa(len(payload)) || body != string(want[:]) {
			t.Fatalf("CL body: len header %q", resp.Header.Get("X-Len"))
		}
		// Chunked request (split in odd pieces), chunked response.
		var b strings.Builder
		b.WriteString("POST /ch?chunked=1 HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
		for off := 0; off < len(payload); {
			n := min(7777, len(payload)-off)
			fmt.Fprintf(&b, "%x;ext=1\r\n%s\r\n", n, payload[off:off+n])
			off += n
		}
		b.WriteString("0\r\nX-Trailer: yes\r\n\r\n")
		c.send(b.String())
		resp, body = c.read("POST")
		if resp.Header.Get("X-Len") != strconv.Itoa(len(payload)) || resp.Header.Get("X-TE") != "chunked" {
			t.Fatalf("chunked request reached upstream as len %q te %q", resp.Header.Get("X-Len"), resp.Header.Get("X-TE"))
		}
		if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" || body != string(want[:]) {
			t.Fatalf("chunked response: te %v body ok %v", resp.TransferEncoding, body == string(want[:]))
		}
		// HTTP/1.0 client gets the chunked response de-chunked and close-delimited.
		c2 := dial(t, addr)
		c2.send("GET /x?chunked=1 HTTP/1.0\r\nHost: t\r\n\r\n")
		raw := c2.expectClosed()
		if strings.Contains(strings.ToLower(raw), "transfer-encoding") || !strings.HasSuffix(raw, "\r\n\r\n"+emptySum()) {
			t.Fatalf("HTTP/1.0 answer: %q", raw)
		}
	})
}

// emptySum is the body the upstream of TestProxyBodiesInEveryFraming answers to an empty request.
func emptySum() string {
	s := sha256.Sum256(nil)
	return string(s[:])
}

func TestProxyUpstreamErrorsMapToStatus(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		refused := freePort(t)
		stall := startRawUpstream(t, func(c net.Conn) { io.Copy(io.Discard, c) })
		garbage := startRawUpstream(t, func(c net.Conn) {
			bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "HTTP/1.1 abc nonsense\r\n\r\n")
		})
		yaml := fmt.Sprintf(`upstreams:
  refused:
    targets: [{address: %s}]
  stall:
    response_timeout: 300ms
    targets: [{address: %s}]
  garbage:
    targets: [{address: %s}]
routes:
  - match: { path_prefix: /refused }
    upstream: refused
  - match: { path_prefix: /stall }
    upstream: stall
  - match: { path_prefix: /garbage }
    upstream: garbage
`, refused, stall.Addr, garbage.Addr)
		_, addr := startGateway(t, engine, yaml)
		for _, tc := range []struct {
			path   string
			status int
			reason string
		}{
			{"/refused", 502, "upstream connect failed"},
			{"/stall", 504, "upstream timeout"},
			{"/garbage", 502, "bad upstream response"},
			{"/nowhere", 404, "no route"},
		} {
			c := dial(t, addr)
			resp, body := c.get(tc.path)
			if resp.StatusCode != tc.status || resp.Header.Get("X-Sluice-Error") != tc.reason || body == "" {
				t.Errorf("%s: %d %q %q, want %d %q", tc.path, resp.StatusCode, resp.Header.Get("X-Sluice-Error"), body, tc.status, tc.reason)
			}
		}
	})
}

func TestProxyRejectsSmugglingWith400AndCloses(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		for _, req := range []string{
			"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
			"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
			"GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n",
			"GET / HTTP/1.1\r\nHost : t\r\n\r\n",
		} {
			c := dial(t, addr)
			c.send(req)
			resp, _ := c.read("GET")
			if resp.StatusCode != 400 || !resp.Close {
				t.Errorf("%q: status %d close %v", req, resp.StatusCode, resp.Close)
			}
		}
		if up.requests.Load() != 0 {
			t.Fatalf("a rejected request reached the upstream")
		}
	})
}

func TestProxyUpstreamResetMidResponseClosesClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startRawUpstream(t, func(c net.Conn) {
			bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
			time.Sleep(50 * time.Millisecond)
			c.(*net.TCPConn).SetLinger(0) // RST
		})
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		got := c.expectClosed()
		if !strings.HasPrefix(got, "HTTP/1.1 200") || strings.Count(got, "partial") != 1 || len(got) > 1000 {
			t.Fatalf("client saw %q", got)
		}
	})
}

func TestProxyClientDisconnectMidResponseClosesUpstream(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		closed := make(chan struct{}, 1)
		up := startRawUpstream(t, func(c net.Conn) {
			bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n")
			chunk := make([]byte, 32<<10)
			for {
				c.SetWriteDeadline(time.Now().Add(10 * time.Second))
				if _, err := c.Write(chunk); err != nil {
					closed <- struct{}{}
					return
				}
			}
		})
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		buf := make([]byte, 64<<10)
		io.ReadAtLeast(c.c, buf, 1000)
		c.c.Close()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("the upstream connection stayed open after the client left")
		}
	})
}

func TestProxyRetriesIdempotentRequestOnStaleConnection(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		// Each upstream connection answers one request, then closes without a word (as a
		// server whose keep-alive timer fired would), leaving a stale connection in the pool.
		var served atomic.Int64
		up := startRawUpstream(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			io.Copy(io.Discard, req.Body)
			served.Add(1)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			time.Sleep(20 * time.Millisecond)
		})
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		for i := 0; i < 3; i++ {
			resp, body := c.get("/r")
			if resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("request %d: %d %q", i, resp.StatusCode, body)
			}
			time.Sleep(60 * time.Millisecond) // let the upstream close its side
		}
		// A POST is not retried: it fails with 502 or succeeds on a fresh connection, never twice.
		if served.Load() != 3 {
			t.Fatalf("upstream served %d, want 3", served.Load())
		}
	})
}

func TestProxyWebSocketTunnel(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startRawUpstream(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			req, err := http.ReadRequest(br)
			if err != nil || !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
				io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
				return
			}
			io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
			io.Copy(c, br) // echo
		})
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		c.send("GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil || resp.StatusCode != 101 {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		for i := 0; i < 50; i++ {
			msg := fmt.Sprintf("frame-%d-%s", i, strings.Repeat("x", i*100))
			c.send(msg)
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(c.br, got); err != nil || string(got) != msg {
				t.Fatalf("echo %d: %q %v", i, got, err)
			}
		}
	})
}

func TestProxyGracefulShutdownFinishesInFlight(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(300 * time.Millisecond)
			io.WriteString(w, "done")
		}))
		g, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		idle := dial(t, addr)
		if resp, _ := idle.get("/warm"); resp.StatusCode != 200 {
			t.Fatal("warm-up failed")
		}
		busy := dial(t, addr)
		busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done <- g.Shutdown(ctx)
		}()
		resp, body := busy.read("GET")
		if resp.StatusCode != 200 || body != "done" {
			t.Fatalf("in-flight request: %d %q", resp.StatusCode, body)
		}
		if err := <-done; err != nil {
			t.Fatalf("shutdown: %v", err)
		}
		if rest := idle.expectClosed(); rest != "" {
			t.Fatalf("idle connection got %q", rest)
		}
	})
}

// TestProxyStreamsLargeBodiesWithBoundedMemory sends 256 MiB up and 256 MiB down through the
// proxy, with a slow-reading client for part of it, and checks that the heap stays bounded.
func TestProxyStreamsLargeBodiesWithBoundedMemory(t *testing.T) {
	const size = 256 << 20
	if testing.Short() {
		t.Skip("moves 512 MiB")
	}
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "POST" {
				n, _ := io.Copy(io.Discard, r.Body)
				fmt.Fprint(w, n)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(size))
			chunk := bytes.Repeat([]byte{'z'}, 64<<10)
			for sent := 0; sent < size; sent += len(chunk) {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}))
		_, addr := startGateway(t, engine, oneUpstream("    read_timeout: 20s\n", up.Addr))
		defer func() {
			if t.Failed() {
				pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			}
		}()
		var peak atomic.Uint64
		stop := make(chan struct{})
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		go func() {
			var m runtime.MemStats
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}()
		c := dial(t, addr)
		c.c.SetDeadline(time.Now().Add(2 * time.Minute))
		// Upload.
		c.send(fmt.Sprintf("POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", size))
		chunk := bytes.Repeat([]byte{'u'}, 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := c.c.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		resp, body := c.read("POST")
		if resp.StatusCode != 200 || body != strconv.Itoa(size) {
			t.Fatalf("upload: %d %q", resp.StatusCode, body)
		}
		// Download, reading slowly at first.
		c.send("GET /down HTTP/1.1\r\nHost: t\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16<<10)
		var got int64
		for i := 0; i < 20; i++ { // slow phase: 20 x 16 KiB over 1 s
			n, err := resp.Body.Read(buf)
			got += int64(n)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		var prog atomic.Int64
		wdone := make(chan struct{})
		go func() {
			last, since := int64(-1), time.Now()
			for {
				select {
				case <-wdone:
					return
				case <-time.After(100 * time.Millisecond):
				}
				if v := prog.Load(); v != last {
					last, since = v, time.Now()
				} else if time.Since(since) > 3*time.Second {
					fmt.Fprintf(os.Stderr, "download stalled for 3s at %d bytes; goroutines while it lasts:\n", v)
					pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
					return
				}
			}
		}()
		var n int64
		for {
			k, err2 := resp.Body.Read(buf)
			n += int64(k)
			prog.Store(n)
			if err2 != nil {
				if err2 != io.EOF {
					err = err2
				}
				break
			}
		}
		close(wdone)
		got += n
		close(stop)
		if err != nil || got != size {
			t.Fatalf("download: %d bytes, %v", got, err)
		}
		if growth := int64(peak.Load()) - int64(base); growth > 16<<20 {
			t.Fatalf("heap grew by %d MiB while streaming, want < 16 MiB", growth>>20)
		}
	})
}

func TestProxyRoutesRewriteAndNormalize(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.URL.RequestURI())
		}))
		yaml := fmt.Sprintf(`upstreams:
  u:
    targets: [{address: %s}]
routes:
  - name: users
    match: { path_prefix: /users/ }
    upstream: u
    strip_prefix: /users
  - name: v1
    match: { path_prefix: /v1/ }
    upstream: u
    rewrite: /api/v2/
  - name: public
    match: { path_prefix: /public/ }
    upstream: u
`, up.Addr)
		_, addr := startGateway(t, engine, yaml)
		c := dial(t, addr)
		for _, tc := range []struct {
			path, want string
			status     int
		}{
			{"/users/42?x=1", "/42?x=1", 200},
			{"/v1/items", "/api/v2/items", 200},
			{"/public/a/../b", "/public/b", 200},
			{"/public/%7Euser", "/public/~user", 200},
			{"/public/%2e%2e/admin", "", 400},
			{"/public/..%2fadmin", "", 400},
			{"/admin", "", 404},
		} {
			resp, body := c.get(tc.path)
			if resp.StatusCode != tc.status || (tc.status == 200 && body != tc.want) {
				t.Errorf("%s: %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.want)
			}
			if resp.Close {
				c = dial(t, addr)
			}
		}
	})
}

func TestProxyExpectContinue(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body) // net/http sends "100 Continue" on the first read
			fmt.Fprintf(w, "got %d", len(b))
		}))
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		c.send("POST /e HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
		line, err := c.br.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
			t.Fatalf("interim response: %q %v", line, err)
		}
		for { // the rest of the interim head
			l, err := c.br.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			if l == "\r\n" {
				break
			}
		}
		c.send("hello")
		resp, body := c.read("POST")
		if resp.StatusCode != 200 || body != "got 5" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	})
}

// TestProxyCloseDelimitedResponseToSlowClientKeepsItsTail: the upstream sends a body framed by
// its close faster than the client reads; the bytes still buffered when the upstream's FIN
// arrives must reach the client.
func TestProxyCloseDelimitedResponseToSlowClientKeepsItsTail(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		const size = 4 << 20
		body := bytes.Repeat([]byte("0123456789abcdef"), size/16)
		up := startRawUpstream(t, func(c net.Conn) {
			bufio.NewReader(c).ReadString('\n')
			io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
			c.Write(body)
		})
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		c := dial(t, addr)
		c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		resp, err := http.ReadResponse(c.br, nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // let the upstream finish and close while we lag
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("read %d of %d bytes (%v)", len(got), size, err)
		}
	})
}

func TestProxyAccessLogLinesMatchTraffic(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		logPath := t.TempDir() + "/access.log"
		g, addr := startGateway(t, engine, oneUpstream("", up.Addr)+fmt.Sprintf("access_log:\n  path: %s\n  format: json\n", logPath))
		c := dial(t, addr)
		for i := 0; i < 5; i++ {
			c.get(fmt.Sprintf("/n/%d", i))
		}
		c.send("GET /x HTTP/1.1\r\nHost: t\r\nX-Request-ID: trace-7\r\n\r\n")
		c.read("GET")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 6 || !strings.Contains(lines[0], `"path":"/n/0"`) || !strings.Contains(lines[5], `"request_id":"trace-7"`) || !strings.Contains(lines[5], `"status":200`) {
			t.Fatalf("%d lines:\n%s", len(lines), b)
		}
	})
}
