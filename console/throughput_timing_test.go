package console_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
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
	status := ""
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if status == "" {
			status = string(line)
			continue
		}
		if len(line) <= 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && bytes.EqualFold(k, []byte("Content-Length")) {
			cl, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if cl < 0 || !bytes.HasPrefix([]byte(status), []byte("HTTP/1.1 200")) {
		return fmt.Errorf("unexpected response %q (content-length %d)", status, cl)
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
