package admin

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/gateway"
	"github.com/sluice-gw/sluice/metrics"
)

// bed is a gateway with metrics and an admin server in front of loopback upstreams.
type bed struct {
	g       *gateway.Gateway
	m       *metrics.Metrics
	srv     *Server
	proxy   string // gateway address
	admin   string // admin base URL
	file    string // the configuration file Reload re-reads
	good    string // its upstream address
	dead    string // a target nobody listens on
	cancelM context.CancelFunc
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func upstream(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/api/missing", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/api/broken", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	mux.HandleFunc("/errs/", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func bedYAML(listen, good, dead string) string {
	return fmt.Sprintf(`engine: gnet
loops: 1
listen:
  - address: %s
admin:
  address: "off"
upstreams:
  api:
    targets:
      - address: %s
  flaky:
    connect_timeout: 200ms
    targets:
      - address: %s
  errs:
    outlier_detection:
      consecutive_5xx: 0
      consecutive_connect_failures: 0
    circuit_breaker:
      min_requests: 5
      failure_percent: 50
      open_duration: 10s
    targets:
      - address: %s
routes:
  - name: api
    match: { path_prefix: /api/ }
    upstream: api
  - name: flaky
    match: { path_prefix: /flaky/ }
    upstream: flaky
  - name: errs
    match: { path_prefix: /errs/ }
    upstream: errs
`, listen, good, dead, good)
}

func newBed(t testing.TB, token string) *bed {
	t.Helper()
	b := &bed{proxy: freePort(t), good: upstream(t), dead: freePort(t)}
	b.file = filepath.Join(t.TempDir(), "sluice.yaml")
	if err := os.WriteFile(b.file, []byte(bedYAML(b.proxy, b.good, b.dead)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(b.file)
	if err != nil {
		t.Fatal(err)
	}
	var g *gateway.Gateway
	b.m = metrics.New(metrics.Options{
		Connections: func() int64 { return g.Connections() },
		Version:     func() uint64 { return g.Version() },
	})
	g, err = gateway.Start(cfg, gateway.Options{Observer: b.m})
	if err != nil {
		t.Fatal(err)
	}
	b.g = g
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = g.Shutdown(ctx)
	})
	b.srv, err = Listen(Options{
		Address: "127.0.0.1:0", Token: token, Gateway: g, Metrics: b.m, Instance: "test",
		Reload: func() (uint64, error) {
			c, err := config.Load(b.file)
			if err == nil {
				err = g.Reload(c)
			}
			return g.Version(), err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.srv.Close() })
	b.admin = "http://" + b.srv.Addr().String()
	waitListening(t, b.proxy)
	return b
}

// run starts the per-second aggregation.
func (b *bed) run(t testing.TB) {
	ctx, cancel := context.WithCancel(context.Background())
	b.cancelM = cancel
	t.Cleanup(cancel)
	go b.m.Run(ctx)
}

func waitListening(t testing.TB, addr string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return
		}
	}
	t.Fatalf("%s never listened", addr)
}

// get sends n requests for path through the gateway on one keep-alive client.
func (b *bed) get(t testing.TB, path string, n int) {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < n; i++ {
		resp, err := cl.Get("http://" + b.proxy + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (b *bed) call(t testing.TB, method, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, b.admin+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// eventually retries cond until it holds or 5 seconds pass: Observe runs after the response
// is written, so a client can read the answer a moment before it is counted.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var ok bool
		if ok, last = cond(); ok {
			return
		}
	}
	t.Fatalf("%s: %s", what, last)
}

func seriesValue(body, series string) (string, bool) {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, series+" ") {
			return strings.TrimPrefix(line, series+" "), true
		}
	}
	return "", false
}
