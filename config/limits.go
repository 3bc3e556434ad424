package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/sluice-gw/sluice/limits"
	"gopkg.in/yaml.v3"
)

// This file holds the traffic-limit schema: named rate limits (top-level
// limits), the routes that apply them, and concurrency limits on routes and
// upstreams. The gateway turns them into policy filters.

// Limit is a named rate limit (an entry of the top-level limits mapping).
type Limit struct {
	Name    string      // the key under limits
	Key     string      // key: client_ip | route | header:NAME, or several joined by "+"
	Windows []Window    // windows: 1..4 rates enforced together
	Shadow  bool        // shadow: count refusals but admit (observe before enforcing)
	MaxKeys int         // max_keys: keys tracked per instance (LRU with a frequency guard)
	Redis   *RedisLimit // redis: share the limit across instances; nil = this instance only
}

// Window is one rate of a limit.
type Window struct {
	Rate  string // rate: "100/s", "1000/min", "50000/day" (count/period)
	Burst int64  // burst: units that may be spent at once; 0 = the count
}

// RedisLimit makes a limit cluster-wide: instances draw leases of units from
// a GCRA evaluated atomically in Redis.
type RedisLimit struct {
	Address string   // address: host:port of the Redis server
	Lease   int      // lease: units fetched per round trip (and the slack per instance)
	OnError string   // on_error: "open" admits, "closed" answers 503 while Redis is unreachable
	Timeout Duration // timeout: per Redis round trip
}

// Redis on_error values.
const (
	RedisFailOpen   = "open"
	RedisFailClosed = "closed"
)

// Concurrency caps requests in flight (route or upstream).
type Concurrency struct {
	MaxInFlight int // max_in_flight: 0 = unlimited; over it -> 503 (or the queue)
	// QueueSize is how many requests may wait for a slot (queue_size, 0 = no queue: 503 at
	// once); QueueTimeout how long one waits before it gets 503 (queue_timeout).
	QueueSize    int
	QueueTimeout Duration
}

// AdaptiveConcurrency lets an upstream's in-flight limit follow latency
// (a gradient limit, as Netflix concurrency-limits' Gradient2).
type AdaptiveConcurrency struct {
	InitialLimit int      // initial_limit
	MinLimit     int      // min_limit
	MaxLimit     int      // max_limit
	Window       Duration // window: minimum time between limit updates
	MinSamples   int      // min_samples: completions needed per update
}

// Defaults of the limit schema.
const (
	DefaultLimitMaxKeys       = 1 << 16
	DefaultRedisLease         = 10
	DefaultRedisOnError       = RedisFailOpen
	DefaultRedisTimeout       = 100 * time.Millisecond
	DefaultAdaptiveInitial    = 20
	DefaultAdaptiveMin        = 5
	DefaultAdaptiveMax        = 200
	DefaultAdaptiveWindow     = time.Second
	DefaultAdaptiveMinSamples = 10
	DefaultQueueTimeout       = time.Second
	maxLimitKeys              = 1 << 24
	maxInFlight               = 1 << 30
	maxQueueSize              = 1 << 20
)

// Policies builds the validated limits.Policy of every window. Policies
// are named after the limit, with "-N" (N = window index) when there are
// several, as they appear in RateLimit-Policy.
func (l *Limit) Policies() ([]*limits.Policy, error) {
	ps := make([]*limits.Policy, 0, len(l.Windows))
	for i, w := range l.Windows {
		name := l.Name
		if len(l.Windows) > 1 {
			name = fmt.Sprintf("%s-%d", l.Name, i)
		}
		p, err := limits.ParsePolicy(name, w.Rate, w.Burst)
		if err != nil {
			return nil, err
		}
		p.Shadow = l.Shadow
		ps = append(ps, p)
	}
	return ps, nil
}

// Limit returns the limit called name, or nil.
func (c *Config) Limit(name string) *Limit {
	for _, l := range c.Limits {
		if l.Name == name {
			return l
		}
	}
	return nil
}

// limitRef is a route's use of a limit name, checked once the whole file is
// read (limits may be declared after the routes).
type limitRef struct {
	node *yaml.Node
	path string
	name string
}

func (d *configDecoder) limitMap(n *yaml.Node, path string) {
	d.entries(n, path, func(k, v *yaml.Node, name, p string) {
		if err := checkName(name, true); err != nil {
			d.errorf(k, p, "%v", err)
		}
		l := &Limit{Name: name, MaxKeys: DefaultLimitMaxKeys}
		d.limit(l, k, v, p)
		d.c.Limits = append(d.c.Limits, l)
	})
}

func (d *configDecoder) limit(l *Limit, k, n *yaml.Node, path string) {
	var windowsNode, leaseNode *yaml.Node
	seen := d.fields(n, path, fieldDecoders{
		"key": func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if err := checkLimitKey(s); err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			l.Key = s
		},
		"windows": func(v *yaml.Node, p string) {
			windowsNode = deref(v)
			items, ok := d.list(v, p)
			if !ok {
				return
			}
			if len(items) == 0 || len(items) > limits.MaxWindows {
				d.errorf(windowsNode, p, "a limit has 1 to %d windows, got %d", limits.MaxWindows, len(items))
				return
			}
			for i, it := range items {
				l.Windows = append(l.Windows, d.window(it, index(p, i)))
			}
		},
		"shadow": func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, "true", "false"); ok {
				l.Shadow = s == "true"
			}
		},
		"max_keys": d.intTo(&l.MaxKeys, 1, maxLimitKeys),
		"redis": func(v *yaml.Node, p string) {
			r := &RedisLimit{Lease: DefaultRedisLease, OnError: DefaultRedisOnError, Timeout: Duration(DefaultRedisTimeout)}
			leaseNode = d.redis(r, v, p)
			l.Redis = r
			if leaseNode == nil {
				r.Lease = 0 // filled from the windows below
			}
		},
	})
	if seen == nil {
		return
	}
	for _, req := range []string{"key", "windows"} {
		if seen[req] == nil {
			d.errorf(deref(n), field(path, req), "missing required field %q", req)
			if isNull(deref(n)) {
				d.errs[len(d.errs)-1].Line, d.errs[len(d.errs)-1].Column = k.Line, k.Column
			}
		}
	}
	if r := l.Redis; r != nil && len(l.Windows) > 0 {
		minBurst := int64(-1)
		for _, w := range l.Windows {
			if b := w.effectiveBurst(); b > 0 && (minBurst < 0 || b < minBurst) {
				minBurst = b
			}
		}
		if r.Lease == 0 {
			r.Lease = int(min(int64(DefaultRedisLease), max(minBurst, 1)))
		} else if minBurst > 0 && int64(r.Lease) > minBurst {
			d.errorf(leaseNode, field(path, "redis.lease"), "lease %d is above the smallest burst %d; a lease is spent within one burst", r.Lease, minBurst)
		}
	}
}

// effectiveBurst is the burst of a valid window (0 if the rate is invalid).
func (w Window) effectiveBurst() int64 {
	if w.Burst > 0 {
		return w.Burst
	}
	n, _, err := limits.ParseRate(w.Rate)
	if err != nil {
		return 0
	}
	return n
}

func (d *configDecoder) window(n *yaml.Node, path string) Window {
	var w Window
	var rateNode *yaml.Node
	seen := d.fields(n, path, fieldDecoders{
		"rate": func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if _, err := limits.ParsePolicy("", s, 0); err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			w.Rate = s
			rateNode = deref(v)
		},
		"burst": func(v *yaml.Node, p string) {
			if x, ok := d.intIn(v, p, 0, 1<<40); ok {
				w.Burst = int64(x)
			}
		},
	})
	if seen == nil {
		return w
	}
	if seen["rate"] == nil {
		d.errorf(n, field(path, "rate"), "missing required field \"rate\" (for example \"100/s\")")
		return w
	}
	if w.Rate != "" {
		if _, err := limits.ParsePolicy("", w.Rate, w.Burst); err != nil {
			d.errorf(rateNode, field(path, "burst"), "%v", err)
		}
	}
	return w
}

// redis decodes a redis block and returns the lease node when one was given.
func (d *configDecoder) redis(r *RedisLimit, n *yaml.Node, path string) (leaseNode *yaml.Node) {
	seen := d.fields(n, path, fieldDecoders{
		"address": func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if err := checkHostPort(s, false); err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			r.Address = s
		},
		"lease": func(v *yaml.Node, p string) {
			if x, ok := d.intIn(v, p, 1, 1<<20); ok {
				r.Lease = x
				leaseNode = deref(v)
			}
		},
		"on_error": func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, RedisFailOpen, RedisFailClosed); ok {
				r.OnError = s
			}
		},
		"timeout": d.durationTo(&r.Timeout, Duration(time.Millisecond), Duration(time.Minute)),
	})
	if seen != nil && seen["address"] == nil {
		d.errorf(deref(n), field(path, "address"), "missing required field \"address\"")
	}
	return leaseNode
}

// checkLimitKey validates the key notation (policy.ParseKey reads the same).
func checkLimitKey(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty key (allowed: client_ip, route, header:NAME, or several joined by '+')")
	}
	seen := map[string]bool{}
	for _, p := range strings.Split(s, "+") {
		p = strings.TrimSpace(p)
		switch {
		case p == "client_ip" || p == "route":
		case strings.HasPrefix(p, "header:"):
			if err := checkToken(p[len("header:"):], "header name"); err != nil {
				return err
			}
		default:
			return fmt.Errorf("invalid key part %q (allowed: client_ip, route, header:NAME, joined by '+')", p)
		}
		if seen[strings.ToLower(p)] {
			return fmt.Errorf("key part %q appears twice", p)
		}
		seen[strings.ToLower(p)] = true
	}
	return nil
}

// routeLimits decodes a route's limits list; names are checked later.
func (d *configDecoder) routeLimits(r *Route, n *yaml.Node, path string) {
	items, ok := d.list(n, path)
	if !ok {
		return
	}
	have := map[string]bool{}
	for i, it := range items {
		p := index(path, i)
		s, ok := d.str(it, p)
		if !ok {
			continue
		}
		if have[s] {
			d.errorf(it, p, "limit %q is listed twice", s)
			continue
		}
		have[s] = true
		r.Limits = append(r.Limits, s)
		d.limitRefs = append(d.limitRefs, limitRef{node: it, path: p, name: s})
	}
}

func (d *configDecoder) concurrency(c *Concurrency, n *yaml.Node, path string) {
	d.fields(n, path, fieldDecoders{
		"max_in_flight": d.intTo(&c.MaxInFlight, 0, maxInFlight),
		"queue_size":    d.intTo(&c.QueueSize, 0, maxQueueSize),
		"queue_timeout": d.durationTo(&c.QueueTimeout, Duration(time.Millisecond), Duration(time.Minute)),
	})
	if c.QueueSize > 0 && c.MaxInFlight == 0 {
		d.errorf(n, path, "queue_size needs max_in_flight: nothing waits for an unlimited route")
	}
	if c.QueueSize > 0 && c.QueueTimeout == 0 {
		c.QueueTimeout = Duration(DefaultQueueTimeout)
	}
}

// concurrencyNode formats c.
func concurrencyNode(c Concurrency) *yaml.Node {
	m := mapping("max_in_flight", num(int64(c.MaxInFlight)))
	if c.QueueSize > 0 {
		add(m, "queue_size", num(int64(c.QueueSize)))
		add(m, "queue_timeout", str(c.QueueTimeout.String()))
	}
	return m
}

// limitDecoders adds the limit fields to an upstream's decoders.
func (d *configDecoder) limitDecoders(u *Upstream, fd fieldDecoders) {
	fd["concurrency"] = func(v *yaml.Node, p string) { d.concurrency(&u.Concurrency, v, p) }
	fd["adaptive_concurrency"] = func(v *yaml.Node, p string) {
		a := &AdaptiveConcurrency{
			InitialLimit: DefaultAdaptiveInitial, MinLimit: DefaultAdaptiveMin, MaxLimit: DefaultAdaptiveMax,
			Window: Duration(DefaultAdaptiveWindow), MinSamples: DefaultAdaptiveMinSamples,
		}
		seen := d.fields(v, p, fieldDecoders{
			"initial_limit": d.intTo(&a.InitialLimit, 1, maxInFlight),
			"min_limit":     d.intTo(&a.MinLimit, 1, maxInFlight),
			"max_limit":     d.intTo(&a.MaxLimit, 1, maxInFlight),
			"window":        d.durationTo(&a.Window, Duration(time.Millisecond), Duration(time.Hour)),
			"min_samples":   d.intTo(&a.MinSamples, 1, 1<<20),
		})
		if seen == nil {
			return
		}
		if a.MinLimit > a.InitialLimit || a.InitialLimit > a.MaxLimit {
			d.errorf(deref(v), p, "want min_limit <= initial_limit <= max_limit, got %d, %d, %d", a.MinLimit, a.InitialLimit, a.MaxLimit)
			return
		}
		u.AdaptiveConcurrency = a
	}
}

// checkLimitRefs reports route limit names that no limit defines, and limit
// names defined twice.
func (d *configDecoder) checkLimitRefs() {
	names := make([]string, 0, len(d.c.Limits))
	for _, l := range d.c.Limits {
		names = append(names, l.Name)
	}
	for _, ref := range d.limitRefs {
		if d.c.Limit(ref.name) != nil {
			continue
		}
		msg := fmt.Sprintf("unknown limit %q", ref.name)
		if s := suggest(ref.name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else if len(names) > 0 {
			msg += fmt.Sprintf(" (defined: %s)", strings.Join(names, ", "))
		} else {
			msg += " (define it under the top-level limits)"
		}
		d.errorf(ref.node, ref.path, "%s", msg)
	}
}

// formatLimits writes the limits section.
func (c *Config) formatLimits() *yaml.Node {
	m := mapping()
	for _, l := range c.Limits {
		var ws []*yaml.Node
		for _, w := range l.Windows {
			wm := mapping("rate", str(w.Rate))
			if w.Burst != 0 {
				add(wm, "burst", num(w.Burst))
			}
			ws = append(ws, wm)
		}
		body := mapping("key", str(l.Key), "windows", seq(ws...), "shadow", boolNode(l.Shadow), "max_keys", num(int64(l.MaxKeys)))
		if r := l.Redis; r != nil {
			add(body, "redis", mapping(
				"address", str(r.Address),
				"lease", num(int64(r.Lease)),
				"on_error", str(r.OnError),
				"timeout", str(r.Timeout.String()),
			))
		}
		add(m, l.Name, body)
	}
	return m
}

func boolNode(b bool) *yaml.Node {
	s := "false"
	if b {
		s = "true"
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: s}
}

// formatRouteLimits adds a route's limit fields to its mapping.
func formatRouteLimits(m *yaml.Node, r *Route) {
	if len(r.Limits) > 0 {
		var names []*yaml.Node
		for _, n := range r.Limits {
			names = append(names, str(n))
		}
		s := seq(names...)
		s.Style = yaml.FlowStyle
		add(m, "limits", s)
	}
	if r.Concurrency.MaxInFlight > 0 {
		add(m, "concurrency", concurrencyNode(r.Concurrency))
	}
}

// formatUpstreamLimits adds an upstream's limit fields to its mapping.
func formatUpstreamLimits(m *yaml.Node, u *Upstream) {
	if u.Concurrency.MaxInFlight > 0 {
		add(m, "concurrency", concurrencyNode(u.Concurrency))
	}
	if a := u.AdaptiveConcurrency; a != nil {
		add(m, "adaptive_concurrency", mapping(
			"initial_limit", num(int64(a.InitialLimit)),
			"min_limit", num(int64(a.MinLimit)),
			"max_limit", num(int64(a.MaxLimit)),
			"window", str(a.Window.String()),
			"min_samples", num(int64(a.MinSamples)),
		))
	}
}
