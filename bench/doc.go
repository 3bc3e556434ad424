// Package bench is Sluice's load generator: HTTP/1.1 over keep-alive
// connections, closed loop (-c connections as fast as possible) or open loop
// (--rate, latency corrected for coordinated omission as wrk2 does), with exact
// HdrHistogram latencies, mergeable JSON reports and peer comparisons.
//
// The default engine drives every connection from one goroutine over its own
// epoll set (loop_linux.go); the alternative is a goroutine per connection
// over net.Conn (conn.go). Responses are framed with the project's http1
// parser and their bodies discarded without copying.
package bench
