package console_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/admin"
	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/gateway"
	"github.com/sluice-gw/sluice/metrics"
)

// The end-to-end test runs the real `sluice console` binary in a real terminal (a tmux pane),
// attached to a gateway under a bounded load with one upstream target refusing connections.

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

type tmux struct {
	t      *testing.T
	socket string
}

func (x *tmux) run(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-L", x.socket}, args...)...).CombinedOutput()
	return string(out), err
}

func (x *tmux) screen() string {
	out, err := x.run("capture-pane", "-p", "-t", "sluice")
	if err != nil {
		x.t.Fatalf("capture-pane: %v %s", err, out)
	}
	return out
}

func (x *tmux) keys(k ...string) {
	if out, err := x.run(append([]string{"send-keys", "-t", "sluice"}, k...)...); err != nil {
		x.t.Fatalf("send-keys %v: %v %s", k, err, out)
	}
}

// waitFor polls the screen until cond holds, for at most d.
func (x *tmux) waitFor(what string, d time.Duration, cond func(screen string) bool) string {
	x.t.Helper()
	var s string
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		if s = x.screen(); cond(s) {
			return s
		}
	}
	x.t.Fatalf("screen never showed %s:\n%s", what, s)
	return ""
}

func buildSluice(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sluice")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/sluice")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

var (
	rpsRe = regexp.MustCompile(`rps ([0-9.]+)(k?)`)
	errRe = regexp.MustCompile(`errors ([0-9.]+)%`)
	upRe  = regexp.MustCompile(`up [0-9hms.]+`)
)

func headerNumber(re *regexp.Regexp, screen string) float64 {
	m := re.FindStringSubmatch(screen)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	if len(m) > 2 && m[2] == "k" {
		v *= 1000
	}
	return v
}

func TestConsoleInARealTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds the binary and drives tmux")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed (apt-get install tmux, or scripts/deps.sh test): " + err.Error())
	}
	bin := buildSluice(t)

	// A good target and a failing one (it answers 500): round robin sends half the requests
	// to each until the failing target's circuit breaker opens; then only its half-open
	// probes reach it, every open_duration.
	serve := func(status int) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, "answer")
		})}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		return ln.Addr().String()
	}
	good, dead, listen, adminAddr := serve(200), serve(500), freeAddr(t), freeAddr(t)
	cfg, err := config.Parse("e2e.yaml", []byte(fmt.Sprintf(`engine: gnet
loops: 1
listen:
  - address: %s
admin:
  address: "off"
upstreams:
  users:
    outlier_detection:
      consecutive_5xx: 0
      consecutive_connect_failures: 0
    circuit_breaker:
      min_requests: 20
      failure_percent: 50
      open_duration: 3s
    targets:
      - address: %s
      - address: %s
routes:
  - name: users
    match: { path_prefix: / }
    upstream: users
`, listen, good, dead)))
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
	srv, err := admin.Listen(admin.Options{Address: adminAddr, Gateway: g, Metrics: m, Instance: "e2e-gateway"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Close() }()

	// Bounded load: 4 keep-alive clients for at most 60 s and 300000 requests.
	var sent atomic.Int64
	var wg sync.WaitGroup
	loadEnd := time.Now().Add(60 * time.Second)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl := &http.Client{Timeout: 2 * time.Second}
			for ctx.Err() == nil && time.Now().Before(loadEnd) && sent.Add(1) <= 300000 {
				resp, err := cl.Get("http://" + listen + "/users/1")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	defer wg.Wait()
	defer cancel()

	x := &tmux{t: t, socket: fmt.Sprintf("sluice-e2e-%d", os.Getpid())}
	if out, err := x.run("-f", "/dev/null", "new-session", "-d", "-s", "sluice", "-x", "160", "-y", "40",
		"env", "TERM=xterm-256color", bin, "console", "--admin", adminAddr); err != nil {
		t.Skipf("tmux cannot start a session here: %v %s", err, out)
	}
	defer x.run("kill-server")

	s := x.waitFor("non-zero rps and error rate", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "e2e-gateway") && headerNumber(rpsRe, s) > 0 && headerNumber(errRe, s) > 0
	})
	t.Logf("routes view:\n%s", s)
	firstUp := upRe.FindString(s)

	x.keys("2")
	deadRow := "users/" + dead
	s = x.waitFor("the failing target's breaker open", 10*time.Second, func(s string) bool {
		for _, l := range strings.Split(s, "\n") {
			if strings.Contains(l, deadRow) && strings.Contains(l, " open ") {
				return true
			}
		}
		return false
	})
	t.Logf("upstreams view:\n%s", s)

	// Select the failing target (second row in configuration order) and drain it by the keys.
	x.keys("j")
	x.keys("d")
	x.waitFor("the drain confirmation", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "Drain "+deadRow+"?")
	})
	x.keys("y")
	var target = g.Upstreams()[0].Targets[1]
	for end := time.Now().Add(5 * time.Second); !target.Draining.Load(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("the drain never reached the gateway:\n%s", x.screen())
		}
	}
	st, err := admin.NewClient(adminAddr, "").Upstreams(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tg := st[0].Targets[1]; tg.Addr != dead || !tg.Draining {
		t.Fatalf("admin API after the drain: %+v", tg)
	}
	s = x.waitFor("the drained state", 5*time.Second, func(s string) bool {
		return strings.Contains(s, "drain "+deadRow+": done") && strings.Contains(s, "draining")
	})
	t.Logf("after the drain:\n%s", s)

	// The admin API goes away and comes back (a gateway restart, as the console sees it).
	srv.Close()
	x.waitFor("the disconnection", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "disconnected: reconnecting")
	})
	srv, err = admin.Listen(admin.Options{Address: adminAddr, Gateway: g, Metrics: m, Instance: "e2e-gateway"})
	if err != nil {
		t.Fatal(err)
	}
	x.waitFor("the reconnection", 15*time.Second, func(s string) bool {
		return strings.Contains(s, "● live") && !strings.Contains(s, "disconnected") && upRe.FindString(s) != firstUp
	})

	x.keys("q")
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if _, err := x.run("has-session", "-t", "sluice"); err != nil {
			return // the console quit and tmux closed the pane
		}
	}
	t.Fatalf("q did not quit:\n%s", x.screen())
}
