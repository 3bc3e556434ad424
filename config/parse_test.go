package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// minimal is the smallest configuration every release accepts (DESIGN.md).
const minimal = `listen:
  - address: 127.0.0.1:8080
admin:
  address: 127.0.0.1:9901
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
routes:
  - match: { path_prefix: / }
    upstream: users
`

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse failed:\n%v\n--- input ---\n%s", err, src)
	}
	return c
}

// parseErrors parses src and returns its error lines; it fails the test if
// src parses or the error is not a *Errors.
func parseErrors(t *testing.T, src string) []string {
	t.Helper()
	c, err := Parse("t.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded (%+v); want an error\n--- input ---\n%s", c, src)
	}
	if c != nil {
		t.Fatalf("Parse returned both a Config and an error")
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error is %T, want *config.Errors: %v", err, err)
	}
	if len(*errs) == 0 {
		t.Fatal("empty *Errors")
	}
	if got := err.Error(); got != strings.Join(linesOf(errs), "\n") {
		t.Fatalf("Errors.Error() does not join the lines: %q", got)
	}
	return linesOf(errs)
}

func linesOf(errs *Errors) []string {
	var out []string
	for _, e := range *errs {
		out = append(out, e.Error())
	}
	return out
}

func TestMinimalConfigGetsEveryDefault(t *testing.T) {
	c := mustParse(t, minimal)
	want := &Config{
		File:   "t.yaml",
		Engine: DefaultEngine,
		Loops:  0,
		Listen: []Listener{{Name: "listen-0", Address: "127.0.0.1:8080"}},
		Admin:  Admin{Address: "127.0.0.1:9901"},
		HTTP: HTTP{
			MaxRequestLine:    8 << 10,
			MaxHeaderBytes:    32 << 10,
			MaxHeaders:        100,
			MaxBody:           0,
			HeaderReadTimeout: Duration(10 * time.Second),
			IdleTimeout:       Duration(60 * time.Second),
			MaxConnections:    0,
			Via:               "sluice",
		},
		ShutdownTimeout: Duration(30 * time.Second),
		Upstreams: []*Upstream{{
			Name:            "users",
			Balancer:        "round_robin",
			Targets:         []Target{{Address: "127.0.0.1:9001", Weight: 1}},
			ConnectTimeout:  Duration(2 * time.Second),
			ResponseTimeout: Duration(30 * time.Second),
			ReadTimeout:     Duration(60 * time.Second),
			Pool:            Pool{MaxIdle: 64, MaxConnections: 0, IdleTimeout: Duration(60 * time.Second)},
			Retries:         1,
			HealthCheck: HealthCheck{Interval: Duration(10 * time.Second), Timeout: Duration(2 * time.Second),
				ExpectedStatus: 200, HealthyThreshold: 2, UnhealthyThreshold: 3},
			OutlierDetection: OutlierDetection{Consecutive5xx: 5, ConsecutiveConnectFailures: 3,
				BaseEjectionTime: Duration(30 * time.Second), MaxEjectionTime: Duration(300 * time.Second),
				MaxEjectionPercent: 50, Interval: Duration(10 * time.Second)},
			RetryBudget:    RetryBudget{Percent: 20, MinPerSecond: 10},
			RetryBackoff:   RetryBackoff{Base: Duration(25 * time.Millisecond), Max: Duration(250 * time.Millisecond)},
			PanicThreshold: 50,
		}},
		Routes: []*Route{{
			Name:     "route-0",
			Match:    Match{PathPrefix: "/"},
			Upstream: "users",
			Timeout:  Duration(30 * time.Second),
			MaxBody:  0,
		}},
		AccessLog: AccessLog{Path: "", Format: "json"},
	}
	want.upstreamByName = map[string]*Upstream{"users": want.Upstreams[0]}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults differ\n got: %+v\nwant: %+v", c, want)
		for i := range c.Upstreams {
			t.Errorf("upstream %d: %+v", i, *c.Upstreams[i])
		}
		for i := range c.Routes {
			t.Errorf("route %d: %+v", i, *c.Routes[i])
		}
	}
	if !c.Admin.Enabled() || c.AccessLog.Enabled() {
		t.Errorf("Admin.Enabled = %v, AccessLog.Enabled = %v", c.Admin.Enabled(), c.AccessLog.Enabled())
	}
	if c.Upstream("users") != c.Upstreams[0] || c.Upstream("nope") != nil {
		t.Error("Upstream lookup by name is wrong")
	}
}

func TestAdminDefaultsOnWhenSectionOmitted(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, "admin:\n  address: 127.0.0.1:9901\n", "", 1))
	if c.Admin.Address != DefaultAdminAddress {
		t.Errorf("admin address = %q; want %q", c.Admin.Address, DefaultAdminAddress)
	}
}

func TestAdminOffAndEmptyDisable(t *testing.T) {
	for _, v := range []string{`off`, `""`, ``} {
		c := mustParse(t, strings.Replace(minimal, "address: 127.0.0.1:9901", "address: "+v, 1))
		if c.Admin.Enabled() {
			t.Errorf("admin.address: %s left the admin API on (%q)", v, c.Admin.Address)
		}
	}
}

func TestViaEmptyDisables(t *testing.T) {
	c := mustParse(t, minimal+"http:\n  via: \"\"\n")
	if c.HTTP.Via != "" {
		t.Errorf("via = %q; want empty", c.HTTP.Via)
	}
}

func TestExplicitZeroRetriesIsKept(t *testing.T) {
	c := mustParse(t, strings.Replace(minimal, "    targets:\n", "    retries: 0\n    targets:\n", 1))
	if c.Upstreams[0].Retries != 0 {
		t.Errorf("retries = %d; want 0", c.Upstreams[0].Retries)
	}
}

const full = `engine: epoll
loops: 4
listen:
  - address: 127.0.0.1:8080
    name: public
  - address: "[::1]:8081"
admin:
  address: 0.0.0.0:9901
  token: s3cret-token
http:
  max_request_line: 4KiB
  max_header_bytes: 64KiB
  max_headers: 50
  max_body: 10MB
  header_read_timeout: 5s
  idle_timeout: 1m30s
  max_connections: 10000
  trusted_proxies: [127.0.0.1/32, 10.0.0.0/8, "::1"]
  via: edge-1
shutdown_timeout: 45s
upstreams:
  users:
    balancer: consistent_hash
    hash_key: header:X-User
    targets:
      - address: 127.0.0.1:9001
        weight: 3
      - address: users.internal:9002
    connect_timeout: 500ms
    response_timeout: 3s
    read_timeout: 20s
    pool:
      max_idle: 8
      max_connections: 16
      idle_timeout: 30s
    retries: 2
    health_check:
      path: /healthz
      interval: 5s
      timeout: 1s
      expected_status: 204
      healthy_threshold: 1
      unhealthy_threshold: 2
      jitter: 500ms
    outlier_detection:
      consecutive_5xx: 7
      consecutive_connect_failures: 2
      base_ejection_time: 10s
      max_ejection_time: 1m
      max_ejection_percent: 30
      interval: 2s
    circuit_breaker:
      window: 20s
      min_requests: 10
      failure_percent: 40
      slow_call_duration: 2s
      slow_call_percent: 60
      open_duration: 15s
      half_open_probes: 3
    retry_budget:
      percent: 10
      min_per_second: 5
    retry_backoff: { base: 10ms, max: 1s }
    panic_threshold: 30
  orders:
    balancer: consistent_hash
    targets:
      - address: 127.0.0.1:9003
    pool:
      max_connections: 10
routes:
  - name: user-orders
    match:
      host: API.Example.com
      path_template: /users/{id}/orders
      methods: [GET, POST]
      headers: { X-Tenant: blue }
      query: { version: 2 }
    upstream: orders
    rewrite: /v2/orders
    timeout: 5s
    max_body: 1MiB
    request_headers:  { set: {X-A: b}, add: {X-B: c}, remove: [X-Debug] }
    response_headers: { set: {Server: sluice}, add: {}, remove: [] }
  - match: { host: "*.example.com", path_prefix: /users/ }
    upstream: users
    strip_prefix: /users
access_log:
  path: "-"
  format: common
`

func TestFullConfigFillsEveryField(t *testing.T) {
	c := mustParse(t, full)
	if c.Engine != "epoll" || c.Loops != 4 || c.ShutdownTimeout.Duration() != 45*time.Second {
		t.Errorf("top level: %q %d %v", c.Engine, c.Loops, c.ShutdownTimeout)
	}
	wantListen := []Listener{{Name: "public", Address: "127.0.0.1:8080"}, {Name: "listen-1", Address: "[::1]:8081"}}
	if !reflect.DeepEqual(c.Listen, wantListen) {
		t.Errorf("listen = %+v", c.Listen)
	}
	if c.Admin != (Admin{Address: "0.0.0.0:9901", Token: "s3cret-token"}) {
		t.Errorf("admin = %+v", c.Admin)
	}
	wantHTTP := HTTP{
		MaxRequestLine: 4 << 10, MaxHeaderBytes: 64 << 10, MaxHeaders: 50, MaxBody: 10_000_000,
		HeaderReadTimeout: Duration(5 * time.Second), IdleTimeout: Duration(90 * time.Second),
		MaxConnections: 10000,
		TrustedProxies: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"),
		},
		Via: "edge-1",
	}
	if !reflect.DeepEqual(c.HTTP, wantHTTP) {
		t.Errorf("http = %+v\nwant %+v", c.HTTP, wantHTTP)
	}
	u := c.Upstream("users")
	wantUsers := &Upstream{
		Name: "users", Balancer: "consistent_hash", HashKey: HashKey{Kind: HashKeyHeader, Name: "X-User"},
		Targets:        []Target{{Address: "127.0.0.1:9001", Weight: 3}, {Address: "users.internal:9002", Weight: 1}},
		ConnectTimeout: Duration(500 * time.Millisecond), ResponseTimeout: Duration(3 * time.Second),
		ReadTimeout: Duration(20 * time.Second),
		Pool:        Pool{MaxIdle: 8, MaxConnections: 16, IdleTimeout: Duration(30 * time.Second)},
		Retries:     2,
		HealthCheck: HealthCheck{Path: "/healthz", Interval: Duration(5 * time.Second), Timeout: Duration(time.Second),
			ExpectedStatus: 204, HealthyThreshold: 1, UnhealthyThreshold: 2, Jitter: Duration(500 * time.Millisecond)},
		OutlierDetection: OutlierDetection{Consecutive5xx: 7, ConsecutiveConnectFailures: 2,
			BaseEjectionTime: Duration(10 * time.Second), MaxEjectionTime: Duration(time.Minute),
			MaxEjectionPercent: 30, Interval: Duration(2 * time.Second)},
		CircuitBreaker: CircuitBreaker{Enabled: true, Window: Duration(20 * time.Second), MinRequests: 10,
			FailurePercent: 40, SlowCallDuration: Duration(2 * time.Second), SlowCallPercent: 60,
			OpenDuration: Duration(15 * time.Second), HalfOpenProbes: 3},
		RetryBudget:    RetryBudget{Percent: 10, MinPerSecond: 5},
		RetryBackoff:   RetryBackoff{Base: Duration(10 * time.Millisecond), Max: Duration(time.Second)},
		PanicThreshold: 30,
	}
	if !reflect.DeepEqual(u, wantUsers) {
		t.Errorf("users = %+v\nwant %+v", u, wantUsers)
	}
	if u.HashKey.String() != "header:X-User" {
		t.Errorf("HashKey.String = %q", u.HashKey.String())
	}
	o := c.Upstream("orders")
	// consistent_hash defaults to the client address; a default max_idle
	// is capped by an explicit lower max_connections.
	if o.HashKey != (HashKey{Kind: HashKeyClientIP}) || o.Pool.MaxIdle != 10 {
		t.Errorf("orders hash_key = %+v, max_idle = %d", o.HashKey, o.Pool.MaxIdle)
	}
	if names := []string{c.Upstreams[0].Name, c.Upstreams[1].Name}; names[0] != "users" || names[1] != "orders" {
		t.Errorf("upstreams not in declaration order: %v", names)
	}
	r0 := c.Routes[0]
	wantR0 := &Route{
		Name: "user-orders",
		Match: Match{
			Host: "api.example.com", PathTemplate: "/users/{id}/orders", Methods: []string{"GET", "POST"},
			Headers: []Header{{"X-Tenant", "blue"}}, Query: []Header{{"version", "2"}},
		},
		Upstream: "orders", Rewrite: "/v2/orders", Timeout: Duration(5 * time.Second), MaxBody: 1 << 20,
		RequestHeaders:  HeaderOps{Set: []Header{{"X-A", "b"}}, Add: []Header{{"X-B", "c"}}, Remove: []string{"X-Debug"}},
		ResponseHeaders: HeaderOps{Set: []Header{{"Server", "sluice"}}},
	}
	if !reflect.DeepEqual(r0, wantR0) {
		t.Errorf("routes[0] = %+v\nwant %+v", r0, wantR0)
	}
	r1 := c.Routes[1]
	// A route without timeout/max_body inherits the upstream's
	// response_timeout and http.max_body.
	if r1.Name != "route-1" || r1.Match.Host != "*.example.com" || r1.StripPrefix != "/users" ||
		r1.Timeout.Duration() != 3*time.Second || r1.MaxBody != 10_000_000 || !r1.ResponseHeaders.Empty() {
		t.Errorf("routes[1] = %+v", r1)
	}
	if c.AccessLog != (AccessLog{Path: "-", Format: "common"}) || !c.AccessLog.Enabled() {
		t.Errorf("access_log = %+v", c.AccessLog)
	}
}

func TestDemoParses(t *testing.T) {
	c := Demo()
	if len(c.Listen) != 1 || c.Listen[0].Address != "127.0.0.1:8080" || c.Admin.Address != "127.0.0.1:9901" {
		t.Errorf("demo listen/admin = %+v %+v", c.Listen, c.Admin)
	}
	users, orders := c.Upstream("users"), c.Upstream("orders")
	if users == nil || orders == nil {
		t.Fatalf("demo upstreams = %+v", c.Upstreams)
	}
	if !reflect.DeepEqual(users.Targets, []Target{{Address: "127.0.0.1:9001", Weight: 1}, {Address: "127.0.0.1:9002", Weight: 1}}) ||
		!reflect.DeepEqual(orders.Targets, []Target{{Address: "127.0.0.1:9003", Weight: 1}}) {
		t.Errorf("demo targets = %+v, %+v", users.Targets, orders.Targets)
	}
	var got []string
	for _, r := range c.Routes {
		got = append(got, r.Match.PathPrefix+" -> "+r.Upstream)
	}
	want := []string{"/users/ -> users", "/orders/ -> orders", "/ -> users"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("demo routes = %v; want %v", got, want)
	}
	if Demo() == c {
		t.Error("Demo returned a shared Config; callers may keep and compare their own")
	}
	if string(DemoYAML()) != string(demoYAML) {
		t.Error("DemoYAML differs from the embedded file")
	}
}

func TestLoadReadsFileAndNamesIt(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(minimal+"bogus: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil || c.File != good {
		t.Fatalf("Load(good) = %v, %v", c, err)
	}
	_, err = Load(bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":12:1: bogus: unknown field") {
		t.Errorf("Load(bad) = %v", err)
	}
	huge := filepath.Join(dir, "huge.yaml")
	if err := os.WriteFile(huge, []byte(strings.Repeat("#", MaxFileSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(huge)
	if err == nil || err.Error() != huge+": file is larger than 4MiB; is this the configuration?" {
		t.Errorf("Load(huge) = %v", err)
	}
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "larger than 4MiB") {
		t.Errorf("Load(/dev/zero) = %v", err)
	}
	_, err = Load(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v; want os.ErrNotExist", err)
	}
}

func TestErrorFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{"f.yaml", 12, 7, "a.b", "bad"}, "f.yaml:12:7: a.b: bad"},
		{Error{"f.yaml", 3, 0, "", "bad"}, "f.yaml:3: bad"},
		{Error{"f.yaml", 0, 0, "", "empty"}, "f.yaml: empty"},
		{Error{"", 0, 0, "x", "bad"}, "x: bad"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("%+v.Error() = %q; want %q", tc.e, got, tc.want)
		}
	}
	errs := Errors{{File: "a", Line: 1, Msg: "x"}, {File: "a", Line: 2, Msg: "y"}}
	var target *Error
	if !errors.As(&errs, &target) || target.Msg != "x" {
		t.Errorf("errors.As through *Errors = %v", target)
	}
}

func BenchmarkParseDemo(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(demoYAML)))
	for b.Loop() {
		if _, err := Parse("demo.yaml", demoYAML); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFull(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(full)))
	data := []byte(full)
	for b.Loop() {
		if _, err := Parse("full.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

// roundTrip checks that Format writes a file Parse reads back as the same
// Config (the admin token aside, which Format leaves out).
func roundTrip(t testing.TB, c *Config) {
	t.Helper()
	text := c.Format()
	back, err := Parse(c.File, text)
	if err != nil {
		t.Fatalf("Format output does not parse: %v\n%s", err, text)
	}
	if c.Admin.Token != "" {
		if !strings.Contains(string(text), "token: "+RedactedToken+" # the real token is not shown") || strings.Contains(string(text), c.Admin.Token) {
			t.Fatalf("Format shows the admin token or does not say it is set:\n%s", text)
		}
		back.Admin.Token = c.Admin.Token
	}
	if !reflect.DeepEqual(normalize(back), normalize(c)) {
		t.Fatalf("round trip changed the config\n--- formatted ---\n%s", text)
	}
}

// normalize treats an empty and a nil trusted_proxies list as the same.
func normalize(c *Config) *Config {
	cp := *c
	if len(cp.HTTP.TrustedProxies) == 0 {
		cp.HTTP.TrustedProxies = nil
	}
	return &cp
}

func TestFormatRoundTrips(t *testing.T) {
	for name, src := range map[string]string{"minimal": minimal, "full": full, "demo": string(demoYAML)} {
		t.Run(name, func(t *testing.T) { roundTrip(t, mustParse(t, src)) })
	}
}

func TestFormatWritesEveryDefault(t *testing.T) {
	text := string(mustParse(t, minimal).Format())
	for _, want := range []string{
		"engine: " + DefaultEngine, "loops: 0", "name: listen-0", "address: 127.0.0.1:9901",
		"max_request_line: 8KiB", "max_header_bytes: 32KiB", "max_headers: 100", "max_body: \"0\"",
		"header_read_timeout: 10s", "idle_timeout: 1m0s", "max_connections: 0", "trusted_proxies: []",
		"via: sluice", "shutdown_timeout: 30s", "balancer: round_robin", "weight: 1",
		"connect_timeout: 2s", "response_timeout: 30s", "read_timeout: 1m0s", "max_idle: 64",
		"retries: 1", "name: route-0", "timeout: 30s", "format: json",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Format output lacks %q:\n%s", want, text)
		}
	}
}
