package gateway

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/config"
)

// tlsFixture is a gateway with a plaintext and a TLS listener in front of one upstream.
type tlsFixture struct {
	g         *Gateway
	plain     string
	tlsAddr   string
	dir       string
	ca        *certAuthority
	clients   *certAuthority
	cert, key string
	yaml      string
}

func echoHeaders() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Subject", r.Header.Get("X-Client-Cert-Subject"))
		w.Header().Set("X-Seen-Subject-Count", fmt.Sprint(len(r.Header.Values("X-Client-Cert-Subject"))))
		w.Header().Set("X-Seen-Proto", r.Header.Get("X-Forwarded-Proto"))
		if r.Method == http.MethodPost {
			io.Copy(w, r.Body)
			return
		}
		io.WriteString(w, "hello from "+r.URL.Path)
	})
}

// startTLSGateway starts the gateway; tlsExtra is added under the listener's tls mapping and
// body is the YAML after the listen section.
func startTLSGateway(t testing.TB, tlsExtra, body string, prep func(f *tlsFixture)) *tlsFixture {
	t.Helper()
	f := &tlsFixture{dir: t.TempDir()}
	f.ca = newAuthority(t, f.dir, "gw-root")
	f.clients = newAuthority(t, f.dir, "client-root")
	f.cert, f.key = f.ca.issue(t, f.dir, "gw", "gw", false, "gw.test", "127.0.0.1")
	if prep != nil {
		prep(f)
	}
	f.plain, f.tlsAddr = freePort(t), freePort(t)
	tlsExtra = strings.ReplaceAll(tlsExtra, "$CLIENTS", f.clients.file)
	f.yaml = fmt.Sprintf("engine: epoll\nloops: 1\nlisten:\n  - address: %s\n  - address: %s\n    tls:\n      cert: %s\n      key: %s\n      handshake_timeout: 2s\n%sadmin:\n  address: \"off\"\n%s",
		f.plain, f.tlsAddr, f.cert, f.key, tlsExtra, body)
	if _, ok := Starters[config.EngineEpoll]; !ok {
		f.yaml = strings.Replace(f.yaml, "engine: epoll", "engine: gnet", 1)
	}
	cfg, err := config.Parse("test.yaml", []byte(f.yaml))
	if err != nil {
		t.Fatalf("config: %v\n%s", err, f.yaml)
	}
	f.g, err = Start(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.g.Shutdown(ctx)
	})
	waitListening(t, f.tlsAddr)
	return f
}

func (f *tlsFixture) client(certs ...tls.Certificate) *http.Client {
	tc := &tls.Config{RootCAs: f.ca.pool, ServerName: "gw.test", Certificates: certs, NextProtos: []string{"http/1.1"}, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: false, MaxIdleConnsPerHost: 1}}
}

func (f *tlsFixture) url(path string) string { return "https://" + f.tlsAddr + path }

func readAll(t *testing.T, res *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTLSListenerProxiesWithTheSameCoreOverKeepAlive(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	c := f.client()
	for i := 0; i < 3; i++ {
		res, err := c.Get(f.url(fmt.Sprintf("/r%d", i)))
		body := readAll(t, res, err)
		if res.StatusCode != 200 || body != fmt.Sprintf("hello from /r%d", i) {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		if res.TLS == nil || res.TLS.NegotiatedProtocol != "http/1.1" {
			t.Errorf("ALPN: %+v", res.TLS)
		}
		if got := res.Header.Get("X-Seen-Proto"); got != "https" {
			t.Errorf("X-Forwarded-Proto upstream = %q, want https", got)
		}
		if got := res.Header.Get("X-Request-Id"); got == "" {
			t.Error("no X-Request-ID: the TLS path must run the same proxy core")
		}
	}
	if n := f.g.Connections(); n != 1 {
		t.Errorf("connections = %d, want the one keep-alive TLS connection", n)
	}
	// A 1 MiB upload echoed back streams through the blocking writes.
	big := strings.Repeat("0123456789abcdef", 1<<16)
	res, err := c.Post(f.url("/echo"), "application/octet-stream", strings.NewReader(big))
	if body := readAll(t, res, err); body != big {
		t.Errorf("echo of 1 MiB: got %d bytes", len(body))
	}
	// The plaintext listener still runs on the loops beside it.
	res, err = http.Get("http://" + f.plain + "/plain")
	if body := readAll(t, res, err); body != "hello from /plain" {
		t.Errorf("plaintext listener: %q", body)
	}
}

func TestTLSAddrsListsEveryListenerInOrder(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	addrs := f.g.Addrs()
	if len(addrs) != 2 || addrs[0].String() != f.plain || addrs[1].String() != f.tlsAddr {
		t.Errorf("Addrs = %v, want [%s %s]", addrs, f.plain, f.tlsAddr)
	}
}

func TestTLSClientCertificateSubjectReachesUpstream(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	var alice tls.Certificate
	f := startTLSGateway(t, "      client_auth: required\n      client_ca: $CLIENTS\n", oneUpstream("", up.Addr), func(f *tlsFixture) {
		cf, kf := f.clients.issue(t, f.dir, "alice", "alice", true, "alice.test")
		alice = f.clients.keyPair(t, cf, kf)
	})
	req, _ := http.NewRequest("GET", f.url("/"), nil)
	req.Header.Set("X-Client-Cert-Subject", "CN=forged")
	res, err := f.client(alice).Do(req)
	readAll(t, res, err)
	if got := res.Header.Get("X-Seen-Subject"); got != "CN=alice" || res.Header.Get("X-Seen-Subject-Count") != "1" {
		t.Errorf("upstream saw subject %q (%s fields), want only CN=alice", got, res.Header.Get("X-Seen-Subject-Count"))
	}
	if _, err := f.client().Get(f.url("/")); err == nil {
		t.Error("required client_auth accepted a client without a certificate")
	}
}

func TestTLSClientCannotForgeSubjectWithoutCertificate(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	for _, tc := range []struct{ name, tls string }{
		{"optional client_auth", "      client_auth: optional\n      client_ca: $CLIENTS\n"},
		{"no client_auth", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := startTLSGateway(t, tc.tls, oneUpstream("", up.Addr), nil)
			req, _ := http.NewRequest("GET", f.url("/"), nil)
			req.Header.Set("X-Client-Cert-Subject", "CN=forged")
			res, err := f.client().Do(req)
			readAll(t, res, err)
			if res.StatusCode != 200 || res.Header.Get("X-Seen-Subject") != "" || res.Header.Get("X-Seen-Subject-Count") != "1" {
				t.Errorf("status %d, upstream saw subject %q (%s fields), want one empty field",
					res.StatusCode, res.Header.Get("X-Seen-Subject"), res.Header.Get("X-Seen-Subject-Count"))
			}
		})
	}
}

func TestTLSReloadPicksNewCertificateWhileOldConnectionWorks(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	old := f.client()
	res, err := old.Get(f.url("/a"))
	readAll(t, res, err)
	oldLeaf := res.TLS.PeerCertificates[0]

	// A broken certificate is refused and the old one keeps serving.
	if err := os.WriteFile(f.cert, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := config.Parse("test.yaml", []byte(f.yaml))
	if err := f.g.Reload(cfg); err == nil || !strings.Contains(err.Error(), f.cert) {
		t.Fatalf("reload with a broken certificate: %v", err)
	}
	res, err = f.client().Get(f.url("/b"))
	readAll(t, res, err)
	if !res.TLS.PeerCertificates[0].Equal(oldLeaf) {
		t.Error("the refused reload changed the certificate")
	}

	// A renewed certificate is served to new connections after the reload.
	f.ca.issue(t, f.dir, "gw", "gw", false, "gw.test", "127.0.0.1")
	if err := f.g.Reload(cfg); err != nil {
		t.Fatal(err)
	}
	res, err = f.client().Get(f.url("/c"))
	readAll(t, res, err)
	if res.TLS.PeerCertificates[0].Equal(oldLeaf) {
		t.Error("new connection still gets the old certificate after reload")
	}
	res, err = old.Get(f.url("/d"))
	if body := readAll(t, res, err); body != "hello from /d" || res.TLS.DidResume {
		t.Errorf("old keep-alive connection after reload: %q (resumed %v: it must be the same connection)", body, res.TLS.DidResume)
	}
}

func TestTLSSecondConnectionResumes(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	c := f.client()
	for i := 0; i < 2; i++ {
		res, err := c.Get(f.url("/"))
		readAll(t, res, err)
		if res.TLS.DidResume != (i == 1) {
			t.Errorf("connection %d: DidResume=%v", i+1, res.TLS.DidResume)
		}
		c.CloseIdleConnections()
	}
}

func TestTLSUpstreamVerification(t *testing.T) {
	upCA := newAuthority(t, t.TempDir(), "upstream-root")
	cf, kf := upCA.issue(t, t.TempDir(), "up", "up", false, "up.internal")
	srv := httptest.NewUnstartedServer(echoHeaders())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{upCA.keyPair(t, cf, kf)}}
	srv.StartTLS()
	defer srv.Close()
	upAddr := strings.TrimPrefix(srv.URL, "https://")
	cases := []struct {
		name   string
		tls    string
		status int
	}{
		{"unknown CA gives 502", "    tls: { server_name: up.internal }\n", 502},
		{"wrong name gives 502", "    tls: { server_name: other.internal, ca: " + upCA.file + " }\n", 502},
		{"verified with the CA bundle", "    tls: { server_name: up.internal, ca: " + upCA.file + " }\n", 200},
		{"verification off when asked", "    tls: { insecure_skip_verify: true }\n", 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := startTLSGateway(t, "", oneUpstream(tc.tls, upAddr), nil)
			c := f.client()
			for i := 0; i < 2; i++ { // the second request reuses the pooled upstream connection
				res, err := c.Get(f.url("/x"))
				body := readAll(t, res, err)
				if res.StatusCode != tc.status {
					t.Fatalf("request %d: status %d (%s), want %d", i+1, res.StatusCode, body, tc.status)
				}
			}
		})
	}
}

// TestLoopListenerToTLSUpstream: a plaintext connection whose route's upstream speaks TLS
// moves from its event loop to the goroutine path, session and buffered bytes included, and
// keeps working there (keep-alive, a pipelined request, a body); verification still applies.
func TestLoopListenerToTLSUpstream(t *testing.T) {
	upCA := newAuthority(t, t.TempDir(), "upstream-root")
	cf, kf := upCA.issue(t, t.TempDir(), "up", "up", false, "up.internal")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %d", r.Method, r.URL.Path, len(b))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{upCA.keyPair(t, cf, kf)}}
	srv.StartTLS()
	defer srv.Close()
	upAddr := strings.TrimPrefix(srv.URL, "https://")
	eachBackend(t, func(t *testing.T, engine string) {
		_, addr := startGateway(t, engine, oneUpstream("    tls: { server_name: up.internal, ca: "+upCA.file+" }\n", upAddr))
		c := dial(t, addr)
		c.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\nPOST /b HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nxyz")
		if resp, body := c.read("GET"); resp.StatusCode != 200 || body != "GET /a 0" {
			t.Fatalf("first: %d %q", resp.StatusCode, body)
		}
		if resp, body := c.read("POST"); resp.StatusCode != 200 || body != "POST /b 3" {
			t.Fatalf("pipelined: %d %q", resp.StatusCode, body)
		}
		if resp, body := c.get("/c"); resp.StatusCode != 200 || body != "GET /c 0" {
			t.Fatalf("keep-alive: %d %q", resp.StatusCode, body)
		}
		// Without the CA the upstream's certificate is refused: 502.
		_, bad := startGateway(t, engine, oneUpstream("    tls: { server_name: up.internal }\n", upAddr))
		if resp, _ := dial(t, bad).get("/d"); resp.StatusCode != 502 {
			t.Fatalf("unverified upstream: %d", resp.StatusCode)
		}
	})
}

func TestTLSPortAnswersPlainHTTPWith400(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	res, err := http.Get("http://" + f.tlsAddr + "/")
	body := readAll(t, res, err)
	if res.StatusCode != 400 || !strings.Contains(body, "https://") {
		t.Errorf("got %d %q", res.StatusCode, body)
	}
}

func TestTLSStalledHandshakeIsClosed(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	c, err := net.Dial("tcp", f.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(6 * time.Second))
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("stalled handshake not closed: %v", err)
	}
	if el := time.Since(start); el < time.Second || el > 4*time.Second {
		t.Errorf("closed after %v, want about the 2s handshake_timeout", el)
	}
}

func TestTLSShutdownClosesIdleTLSConnections(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	res, err := f.client().Get(f.url("/"))
	readAll(t, res, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := f.g.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := f.g.Connections(); n != 0 {
		t.Errorf("%d connections after shutdown", n)
	}
}

// TestTLSExternalClients runs openssl s_client and curl against the gateway.
func TestTLSExternalClients(t *testing.T) {
	up := startHTTPUpstream(t, echoHeaders())
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	_, port, _ := net.SplitHostPort(f.tlsAddr)
	caFile := filepath.Join(f.dir, "gw-root.pem")
	t.Run("openssl", func(t *testing.T) {
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Skip("openssl not installed (scripts/deps.sh test installs it)")
		}
		for _, v := range []string{"-tls1_2", "-tls1_3"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, "openssl", "s_client", v, "-connect", f.tlsAddr, "-servername", "gw.test",
				"-CAfile", caFile, "-alpn", "http/1.1", "-verify_return_error", "-quiet", "-ign_eof")
			cmd.Stdin = strings.NewReader("GET /ossl HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
			out, err := cmd.CombinedOutput()
			cancel()
			if err != nil || !strings.Contains(string(out), "hello from /ossl") {
				t.Errorf("openssl %s: %v\n%s", v, err, out)
			}
		}
		for _, v := range []string{"-tls1", "-tls1_1"} {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			cmd := exec.CommandContext(ctx, "openssl", "s_client", v, "-connect", f.tlsAddr, "-servername", "gw.test")
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			cancel()
			if err == nil && strings.Contains(string(out), "BEGIN CERTIFICATE") {
				t.Errorf("openssl %s completed a handshake:\n%s", v, out)
			}
		}
	})
	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl not installed (scripts/deps.sh test installs it)")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, "curl", "-sS", "--http1.1", "--cacert", caFile,
			"--resolve", "gw.test:"+port+":127.0.0.1", "https://gw.test:"+port+"/curl", "https://gw.test:"+port+"/again").CombinedOutput()
		if err != nil || string(out) != "hello from /curlhello from /again" {
			t.Errorf("curl: %v\n%s", err, out)
		}
	})
}

func TestTLSWebSocketTunnel(t *testing.T) {
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
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	c, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{RootCAs: f.ca.pool, ServerName: "gw.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	for i := 0; i < 50; i++ {
		msg := fmt.Sprintf("frame-%d-%s", i, strings.Repeat("x", i*300))
		io.WriteString(c, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo %d: %q %v", i, got, err)
		}
	}
}

// TestTLSSlowClientLargeResponseThenReuse: a client that reads late makes the session pause
// the upstream (its queue to the client is over the high-water mark); the upstream connection
// must then go back to the pool reading, and serve the next request at once.
func TestTLSSlowClientLargeResponseThenReuse(t *testing.T) {
	big := strings.Repeat("z", 24<<20) // more than loopback's socket buffers hold
	up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			io.WriteString(w, big)
			return
		}
		io.WriteString(w, "small")
	}))
	f := startTLSGateway(t, "", oneUpstream("", up.Addr), nil)
	c, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{RootCAs: f.ca.pool, ServerName: "gw.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
	time.Sleep(300 * time.Millisecond) // let the gateway's queue to us fill up
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(res.Body); err != nil || len(b) != len(big) {
		t.Fatalf("big body: %d bytes, %v", len(b), err)
	}
	start := time.Now()
	io.WriteString(c, "GET /small HTTP/1.1\r\nHost: t\r\n\r\n")
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(res.Body); string(b) != "small" || time.Since(start) > 2*time.Second {
		t.Fatalf("second request: %q after %v", b, time.Since(start))
	}
	if n := up.conns.Load(); n != 1 {
		t.Errorf("upstream saw %d connections, want the one reused", n)
	}
}

// TestTLSListenersOnlyOnEachBackend: a gateway whose every listener speaks TLS starts and
// proxies on both engines (gnet runs with a private loopback listener of its own, which
// serves nobody and is not listed among the gateway's addresses).
func TestTLSListenersOnlyOnEachBackend(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, echoHeaders())
		dir := t.TempDir()
		ca := newAuthority(t, dir, "gw-root")
		cert, key := ca.issue(t, dir, "gw", "gw", false, "gw.test", "127.0.0.1")
		addr := freePort(t)
		yaml := fmt.Sprintf("engine: %s\nloops: 2\nlisten:\n  - address: %s\n    tls:\n      cert: %s\n      key: %s\nadmin:\n  address: \"off\"\n%s",
			engine, addr, cert, key, oneUpstream("", up.Addr))
		cfg, err := config.Parse("tls-only.yaml", []byte(yaml))
		if err != nil {
			t.Fatal(err)
		}
		g, err := Start(cfg, Options{})
		if err != nil {
			t.Fatalf("a TLS-only gateway did not start on %s: %v", engine, err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = g.Shutdown(ctx)
		}()
		waitListening(t, addr)
		f := &tlsFixture{ca: ca, tlsAddr: addr}
		res, err := f.client().Get(f.url("/only-tls"))
		if body := readAll(t, res, err); res.StatusCode != 200 || body != "hello from /only-tls" {
			t.Fatalf("got %d %q", res.StatusCode, body)
		}
		if addrs := g.Addrs(); len(addrs) != 1 || addrs[0].String() != addr {
			t.Fatalf("Addrs() = %v, want only the TLS listener %s", addrs, addr)
		}
	})
}
