package console_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/valyala/fasthttp"

	"github.com/sluice-gw/sluice/admin"
	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/console"
	"github.com/sluice-gw/sluice/gateway"
	"github.com/sluice-gw/sluice/metrics"
)

// BenchmarkGatewayThroughput measures proxied requests through one gateway loop with 8
// keep-alive clients, three ways: no observer, metrics and the admin API, and the same with a
// console attached (the admin stream consumed, every frame applied to a console model and
// rendered at 140x40, in this process, as on an edge host). Compare req/s between the
// sub-benchmarks; nothing is asserted, the machine is shared.
func BenchmarkGatewayThroughput(b *testing.B) {
	for _, mode := range []string{"bare", "metrics", "metrics+console"} {
		b.Run(mode, func(b *testing.B) { benchThroughput(b, mode) })
	}
}

func benchThroughput(b *testing.B, mode string) {
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello, world") }}
	go up.Serve(upLn)
	defer up.Shutdown()
	listen := freeAddrB(b)
	cfg, err := config.Parse("bench.yaml", []byte(fmt.Sprintf(`engine: gnet
loops: 1
listen:
  - address: %s
admin:
  address: "off"
upstreams:
  u:
    targets:
      - address: %s
routes:
  - name: all
    match: { path_prefix: / }
    upstream: u
`, listen, upLn.Addr())))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var o gateway.Options
	var m *metrics.Metrics
	var g *gateway.Gateway
	if mode != "bare" {
		m = metrics.New(metrics.Options{Connections: func() int64 { return g.Connections() }, Version: func() uint64 { return g.Version() }})
		o.Observer = m
	}
	g, err = gateway.Start(cfg, o)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer scancel()
		g.Shutdown(sctx)
	}()
	if m != nil {
		go m.Run(ctx)
		srv, err := admin.Listen(admin.Options{Address: "127.0.0.1:0", Gateway: g, Metrics: m})
		if err != nil {
			b.Fatal(err)
		}
		defer srv.Close()
		if mode == "metrics+console" {
			var frames int
			model := tea.Model(console.New(console.Options{Admin: srv.Addr().String()}))
			model, _ = model.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
			var mu sync.Mutex
			go console.Feed(ctx, admin.NewClient(srv.Addr().String(), ""), func(msg tea.Msg) {
				mu.Lock()
				defer mu.Unlock()
				model, _ = model.Update(msg)
				_ = model.View()
				frames++
			})
			defer func() {
				mu.Lock()
				b.ReportMetric(float64(frames), "frames")
				mu.Unlock()
			}()
		}
	}
	waitUp(b, listen)

	const clients = 8
	conns := make([]net.Conn, clients)
	for i := range conns {
		c, err := net.Dial("tcp", listen)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
		if err := roundTrip(c, bufio.NewReader(c)); err != nil { // warm the pool
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, c := range conns {
		n := b.N / clients
		if i < b.N%clients {
			n++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			br := bufio.NewReader(c)
			for j := 0; j < n; j++ {
				if err := roundTrip(c, br); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

var benchReq = []byte("GET /bench HTTP/1.1\r\nHost: bench\r\n\r\n")

// roundTrip sends one request and reads its response (Content-Length framed).
func roundTrip(c net.Conn, br *bufio.Reader) error {
	if _, err := c.Write(benchReq); err != nil {
		return err
	}
	cl := -1
	first, ok := true, false
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if first {
			first, ok = false, bytes.HasPrefix(line, []byte("HTTP/1.1 200"))
			continue
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			cl = atoi(bytes.TrimSpace(v))
		}
	}
	if cl < 0 || !ok {
		return fmt.Errorf("unexpected response (200: %v, content-length %d)", ok, cl)
	}
	_, err := br.Discard(cl)
	return err
}

func freeAddrB(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitUp(b *testing.B, addr string) {
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
	}
	b.Fatalf("%s never listened", addr)
}

// TestConsoleAttachedThroughputTiming alternates one-second rounds of load on one gateway
// (metrics and admin API on) without and with a console attached, and logs the paired
// ratios: pairing the rounds cancels most of the noise of a shared machine. It only reports;
// run it with SLUICE_TIMING=1 go test -run ConsoleAttached -v ./console/.
func TestConsoleAttachedThroughputTiming(t *testing.T) {
	if os.Getenv("SLUICE_TIMING") == "" {
		t.Skip("timing report: set SLUICE_TIMING=1")
	}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) { ctx.SetBodyString("hello, world") }}
	go up.Serve(upLn)
	defer up.Shutdown()
	listen := freeAddr(t)
	cfg, err := config.Parse("timing.yaml", []byte(fmt.Sprintf("engine: gnet\nloops: 1\nlisten:\n  - address: %s\nadmin:\n  address: \"off\"\nupstreams:\n  u:\n    targets:\n      - address: %s\nroutes:\n  - match: { path_prefix: / }\n    upstream: u\n", listen, upLn.Addr())))
	if err != nil {
		t.Fatal(err)
	}
	var g *gateway.Gateway
	m := metrics.New(metrics.Options{Connections: func() int64 { return g.Connections() }, Version: func() uint64 { return g.Version() }})
	g, err = gateway.Start(cfg, gateway.Options{Observer: m})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		g.Shutdown(ctx)
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	srv, err := admin.Listen(admin.Options{Address: "127.0.0.1:0", Gateway: g, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if c, err := net.Dial("tcp", listen); err == nil {
			c.Close()
			break
		}
	}
	const clients = 8
	conns := make([]net.Conn, clients)
	readers := make([]*bufio.Reader, clients)
	for i := range conns {
		c, err := net.Dial("tcp", listen)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i], readers[i] = c, bufio.NewReader(c)
	}
	round := func(d time.Duration) float64 {
		var total atomic.Int64
		var wg sync.WaitGroup
		end := time.Now().Add(d)
		start := time.Now()
		for i := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(end) {
					if err := roundTrip(conns[i], readers[i]); err != nil {
						t.Error(err)
						return
					}
					total.Add(1)
				}
			}()
		}
		wg.Wait()
		return float64(total.Load()) / time.Since(start).Seconds()
	}
	round(500 * time.Millisecond) // warm-up
	var ratios []float64
	for i := 0; i < 6; i++ {
		bare := round(time.Second)
		cctx, stop := context.WithCancel(ctx)
		model := tea.Model(console.New(console.Options{Admin: srv.Addr().String()}))
		model, _ = model.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
		var mu sync.Mutex
		go console.Feed(cctx, admin.NewClient(srv.Addr().String(), ""), func(msg tea.Msg) {
			mu.Lock()
			defer mu.Unlock()
			model, _ = model.Update(msg)
			_ = model.View()
		})
		time.Sleep(200 * time.Millisecond) // attached: the first frame is in
		with := round(time.Second)
		stop()
		ratios = append(ratios, with/bare)
		t.Logf("round %d: without console %.0f req/s, with console %.0f req/s, ratio %.3f", i, bare, with, with/bare)
	}
	sort.Float64s(ratios)
	t.Logf("median ratio with/without console: %.3f (min %.3f, max %.3f)", (ratios[2]+ratios[3])/2, ratios[0], ratios[5])
}

func atoi(b []byte) int {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}
