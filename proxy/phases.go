package proxy

import (
	"net/netip"
	"time"

	"github.com/sluice-gw/sluice/http1"
)

// Filter is a request phase hook: it runs after routing and before a target is chosen, where
// authentication, rate limits, concurrency limits and cache lookups belong. A route's filters
// run in order; the first that answers ends the request with the gateway's answer and the
// upstream never sees it. Filters run on the loop: they must not block, and should not
// allocate.
type Filter interface {
	// OnRequest returns the zero Verdict to let the request through, or the answer to give.
	OnRequest(c *FilterContext) Verdict
	// OnDone is called once, when the exchange ends, for every request this filter let
	// through (also when a later filter answered it): where concurrency slots are released and
	// adaptive limits are fed. status is what the client got (499 when it went away).
	OnDone(c *FilterContext, status int)
}

// Verdict is a filter's answer. Status 0 continues.
type Verdict struct {
	Status int
	Reason string // the X-Sluice-Error reason
	// Fields are extra header lines ("Name: value\r\n") for the answer, e.g. Retry-After.
	Fields []byte
	// Queue, when positive, parks the request for at most that long: the filter (a Queuer)
	// later calls c.Waiter.Wake(c.WaitToken, admitted) from any goroutine. Reason is the
	// answer's reason if the wait ends without a slot (503).
	Queue time.Duration
}

// Queuer is a filter that can park requests (Verdict.Queue).
type Queuer interface {
	Filter
	// Cancel withdraws the request parked in c. It reports false when the request was
	// already granted its slot (the wake may be on its way); the session then owns the slot
	// and releases it through OnDone.
	Cancel(c *FilterContext) bool
}

// Waiter receives a parked request's outcome. Wake is safe from any goroutine.
type Waiter interface {
	Wake(token uint64, admitted bool)
}

// Poster is implemented by drivers whose sessions can be resumed from other goroutines: Post
// runs fn on the session's loop (or under its lock). Without it, a queueing verdict is
// answered 503 at once.
type Poster interface {
	Post(fn func()) error
}

// FilterContext is what filters see of the exchange. It is reused for every request of the
// connection.
type FilterContext struct {
	Req      *http1.Request // valid during OnRequest only
	Route    *Route
	Peer     netip.Addr // the TCP peer
	ClientIP []byte     // the client address used by policies
	Now      int64      // loop clock, ns
	// RespFields collects header lines ("Name: value\r\n") that filters add to a successful
	// response (RateLimit fields); filters append, the session sends them.
	RespFields []byte
	// Scratch is a per-connection buffer a filter may use to build keys without allocating.
	Scratch []byte
	// RefusedKey is what a refusing filter limited on, readable (e.g. "10.0.0.7+users"),
	// for the metrics' top refused keys; the filter sets it, in a buffer it owns for the
	// request (KeyText).
	RefusedKey []byte
	KeyText    []byte
	// Waiter and WaitToken identify a parked request to the filter that queued it; Ticket is
	// the filter's own note of it.
	Waiter    Waiter
	WaitToken uint64
	Ticket    uint64
}

// Outcome is how an exchange with a target ended, for passive health and balancers.
type Outcome uint8

// Outcomes reported to Balancer.Done.
const (
	OutcomeSuccess        Outcome = iota // a response below 500 arrived
	OutcomeConnectFailure                // no connection could be had
	OutcomeError                         // 5xx, reset, bad response
	OutcomeTimeout                       // no response in time
	OutcomeAbandoned                     // the client left first: no verdict on the target
)

// Balancer chooses a target for a request and learns how the exchange went. Both methods are
// called from every loop at once: they must be safe for concurrent use and not allocate.
type Balancer interface {
	// Pick returns the target for a request with the given hash key (0 when the upstream does
	// not hash), or nil when no target can take it.
	Pick(now int64, key uint64) *Target
	// Done reports the end of an exchange with t; rtt is the time to the response head (0
	// when none arrived).
	Done(t *Target, now int64, o Outcome, rtt int64)
}

// HashKeyFunc computes a request's consistent-hash key from the parsed request, the client
// address and the normalized path. It must not allocate.
type HashKeyFunc func(r *http1.Request, clientIP, path []byte) uint64

// RetryPicker is an optional extension of Balancer: a balancer that implements it lets the
// session send a failed request again. Retry is called when attempt (0 for the first retry) on
// failed ended before any response byte and the request can be sent again (nothing was sent,
// or an idempotent request without a body, RFC 9110 §9.2.2). It returns the target for the
// retry, another than failed when one is available, and how long to wait before sending it; or
// nil when the retry budget is spent or no target can take it. The session reports the failed
// attempt with Done before it asks, and settles the new one with Done like any other.
type RetryPicker interface {
	Retry(now int64, key uint64, failed *Target, attempt int) (t *Target, delay time.Duration)
}
