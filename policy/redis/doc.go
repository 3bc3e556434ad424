// Package redis makes rate limits cluster-wide: every Sluice instance that
// names the same limit on the same Redis server shares it.
//
// The windows of a limit are evaluated by one Lua script, atomically in Redis
// (GCRA on one key per window, on Redis's own clock, so instances need no
// synchronised clocks). No request waits for Redis: a background goroutine
// fetches leases of units per key and requests spend them locally with
// atomics. A key with no lease on hand may run up to Lease units into debt
// while the next lease is fetched; the debt is charged with that fetch. Each
// instance therefore admits at most 2*Lease units beyond its share at any
// moment (one lease on hand, one in debt), and the long-run rate is exact.
//
// When Redis is unreachable the limit fails open (admits) or closed (503) as
// configured, counts the errors, and reconnects in the background.
package redis
