package metrics

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/proxy"
	"github.com/sluice-gw/sluice/routing"
)

// fixture is a snapshot of two routes over two upstreams, built the way the gateway builds one.
type fixture struct {
	snap            *proxy.Snapshot
	users, orders   *proxy.Route
	u1, u2, o1      *proxy.Target
	usersUp, ordsUp *proxy.Upstream
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{}
	f.usersUp = &proxy.Upstream{Name: "users"}
	f.u1 = &proxy.Target{ID: 0, Addr: "127.0.0.1:9001", Weight: 1, Upstream: f.usersUp}
	f.u2 = &proxy.Target{ID: 1, Addr: "127.0.0.1:9002", Weight: 1, Upstream: f.usersUp}
	f.usersUp.Targets = []*proxy.Target{f.u1, f.u2}
	f.ordsUp = &proxy.Upstream{Name: "orders"}
	f.o1 = &proxy.Target{ID: 2, Addr: "127.0.0.1:9003", Weight: 2, Upstream: f.ordsUp}
	f.ordsUp.Targets = []*proxy.Target{f.o1}
	f.users = &proxy.Route{Name: "users", Index: 0, Upstream: f.usersUp}
	f.orders = &proxy.Route{Name: "orders", Index: 1, Upstream: f.ordsUp}
	tbl, err := routing.Build([]routing.Spec{
		{Name: "users", PathPrefix: "/users/", Target: f.users},
		{Name: "orders", PathPrefix: "/orders/", Target: f.orders},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.snap = &proxy.Snapshot{Version: 1, Routes: tbl}
	return f
}

func rec(route *proxy.Route, target *proxy.Target, status int, durNS, rttNS int64, path string) *proxy.Record {
	return &proxy.Record{
		Route: route, Target: target, Method: []byte("GET"), Path: []byte(path), Status: status,
		Start: 1_000_000, End: 1_000_000 + durNS, UpstreamRTT: rttNS, BytesIn: 100, BytesOut: 1000,
		ClientIP: []byte("127.0.0.1"),
	}
}

// scrape parses the Prometheus text output into series -> value.
func scrape(t testing.TB, m *Metrics) map[string]float64 {
	t.Helper()
	var buf bytes.Buffer
	m.WritePrometheus(&buf)
	out := map[string]float64{}
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}
