package config

import (
	"time"

	"gopkg.in/yaml.v3"
)

// Upstream resilience: active health checks, passive outlier detection, circuit breakers,
// the retry budget and the panic threshold. Kept apart from decode.go so that the sections
// can grow without touching the core schema.

// HealthCheck is an active HTTP check of every target of an upstream. Off when Path is "".
type HealthCheck struct {
	Path               string   // path: request target of the GET, e.g. "/healthz"; "" = off
	Interval           Duration // interval: between checks of one target
	Timeout            Duration // timeout: for the whole check (connect, request, status line)
	ExpectedStatus     int      // expected_status: the status a healthy target answers
	HealthyThreshold   int      // healthy_threshold: passes in a row that bring a target back
	UnhealthyThreshold int      // unhealthy_threshold: failures in a row that take it out
	Jitter             Duration // jitter: random extra delay up to this, so checks spread out
}

// Enabled reports whether targets are checked.
func (h HealthCheck) Enabled() bool { return h.Path != "" }

// OutlierDetection ejects targets on consecutive failures seen by real traffic (Envoy's
// outlier_detection). On by default; consecutive_5xx 0 and consecutive_connect_failures 0
// turn it off.
type OutlierDetection struct {
	Consecutive5xx             int      // consecutive_5xx: 5xx or connect failures in a row; 0 = off
	ConsecutiveConnectFailures int      // consecutive_connect_failures: in a row; 0 = off
	BaseEjectionTime           Duration // base_ejection_time: times the number of ejections
	MaxEjectionTime            Duration // max_ejection_time: cap of the ejection time
	MaxEjectionPercent         int      // max_ejection_percent: of the targets at once
	Interval                   Duration // interval: sweep of expired ejections
}

// CircuitBreaker configures a breaker per target. Off unless the section is present.
type CircuitBreaker struct {
	Enabled          bool     // the circuit_breaker section is present
	Window           Duration // window: sliding window of results
	MinRequests      int      // min_requests: results in the window below which it never trips
	FailurePercent   int      // failure_percent: failures/results that trip it; 0 = off
	SlowCallDuration Duration // slow_call_duration: a result slower than this is slow
	SlowCallPercent  int      // slow_call_percent: slow/results that trip it; 0 = off
	OpenDuration     Duration // open_duration: refusing before half-open
	HalfOpenProbes   int      // half_open_probes: probe requests let through when half-open
}

// RetryBudget caps retries to a share of the requests (Finagle's and Envoy's retry budget).
type RetryBudget struct {
	Percent      int // percent: retries allowed per 100 requests over a 10s window
	MinPerSecond int // min_per_second: retries allowed regardless of traffic
}

// RetryBackoff is the delay before a retry on the target that failed (a retry on another
// target goes at once): uniform in [0, min(max, base*2^attempt)], "full jitter".
type RetryBackoff struct {
	Base Duration // base: ceiling of the first retry's delay
	Max  Duration // max: cap of the ceiling
}

// Resilience defaults; docs/config.md lists the same values.
const (
	DefaultHealthInterval                     = 10 * time.Second
	DefaultHealthTimeout                      = 2 * time.Second
	DefaultHealthExpectedStatus               = 200
	DefaultHealthyThreshold                   = 2
	DefaultUnhealthyThreshold                 = 3
	DefaultOutlierConsecutive5xx              = 5
	DefaultOutlierConnectFailures             = 3
	DefaultOutlierBaseEjectionTime            = 30 * time.Second
	DefaultOutlierMaxEjectionTime             = 300 * time.Second
	DefaultOutlierMaxEjectionPercent          = 50
	DefaultOutlierInterval                    = 10 * time.Second
	DefaultBreakerWindow                      = 10 * time.Second
	DefaultBreakerMinRequests                 = 20
	DefaultBreakerFailurePercent              = 50
	DefaultBreakerOpenDuration                = 5 * time.Second
	DefaultBreakerHalfOpenProbes              = 1
	DefaultRetryBudgetPercent                 = 20
	DefaultRetryBudgetMinPerSecond            = 10
	DefaultRetryBackoffBase                   = 25 * time.Millisecond
	DefaultRetryBackoffMax                    = 250 * time.Millisecond
	DefaultPanicThreshold                     = 50
	maxHealthThreshold                        = 100
	maxConsecutiveFailures                    = 1000
	maxBreakerProbes                          = 1000
	maxBreakerMinRequests                     = 1 << 20
	maxRetryBudgetMinPerSecond                = 1 << 20
	minBreakerWindow                 Duration = Duration(10 * time.Millisecond)
)

func defaultHealthCheck() HealthCheck {
	return HealthCheck{
		Interval:           Duration(DefaultHealthInterval),
		Timeout:            Duration(DefaultHealthTimeout),
		ExpectedStatus:     DefaultHealthExpectedStatus,
		HealthyThreshold:   DefaultHealthyThreshold,
		UnhealthyThreshold: DefaultUnhealthyThreshold,
	}
}

func defaultOutlierDetection() OutlierDetection {
	return OutlierDetection{
		Consecutive5xx:             DefaultOutlierConsecutive5xx,
		ConsecutiveConnectFailures: DefaultOutlierConnectFailures,
		BaseEjectionTime:           Duration(DefaultOutlierBaseEjectionTime),
		MaxEjectionTime:            Duration(DefaultOutlierMaxEjectionTime),
		MaxEjectionPercent:         DefaultOutlierMaxEjectionPercent,
		Interval:                   Duration(DefaultOutlierInterval),
	}
}

func defaultCircuitBreaker() CircuitBreaker {
	return CircuitBreaker{
		Window:         Duration(DefaultBreakerWindow),
		MinRequests:    DefaultBreakerMinRequests,
		FailurePercent: DefaultBreakerFailurePercent,
		OpenDuration:   Duration(DefaultBreakerOpenDuration),
		HalfOpenProbes: DefaultBreakerHalfOpenProbes,
	}
}

func defaultRetryBackoff() RetryBackoff {
	return RetryBackoff{Base: Duration(DefaultRetryBackoffBase), Max: Duration(DefaultRetryBackoffMax)}
}

func defaultRetryBudget() RetryBudget {
	return RetryBudget{Percent: DefaultRetryBudgetPercent, MinPerSecond: DefaultRetryBudgetMinPerSecond}
}

// resilienceDecoders adds the resilience fields to an upstream's decoders.
func (d *configDecoder) resilienceDecoders(u *Upstream, fd fieldDecoders) {
	fd["health_check"] = func(v *yaml.Node, p string) { d.healthCheck(&u.HealthCheck, v, p) }
	fd["outlier_detection"] = func(v *yaml.Node, p string) { d.outlierDetection(&u.OutlierDetection, v, p) }
	fd["circuit_breaker"] = func(v *yaml.Node, p string) { d.circuitBreaker(&u.CircuitBreaker, v, p) }
	fd["retry_budget"] = func(v *yaml.Node, p string) { d.retryBudget(&u.RetryBudget, v, p) }
	fd["retry_backoff"] = func(v *yaml.Node, p string) { d.retryBackoff(&u.RetryBackoff, v, p) }
	fd["resolver"] = func(v *yaml.Node, p string) {
		s, ok := d.str(v, p)
		if !ok {
			return
		}
		if err := checkHostPort(s, false); err != nil {
			d.errorf(deref(v), p, "%v", err)
			return
		}
		u.Resolver = s
	}
	fd["panic_threshold"] = func(v *yaml.Node, p string) {
		if x, ok := d.intIn(v, p, 0, 100); ok {
			u.PanicThreshold = x
		}
	}
}

func (d *configDecoder) healthCheck(h *HealthCheck, n *yaml.Node, path string) {
	seen := d.fields(n, path, fieldDecoders{
		"path": func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if err := checkPath(s); err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			h.Path = s
		},
		"interval":            d.durationTo(&h.Interval, Duration(10*time.Millisecond), 0),
		"timeout":             d.durationTo(&h.Timeout, 1, 0),
		"expected_status":     d.intTo(&h.ExpectedStatus, 100, 599),
		"healthy_threshold":   d.intTo(&h.HealthyThreshold, 1, maxHealthThreshold),
		"unhealthy_threshold": d.intTo(&h.UnhealthyThreshold, 1, maxHealthThreshold),
		"jitter":              d.durationTo(&h.Jitter, 0, 0),
	})
	if seen != nil && seen["path"] == nil {
		d.errorf(deref(n), field(path, "path"), "missing required field \"path\" (the request target a healthy target answers)")
	}
	if seen != nil && h.Path != "" && h.Timeout > h.Interval {
		d.errorf(deref(n), field(path, "timeout"), "timeout %s is longer than interval %s", h.Timeout, h.Interval)
	}
}

func (d *configDecoder) outlierDetection(o *OutlierDetection, n *yaml.Node, path string) {
	var baseNode *yaml.Node
	d.fields(n, path, fieldDecoders{
		"consecutive_5xx":              d.intTo(&o.Consecutive5xx, 0, maxConsecutiveFailures),
		"consecutive_connect_failures": d.intTo(&o.ConsecutiveConnectFailures, 0, maxConsecutiveFailures),
		"base_ejection_time": func(v *yaml.Node, p string) {
			if x, ok := d.durationIn(v, p, 1, 0); ok {
				o.BaseEjectionTime = x
				baseNode = deref(v)
			}
		},
		"max_ejection_time":    d.durationTo(&o.MaxEjectionTime, 1, 0),
		"max_ejection_percent": d.intTo(&o.MaxEjectionPercent, 0, 100),
		"interval":             d.durationTo(&o.Interval, Duration(10*time.Millisecond), 0),
	})
	if o.MaxEjectionTime < o.BaseEjectionTime {
		at := baseNode
		if at == nil {
			at = deref(n)
		}
		d.errorf(at, field(path, "base_ejection_time"), "base_ejection_time %s is above max_ejection_time %s", o.BaseEjectionTime, o.MaxEjectionTime)
	}
}

func (d *configDecoder) circuitBreaker(b *CircuitBreaker, n *yaml.Node, path string) {
	*b = defaultCircuitBreaker()
	seen := d.fields(n, path, fieldDecoders{
		"window":             d.durationTo(&b.Window, minBreakerWindow, 0),
		"min_requests":       d.intTo(&b.MinRequests, 1, maxBreakerMinRequests),
		"failure_percent":    d.intTo(&b.FailurePercent, 0, 100),
		"slow_call_duration": d.durationTo(&b.SlowCallDuration, 0, 0),
		"slow_call_percent":  d.intTo(&b.SlowCallPercent, 0, 100),
		"open_duration":      d.durationTo(&b.OpenDuration, 1, 0),
		"half_open_probes":   d.intTo(&b.HalfOpenProbes, 1, maxBreakerProbes),
	})
	if seen == nil {
		return
	}
	b.Enabled = true
	slow := b.SlowCallPercent > 0 && b.SlowCallDuration > 0
	if b.FailurePercent == 0 && !slow {
		d.errorf(deref(n), path, "circuit breaker can never trip: set failure_percent, or slow_call_duration and slow_call_percent")
	}
}

func (d *configDecoder) retryBudget(r *RetryBudget, n *yaml.Node, path string) {
	d.fields(n, path, fieldDecoders{
		"percent":        d.intTo(&r.Percent, 0, 100),
		"min_per_second": d.intTo(&r.MinPerSecond, 0, maxRetryBudgetMinPerSecond),
	})
}

func (d *configDecoder) retryBackoff(b *RetryBackoff, n *yaml.Node, path string) {
	var maxNode *yaml.Node
	d.fields(n, path, fieldDecoders{
		"base": d.durationTo(&b.Base, 1, 0),
		"max": func(v *yaml.Node, p string) {
			if x, ok := d.durationIn(v, p, 1, 0); ok {
				b.Max = x
				maxNode = deref(v)
			}
		},
	})
	if b.Max < b.Base {
		at := maxNode
		if at == nil {
			at = deref(n)
		}
		d.errorf(at, field(path, "max"), "max %s is below base %s", b.Max, b.Base)
	}
}

// formatResilience writes the resilience fields of u into its mapping.
func formatResilience(body *yaml.Node, u *Upstream) {
	if h := u.HealthCheck; h.Enabled() {
		add(body, "health_check", mapping(
			"path", str(h.Path),
			"interval", str(h.Interval.String()),
			"timeout", str(h.Timeout.String()),
			"expected_status", num(int64(h.ExpectedStatus)),
			"healthy_threshold", num(int64(h.HealthyThreshold)),
			"unhealthy_threshold", num(int64(h.UnhealthyThreshold)),
			"jitter", str(h.Jitter.String()),
		))
	}
	o := u.OutlierDetection
	add(body, "outlier_detection", mapping(
		"consecutive_5xx", num(int64(o.Consecutive5xx)),
		"consecutive_connect_failures", num(int64(o.ConsecutiveConnectFailures)),
		"base_ejection_time", str(o.BaseEjectionTime.String()),
		"max_ejection_time", str(o.MaxEjectionTime.String()),
		"max_ejection_percent", num(int64(o.MaxEjectionPercent)),
		"interval", str(o.Interval.String()),
	))
	if b := u.CircuitBreaker; b.Enabled {
		add(body, "circuit_breaker", mapping(
			"window", str(b.Window.String()),
			"min_requests", num(int64(b.MinRequests)),
			"failure_percent", num(int64(b.FailurePercent)),
			"slow_call_duration", str(b.SlowCallDuration.String()),
			"slow_call_percent", num(int64(b.SlowCallPercent)),
			"open_duration", str(b.OpenDuration.String()),
			"half_open_probes", num(int64(b.HalfOpenProbes)),
		))
	}
	add(body,
		"retry_budget", mapping(
			"percent", num(int64(u.RetryBudget.Percent)),
			"min_per_second", num(int64(u.RetryBudget.MinPerSecond)),
		),
		"retry_backoff", mapping(
			"base", str(u.RetryBackoff.Base.String()),
			"max", str(u.RetryBackoff.Max.String()),
		),
		"panic_threshold", num(int64(u.PanicThreshold)),
	)
	if u.Resolver != "" {
		add(body, "resolver", str(u.Resolver))
	}
}
