package config

import (
	"strings"
	"testing"
	"time"
)

const limitsBase = `listen:
  - address: 127.0.0.1:8080
limits:
  api:
    key: header:X-Api-Key+route
    windows:
      - rate: 10/s
        burst: 20
      - rate: 1000/day
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
    concurrency:
      max_in_flight: 50
    adaptive_concurrency:
      min_limit: 2
routes:
  - match: { path_prefix: / }
    upstream: users
    limits: [api]
    concurrency: { max_in_flight: 7 }
`

func TestLimitsDecodeWithDefaults(t *testing.T) {
	c, err := Parse("l.yaml", []byte(limitsBase))
	if err != nil {
		t.Fatal(err)
	}
	l := c.Limit("api")
	if l == nil || l.Key != "header:X-Api-Key+route" || len(l.Windows) != 2 || l.MaxKeys != DefaultLimitMaxKeys || l.Shadow || l.Redis != nil {
		t.Fatalf("limit %+v", l)
	}
	if l.Windows[0] != (Window{Rate: "10/s", Burst: 20}) || l.Windows[1] != (Window{Rate: "1000/day"}) {
		t.Fatalf("windows %+v", l.Windows)
	}
	ps, err := l.Policies()
	if err != nil || len(ps) != 2 || ps[0].Name != "api-0" || ps[1].Name != "api-1" || ps[1].EffectiveBurst() != 1000 || ps[1].Per != 24*time.Hour {
		t.Fatalf("policies %v %v", ps, err)
	}
	r := c.Routes[0]
	if len(r.Limits) != 1 || r.Limits[0] != "api" || r.Concurrency.MaxInFlight != 7 {
		t.Fatalf("route %+v", r)
	}
	u := c.Upstreams[0]
	a := u.AdaptiveConcurrency
	if u.Concurrency.MaxInFlight != 50 || a == nil || a.MinLimit != 2 || a.InitialLimit != DefaultAdaptiveInitial || a.MaxLimit != DefaultAdaptiveMax || a.Window.Duration() != DefaultAdaptiveWindow || a.MinSamples != DefaultAdaptiveMinSamples {
		t.Fatalf("upstream %+v adaptive %+v", u, a)
	}
	roundTrip(t, c)
}

func TestRedisLeaseDefaultsToAtMostTheSmallestBurst(t *testing.T) {
	src := strings.Replace(limitsBase, "      - rate: 1000/day\n", "      - rate: 1000/day\n        burst: 4\n    redis:\n      address: 127.0.0.1:6379\n", 1)
	c, err := Parse("l.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Limit("api").Redis
	if r == nil || r.Lease != 4 || r.OnError != RedisFailOpen || r.Timeout.Duration() != DefaultRedisTimeout || r.Address != "127.0.0.1:6379" {
		t.Fatalf("redis %+v", r)
	}
	roundTrip(t, c)
}

func TestLimitErrorsPointAtTheirNode(t *testing.T) {
	rep := func(old, new string) string { return strings.Replace(limitsBase, old, new, 1) }
	runErrorCases(t, []errorCase{
		{name: "unknown limit name", src: rep("limits: [api]", "limits: [apj]"), at: "apj]", path: "routes[0].limits[0]", msg: `unknown limit "apj" (did you mean "api"?)`},
		{name: "limit listed twice", src: rep("limits: [api]", "limits: [api, api]"), at: "api]", path: "routes[0].limits[1]", msg: "listed twice"},
		{name: "bad rate", src: rep("rate: 10/s", "rate: 10/fortnight"), at: "10/fortnight", path: "limits.api.windows[0].rate", msg: "unknown period unit"},
		{name: "zero count", src: rep("rate: 10/s", "rate: 0/s"), at: "0/s", path: "limits.api.windows[0].rate", msg: "not a positive integer"},
		{name: "bad key part", src: rep("key: header:X-Api-Key+route", "key: ip"), at: "ip", path: "limits.api.key", msg: `invalid key part "ip"`},
		{name: "repeated key part", src: rep("key: header:X-Api-Key+route", "key: route+route"), at: "route+route", path: "limits.api.key", msg: "appears twice"},
		{name: "too many windows", src: rep("      - rate: 1000/day\n", "      - rate: 1000/day\n      - rate: 1/s\n      - rate: 2/s\n      - rate: 3/s\n"), at: "- rate: 10/s", path: "limits.api.windows", msg: "1 to 4 windows"},
		{name: "missing windows", src: rep("    windows:\n      - rate: 10/s\n        burst: 20\n      - rate: 1000/day\n", ""), at: "key:", path: "limits.api.windows", msg: `missing required field "windows"`},
		{name: "bad on_error", src: rep("      - rate: 1000/day\n", "      - rate: 1000/day\n    redis:\n      address: 127.0.0.1:6379\n      on_error: opne\n"), at: "opne", path: "limits.api.redis.on_error", msg: "allowed: open, closed"},
		{name: "lease above burst", src: rep("      - rate: 1000/day\n", "      - rate: 1000/day\n    redis:\n      address: 127.0.0.1:6379\n      lease: 25\n"), at: "25", path: "limits.api.redis.lease", msg: "above the smallest burst 20"},
		{name: "adaptive bounds out of order", src: rep("      min_limit: 2\n", "      min_limit: 30\n"), at: "min_limit: 30", path: "upstreams.users.adaptive_concurrency", msg: "min_limit <= initial_limit <= max_limit"},
		{name: "negative in-flight cap", src: rep("max_in_flight: 7", "max_in_flight: -1"), at: "-1", path: "routes[0].concurrency.max_in_flight", msg: ""},
	})
}
