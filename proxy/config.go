package proxy

import (
	"crypto/tls"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/routing"
)

// Route is what a matched request is proxied with. Built once per configuration and read-only
// afterwards, so every loop shares it.
type Route struct {
	Name     string
	Index    int
	Upstream *Upstream
	// StripPrefix is removed on a segment boundary from the path sent upstream (strip_prefix);
	// otherwise the routing table's rewrite applies.
	StripPrefix string
	Timeout     time.Duration
	MaxBody     int64 // 0: the snapshot's default; <0 unlimited
	ReqEdits    *http1.HeaderEdits
	RespEdits   *http1.HeaderEdits
	// Filters are the route's request phases (limits, auth, ...), in order.
	Filters []Filter
	// InFlight counts the route's requests between admission by its filters and the end of
	// their exchange. A reload builds new Routes: requests that started before it count on
	// the old one.
	InFlight atomic.Int64
}

// Upstream is a named group of targets and how to talk to them.
type Upstream struct {
	Name            string
	Targets         []*Target
	ConnectTimeout  time.Duration
	ResponseTimeout time.Duration // to the first byte of the response head
	ReadTimeout     time.Duration // max silence while the response body streams
	Retries         int           // attempts after a failure before any response byte (stale connection, other target)
	MaxIdle         int           // idle connections per loop and target
	MaxConns        int           // connections per loop and target; 0 unlimited
	IdleTimeout     time.Duration

	// Balancer picks a target and learns outcomes. nil means round robin over the targets
	// that are not draining.
	Balancer Balancer
	// HashKey computes the key for hashing balancers; nil means 0.
	HashKey HashKeyFunc
	// TLS, when set, is how the targets are dialed (the goroutine driver of TLS listeners
	// speaks it; the event loops cannot and answer 502). ServerName "" means the target's host.
	TLS *tls.Config

	rr atomic.Uint32
}

// Target is one upstream server. ID is dense and stable across reloads for the same address, so
// per-loop connection pools are slices indexed by it and survive a reload.
type Target struct {
	ID       int
	Addr     string
	Weight   int
	Upstream *Upstream

	Draining atomic.Bool // admin drain: no new requests
	InFlight atomic.Int64
}

// Snapshot is one configuration generation. Sessions load it when a request head completes, so
// a reload applies to the next request while the current exchange finishes on the old one.
type Snapshot struct {
	Version           uint64
	Routes            *routing.Table // each routing.Route's Target is a *Route
	Limits            http1.Limits
	HeaderReadTimeout time.Duration
	IdleTimeout       time.Duration
	MaxBody           int64 // 0 unlimited
	MaxConnections    int64 // client connections per process; 0 unlimited
	Via               []byte
	Trusted           []netip.Prefix
	Observer          Observer
}

// Trusts reports whether a peer's X-Forwarded-For chain is kept (the peer is a trusted proxy).
func (s *Snapshot) Trusts(ip netip.Addr) bool {
	for _, p := range s.Trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Observer is the log phase: it sees every finished exchange. It runs on the loop and must not
// block or allocate.
type Observer interface {
	Observe(r *Record)
}

// Observers fans one record out to several observers, in order.
type Observers []Observer

// Observe calls every observer.
func (os Observers) Observe(r *Record) {
	for _, o := range os {
		o.Observe(r)
	}
}

// Record describes one finished exchange for metrics and the access log. Valid only during
// Observe.
type Record struct {
	Route       *Route // nil when no route matched
	Target      *Target
	Method      []byte
	Path        []byte
	Status      int
	Error       string // the X-Sluice-Error reason for gateway-made answers
	Start       int64  // ns, loop clock
	End         int64
	UpstreamRTT int64 // ns from sending the request head to the response head; 0 when none
	BytesIn     int64 // request bytes from the client (head and body)
	BytesOut    int64 // response bytes to the client
	Reused      bool
	Retried     bool
	ClientIP    []byte
	RequestID   []byte
	RefusedKey  []byte // the key a filter refused the request on, readable; nil otherwise
	// Loop is the ExchangePool's Loop: which event loop served the exchange, so that an
	// observer can keep per-loop state that no other core writes (metrics' shards).
	Loop int
}
