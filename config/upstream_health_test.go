package config

import (
	"strings"
	"testing"
	"time"
)

// upstreamWith returns base with lines added to the users upstream (indented by four spaces).
func upstreamWith(lines string) string {
	return strings.Replace(base, "    targets:\n", lines+"    targets:\n", 1)
}

func TestResilienceSectionsRejectBadValuesWithPositions(t *testing.T) {
	runErrorCases(t, []errorCase{
		{name: "health check without path", src: upstreamWith("    health_check: { interval: 5s }\n"),
			at: "{ interval", path: "upstreams.users.health_check.path", msg: "missing required field"},
		{name: "health check timeout above interval", src: upstreamWith("    health_check: { path: /h, interval: 1s, timeout: 2s }\n"),
			at: "{ path", path: "upstreams.users.health_check.timeout", msg: "longer than interval"},
		{name: "health check status out of range", src: upstreamWith("    health_check: { path: /h, expected_status: 700 }\n"),
			at: "700", path: "upstreams.users.health_check.expected_status", msg: "out of range"},
		{name: "health check bad path", src: upstreamWith("    health_check: { path: nope }\n"),
			at: "nope", path: "upstreams.users.health_check.path", msg: ""},
		{name: "unknown outlier field", src: upstreamWith("    outlier_detection: { consecutive_500: 3 }\n"),
			at: "consecutive_500", path: "upstreams.users.outlier_detection.consecutive_500", msg: "unknown field"},
		{name: "ejection base above max", src: upstreamWith("    outlier_detection: { base_ejection_time: 10m, max_ejection_time: 1m }\n"),
			at: "10m", path: "upstreams.users.outlier_detection.base_ejection_time", msg: "above max_ejection_time"},
		{name: "breaker that can never trip", src: upstreamWith("    circuit_breaker: { failure_percent: 0 }\n"),
			at: "{ failure_percent", path: "upstreams.users.circuit_breaker", msg: "can never trip"},
		{name: "breaker percent out of range", src: upstreamWith("    circuit_breaker: { failure_percent: 101 }\n"),
			at: "101", path: "upstreams.users.circuit_breaker.failure_percent", msg: "out of range"},
		{name: "retry budget percent out of range", src: upstreamWith("    retry_budget: { percent: -1 }\n"),
			at: "-1", path: "upstreams.users.retry_budget.percent", msg: "out of range"},
		{name: "backoff max below base", src: upstreamWith("    retry_backoff: { base: 1s, max: 10ms }\n"),
			at: "10ms", path: "upstreams.users.retry_backoff.max", msg: "below base"},
		{name: "panic threshold out of range", src: upstreamWith("    panic_threshold: 150\n"),
			at: "150", path: "upstreams.users.panic_threshold", msg: "out of range"},
	})
}

func TestBreakerSectionStartsFromDefaults(t *testing.T) {
	c := mustParse(t, upstreamWith("    circuit_breaker: { open_duration: 1s }\n"))
	got := c.Upstreams[0].CircuitBreaker
	want := defaultCircuitBreaker()
	want.Enabled = true
	want.OpenDuration = Duration(time.Second)
	if got != want {
		t.Fatalf("circuit_breaker = %+v, want %+v", got, want)
	}
	roundTrip(t, c)
}

func TestResilienceDefaultsLeaveBreakerAndHealthChecksOff(t *testing.T) {
	c := mustParse(t, base)
	u := c.Upstreams[0]
	if u.HealthCheck.Enabled() || u.CircuitBreaker.Enabled {
		t.Fatalf("health check %+v / breaker %+v on by default", u.HealthCheck, u.CircuitBreaker)
	}
	if u.OutlierDetection != defaultOutlierDetection() || u.RetryBudget != defaultRetryBudget() || u.PanicThreshold != DefaultPanicThreshold {
		t.Fatalf("defaults: %+v %+v %d", u.OutlierDetection, u.RetryBudget, u.PanicThreshold)
	}
	roundTrip(t, c)
}

func TestDiscoveryTargetsParseAndRoundTrip(t *testing.T) {
	src := strings.Replace(base, "      - address: 127.0.0.1:9001\n",
		"      - dns: users.internal:8080\n        weight: 3\n      - srv: _http._tcp.users.default.svc\n    resolver: 127.0.0.1:5353\n", 1)
	c := mustParse(t, src)
	u := c.Upstreams[0]
	want := []Target{{DNS: "users.internal:8080", Weight: 3}, {SRV: "_http._tcp.users.default.svc", Weight: 1}}
	if len(u.Targets) != 2 || u.Targets[0] != want[0] || u.Targets[1] != want[1] || u.Resolver != "127.0.0.1:5353" {
		t.Fatalf("targets %+v resolver %q", u.Targets, u.Resolver)
	}
	if !u.Targets[0].Discovered() || !u.Targets[1].Discovered() {
		t.Fatal("Discovered false for dns/srv targets")
	}
	roundTrip(t, c)
}

func TestDiscoveryTargetsRejectBadValuesWithPositions(t *testing.T) {
	target := func(line string) string {
		return strings.Replace(base, "      - address: 127.0.0.1:9001\n", line, 1)
	}
	runErrorCases(t, []errorCase{
		{name: "dns without port", src: target("      - dns: users.internal\n"),
			at: "users.internal", path: "upstreams.users.targets[0].dns", msg: "missing port"},
		{name: "dns with an IP", src: target("      - dns: 10.0.0.1:80\n"),
			at: "10.0.0.1", path: "upstreams.users.targets[0].dns", msg: "is an IP address"},
		{name: "srv without underscores", src: target("      - srv: http.tcp.users\n"),
			at: "http.tcp", path: "upstreams.users.targets[0].srv", msg: "_service._proto.name"},
		{name: "srv with a bad name", src: target("      - srv: _http._tcp.bad_name\n"),
			at: "_http", path: "upstreams.users.targets[0].srv", msg: "invalid character"},
		{name: "address and dns", src: target("      - address: 127.0.0.1:1\n        dns: a.b:1\n"),
			at: "dns: a.b", path: "upstreams.users.targets[0].dns", msg: "one of address, dns and srv"},
		{name: "bad resolver", src: upstreamWith("    resolver: nowhere\n"),
			at: "nowhere", path: "upstreams.users.resolver", msg: "missing port"},
	})
}
