package admin

import "time"

// The JSON types of the admin API, shared with the console. Durations are float milliseconds
// and rates are per second, so that any client reads them without Go's time types.

// Stats is the snapshot of GET /api/v1/stats and of every stream frame: the console's header,
// routes and upstreams.
type Stats struct {
	Instance      string          `json:"instance"`
	Seq           uint64          `json:"seq"` // per-second aggregate number; 0 before the first
	At            time.Time       `json:"at"`
	WindowSeconds float64         `json:"window_seconds"`
	UptimeSeconds float64         `json:"uptime_seconds"`
	ConfigVersion uint64          `json:"config_version"`
	LastReload    *Reload         `json:"last_reload,omitempty"`
	Connections   int64           `json:"connections"`
	Requests      uint64          `json:"requests"`
	RPS           float64         `json:"rps"`
	ErrorRate     float64         `json:"error_rate"` // share of 5xx, 0..1
	P50Ms         float64         `json:"p50_ms"`
	P99Ms         float64         `json:"p99_ms"`
	InBps         float64         `json:"in_bytes_per_second"`
	OutBps        float64         `json:"out_bytes_per_second"`
	Routes        []RouteStats    `json:"routes"`
	Upstreams     []UpstreamStats `json:"upstreams"`
}

// Reload is the outcome of the newest reload attempt.
type Reload struct {
	At      time.Time `json:"at"`
	OK      bool      `json:"ok"`
	Version uint64    `json:"version"`
	Error   string    `json:"error,omitempty"`
}

// RouteStats is one route.
type RouteStats struct {
	Name       string    `json:"name"`
	Match      string    `json:"match,omitempty"`
	Upstream   string    `json:"upstream"`
	Requests   uint64    `json:"requests"`
	RPS        float64   `json:"rps"`
	Rate2xx    float64   `json:"rate_2xx"`
	Rate3xx    float64   `json:"rate_3xx"`
	Rate4xx    float64   `json:"rate_4xx"`
	Rate5xx    float64   `json:"rate_5xx"`
	Rate429    float64   `json:"rate_429"`
	P50Ms      float64   `json:"p50_ms"`
	P99Ms      float64   `json:"p99_ms"`
	InFlight   int64     `json:"in_flight"`             // the route's requests under way
	History    []float64 `json:"rps_history,omitempty"` // last 60 seconds, oldest first
	ErrHistory []float64 `json:"err_history,omitempty"` // 5xx per second, aligned
}

// UpstreamStats is one upstream and its targets.
type UpstreamStats struct {
	Name    string        `json:"name"`
	Targets []TargetStats `json:"targets"`
}

// Target states, the most important first: a target shows the first that applies.
const (
	StateDraining = "draining"  // an operator drained it
	StateOpen     = "open"      // its circuit breaker refuses requests
	StateEjected  = "ejected"   // outlier detection took it out
	StateDown     = "down"      // active health checks fail
	StateHalfOpen = "half-open" // its breaker lets probe requests through
	StateFailing  = "failing"   // consecutive answers the gateway had to make for it (metrics)
	StateUp       = "up"
)

// TargetStats is one upstream target: the metrics' counts and the balancer's state.
type TargetStats struct {
	Addr        string  `json:"addr"`
	Weight      int     `json:"weight"`
	State       string  `json:"state"`
	Draining    bool    `json:"draining"`
	Failing     bool    `json:"failing"`
	InFlight    int64   `json:"in_flight"`
	EWMAMs      float64 `json:"ewma_ms"`
	P50Ms       float64 `json:"p50_ms"`
	P99Ms       float64 `json:"p99_ms"`
	RPS         float64 `json:"rps"`
	ErrorRate   float64 `json:"error_rate"` // share of 5xx in the window
	Requests    uint64  `json:"requests"`
	Errors      uint64  `json:"errors"`
	Consecutive int64   `json:"consecutive_errors"`
	Trips       uint64  `json:"trips"` // times it turned failing
	PoolOpen    int     `json:"pool_open"`
	PoolIdle    int     `json:"pool_idle"`

	Healthy      bool    `json:"healthy"` // active health checks; true without them
	Ejected      bool    `json:"ejected"`
	EjectedForMs float64 `json:"ejected_for_ms,omitempty"` // what remains of the ejection
	TimesEjected int     `json:"times_ejected"`
	// Breaker is "closed", "open" or "half-open", or "" without a circuit_breaker;
	// BreakerOpenForMs is what remains of the open time.
	Breaker          string  `json:"breaker,omitempty"`
	BreakerOpenForMs float64 `json:"breaker_open_for_ms,omitempty"`
}

// TailEntry is one sampled request.
type TailEntry struct {
	Seq        uint64    `json:"seq"`
	At         time.Time `json:"at"`
	Route      string    `json:"route"`
	Upstream   string    `json:"upstream,omitempty"`
	Target     string    `json:"target,omitempty"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Status     int       `json:"status"`
	DurationMs float64   `json:"duration_ms"`
	RTTMs      float64   `json:"upstream_ms"`
	BytesIn    int64     `json:"bytes_in"`
	BytesOut   int64     `json:"bytes_out"`
	Error      string    `json:"error,omitempty"`
	Client     string    `json:"client"`
	Retried    bool      `json:"retried,omitempty"`
}

// Event is a reload, a health change or an operator action.
type Event struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Level   string    `json:"level"`
	Subject string    `json:"subject"`
	Detail  string    `json:"detail"`
}

// Frame is one message of the live stream GET /api/v1/events (server-sent event "frame"): the
// newest Stats, the sampled requests and the events since the previous frame.
type Frame struct {
	Stats  Stats       `json:"stats"`
	Tail   []TailEntry `json:"tail"`
	Events []Event     `json:"events"`
}

// Limits is GET /api/v1/limits: rejections per route and the most rejected client keys.
type Limits struct {
	Routes []RouteLimit `json:"routes"`
	Top    []KeyCount   `json:"top_rejected"`
	// Filters are the limits in force with their own counters: refusals per window, key
	// table size, Redis errors and fail-open/closed decisions, in-flight and queue.
	Filters []LimitFilter `json:"filters"`
}

// LimitFilter is one limit in force.
type LimitFilter struct {
	Name    string        `json:"name"`
	Kind    string        `json:"kind"` // rate, redis or concurrency
	Windows []LimitWindow `json:"windows,omitempty"`
	Keys    int           `json:"keys"` // keys tracked (rate limits)
	// Untracked counts new keys a full key table refused to store (judged as fresh).
	Untracked uint64 `json:"untracked,omitempty"`
	// Redis: whether the backend answers, its errors, and decisions made while it did not.
	RedisUp      *bool  `json:"redis_up,omitempty"`
	RedisErrors  uint64 `json:"redis_errors,omitempty"`
	FailedOpen   uint64 `json:"failed_open,omitempty"`
	FailedClosed uint64 `json:"failed_closed,omitempty"`
	// Concurrency limits.
	Limit    int64  `json:"limit,omitempty"`
	InFlight int64  `json:"in_flight,omitempty"`
	Waiting  int64  `json:"waiting,omitempty"`
	Rejected uint64 `json:"rejected,omitempty"`
	TimedOut uint64 `json:"timed_out,omitempty"`
}

// LimitWindow is one window of a rate limit with its refusals.
type LimitWindow struct {
	Policy         string `json:"policy"`
	Rejected       int64  `json:"rejected"`
	ShadowRejected int64  `json:"shadow_rejected"`
}

// RouteLimit is one route's rejections.
type RouteLimit struct {
	Name    string  `json:"name"`
	Rate429 float64 `json:"rate_429"`
}

// KeyCount is a rejected key with its estimated count (space-saving: an over-estimate by at
// most the count of the key it displaced).
type KeyCount struct {
	Key   string `json:"key"`
	Count uint64 `json:"count"`
}

// ActionResult answers the POST actions.
type ActionResult struct {
	OK      bool   `json:"ok"`
	Changed bool   `json:"changed,omitempty"`
	State   string `json:"state,omitempty"`
	Version uint64 `json:"version,omitempty"`
	Error   string `json:"error,omitempty"`
}
