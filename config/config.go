package config

import (
	"net/netip"
	"strings"
)

// Config is one validated configuration with every default filled in (see
// defaults.go). Field comments give the YAML name; docs/config.md documents
// each field with its default and an example.
type Config struct {
	// File is the name the configuration was parsed from, for messages.
	File string

	Engine          string      // engine: "gnet" or "epoll"
	Loops           int         // loops: event loops; 0 = one per CPU
	Listen          []Listener  // listen: at least one
	Admin           Admin       // admin
	HTTP            HTTP        // http: parser and connection limits
	ShutdownTimeout Duration    // shutdown_timeout
	Upstreams       []*Upstream // upstreams, in declaration order
	Routes          []*Route    // routes, in declaration order
	AccessLog       AccessLog   // access_log
	Limits          []*Limit    // limits: named rate limits, in declaration order (limits.go)
	upstreamByName  map[string]*Upstream
}

// Engines accepted by the engine field.
const (
	EngineGnet  = "gnet"
	EngineEpoll = "epoll"
)

// Upstream returns the upstream called name, or nil.
func (c *Config) Upstream(name string) *Upstream {
	if c.upstreamByName != nil {
		return c.upstreamByName[name]
	}
	for _, u := range c.Upstreams {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// Listener is one plaintext listening socket.
type Listener struct {
	Name    string       // name: default "listen-N" (N is the index in the list, from 0)
	Address string       // address: host:port; port 0 picks a free port
	TLS     *ListenerTLS // tls: nil = plaintext (see tls.go)
}

// Admin configures the admin API (metrics, stats, reload).
type Admin struct {
	// Address is host:port, or "" when the admin API is off ("off" in YAML).
	Address string
	// Token, when set, is required as "Authorization: Bearer TOKEN".
	Token string
}

// Enabled reports whether the admin API should listen.
func (a Admin) Enabled() bool { return a.Address != "" }

// HTTP holds the downstream parser and connection limits.
type HTTP struct {
	MaxRequestLine    Size           // max_request_line: longer request line -> 414
	MaxHeaderBytes    Size           // max_header_bytes: larger head -> 431
	MaxHeaders        int            // max_headers: more header fields -> 431
	MaxBody           Size           // max_body: 0 = unlimited; larger body -> 413
	HeaderReadTimeout Duration       // header_read_timeout: whole head must arrive in time -> 408
	IdleTimeout       Duration       // idle_timeout: keep-alive idle time before close
	MaxConnections    int            // max_connections: 0 = unlimited, else per process
	TrustedProxies    []netip.Prefix // trusted_proxies: peers whose X-Forwarded-For is kept
	Via               string         // via: pseudonym in Via; "" = no Via header
}

// Upstream is a named group of targets and how to reach them.
type Upstream struct {
	Name            string       // the key under upstreams
	TLS             *UpstreamTLS // tls: nil = plaintext to the targets (see tls.go)
	Balancer        string       // balancer: one of the Balancer* constants
	HashKey         HashKey      // hash_key: only for consistent_hash
	Targets         []Target     // targets: at least one
	ConnectTimeout  Duration     // connect_timeout: dial failure -> 502
	ResponseTimeout Duration     // response_timeout: time to first response byte -> 504
	ReadTimeout     Duration     // read_timeout: max silence while streaming the response
	Pool            Pool         // pool
	Retries         int          // retries: of a request that failed before any response byte (see docs/config.md)

	HealthCheck      HealthCheck      // health_check: active checks; off without a path
	OutlierDetection OutlierDetection // outlier_detection: passive ejection
	CircuitBreaker   CircuitBreaker   // circuit_breaker: off unless present
	RetryBudget      RetryBudget      // retry_budget
	RetryBackoff     RetryBackoff     // retry_backoff: before a retry on the same target
	PanicThreshold   int              // panic_threshold: percent of usable targets below which all get traffic
	Resolver         string           // resolver: host:port of the DNS server for dns/srv targets; "" = /etc/resolv.conf

	Concurrency         Concurrency          // concurrency: in-flight cap of the upstream (all routes)
	AdaptiveConcurrency *AdaptiveConcurrency // adaptive_concurrency: nil = off
}

// Balancers accepted by the balancer field.
const (
	BalancerRoundRobin         = "round_robin"
	BalancerWeightedRoundRobin = "weighted_round_robin"
	BalancerRandom             = "random"
	BalancerLeastRequest       = "least_request"
	BalancerPeakEWMA           = "peak_ewma"
	BalancerConsistentHash     = "consistent_hash"
)

// HashKeyKind says which part of a request a consistent hash is taken over.
type HashKeyKind uint8

// Hash key kinds. HashKeyNone is the value for balancers that do not hash.
const (
	HashKeyNone     HashKeyKind = iota
	HashKeyClientIP             // client_ip: the client address (after trusted_proxies)
	HashKeyHeader               // header:NAME: the value of header NAME
	HashKeyCookie               // cookie:NAME: the value of cookie NAME
	HashKeyPath                 // path: the request path without the query
)

// HashKey is a parsed hash_key.
type HashKey struct {
	Kind HashKeyKind
	Name string // header or cookie name for HashKeyHeader and HashKeyCookie
}

// String formats k as it is written in YAML.
func (k HashKey) String() string {
	switch k.Kind {
	case HashKeyClientIP:
		return "client_ip"
	case HashKeyHeader:
		return "header:" + k.Name
	case HashKeyCookie:
		return "cookie:" + k.Name
	case HashKeyPath:
		return "path"
	}
	return ""
}

// Target is one upstream server, or a DNS name that stands for a changing set of them.
// Exactly one of Address, DNS and SRV is set.
type Target struct {
	Address string // address: host:port
	Weight  int    // weight: 1..1000; each address a DNS or SRV target resolves to gets it
	DNS     string // dns: name:port, A and AAAA records re-resolved on their TTL
	SRV     string // srv: _service._proto.name, SRV records (and their A/AAAA) re-resolved on their TTL
}

// Discovered reports whether the target is resolved through DNS.
func (t Target) Discovered() bool { return t.DNS != "" || t.SRV != "" }

// Pool bounds the upstream connections kept per event loop and target.
type Pool struct {
	MaxIdle        int      // max_idle: idle keep-alive connections kept
	MaxConnections int      // max_connections: 0 = unlimited; over it -> 503
	IdleTimeout    Duration // idle_timeout: idle connections older than this are closed
}

// Route sends matching requests to an upstream.
type Route struct {
	Name            string      // name: default "route-N" (N is the index in the list, from 0)
	Match           Match       // match
	Upstream        string      // upstream: name of an entry in upstreams
	StripPrefix     string      // strip_prefix: removed from the path sent upstream
	Rewrite         string      // rewrite: replaces the matched path or prefix
	Timeout         Duration    // timeout: defaults to the upstream's response_timeout
	MaxBody         Size        // max_body: defaults to http.max_body; 0 = unlimited
	RequestHeaders  HeaderOps   // request_headers: edits before the request goes upstream
	ResponseHeaders HeaderOps   // response_headers: edits before the response goes to the client
	Limits          []string    // limits: names of top-level limits applied in order
	Concurrency     Concurrency // concurrency: in-flight cap of the route
}

// Match is what a request must look like for a route to apply. Exactly one of
// Path, PathPrefix and PathTemplate is set; the other fields are optional and
// all given ones must match.
type Match struct {
	Host         string   // host: "api.example.com" or "*.example.com", lower case, no port
	Path         string   // path: exact path
	PathPrefix   string   // path_prefix
	PathTemplate string   // path_template: "/users/{id}/orders"
	Methods      []string // methods: empty = any
	Headers      []Header // headers: exact value match, in declaration order
	Query        []Header // query: exact value match of query parameters
}

// Header is a name and a value, kept in declaration order.
type Header struct {
	Name  string
	Value string
}

// HeaderOps edits a header block: Remove first, then Set (replace), then Add (append).
type HeaderOps struct {
	Set    []Header
	Add    []Header
	Remove []string
}

// Empty reports whether ops changes nothing.
func (h HeaderOps) Empty() bool { return len(h.Set) == 0 && len(h.Add) == 0 && len(h.Remove) == 0 }

// AccessLog configures the per-request log.
type AccessLog struct {
	Path   string // path: "" = off, "-" = stdout, else a file opened for append
	Format string // format: "json" or "common"
}

// Enabled reports whether requests are logged.
func (a AccessLog) Enabled() bool { return a.Path != "" }

// Access log formats.
const (
	AccessLogJSON   = "json"
	AccessLogCommon = "common"
)

// TemplateSegments splits a path_template into its segments; a segment
// "{name}" is a variable. "/users/{id}/orders" gives ["users", "{id}", "orders"].
func TemplateSegments(t string) []string {
	t = strings.TrimPrefix(t, "/")
	if t == "" {
		return nil
	}
	return strings.Split(t, "/")
}
