// Package policy holds the gateway's traffic-limit filters: the proxy.Filter
// implementations that turn limits/ decisions into answers (429 with
// Retry-After and RateLimit fields, 503 over a concurrency limit).
//
// RateLimit keys a limits.Table by client IP (after the trusted-proxy
// decision), a header, the route, or a combination of them; Shadow policies
// count refusals without answering them. InFlight caps the requests in
// flight on a route or an upstream and, with Adaptive, lets a gradient limit
// move that cap with latency. Cluster-wide limits on Redis live in
// policy/redis.
//
// Every filter runs on an event loop: OnRequest and OnDone never block and
// allocate nothing in steady state (keys and header lines are built in the
// connection's FilterContext.Scratch). Filters are safe for concurrent use by
// every loop.
package policy
