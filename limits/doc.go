// Package limits owns the gateway's admission decisions: rate limits (GCRA
// buckets, several windows per key, a bounded keyed table with TinyLFU
// admission) and concurrency limits (a fixed limit with a FIFO queue for event
// loops, and an adaptive gradient limit).
//
// The package is sans-IO: every decision takes the time as an input, now int64
// nanoseconds on a monotonic clock (Now returns one), so tests are exact and
// never sleep. It never writes to sockets; AppendHeaders builds the header
// lines a 429 or a successful response carries.
//
// # Rate limits
//
// A Policy says how many units are allowed per period and how many may be
// spent at once: Policy{Name: "api", Rate: 100, Per: time.Second, Burst: 200}.
// Call Validate once before use and never change a validated Policy.
//
//   - Bucket is one key's state for one Policy: a single 64-bit word (the
//     GCRA theoretical arrival time) updated by compare-and-swap. No locks, no
//     allocations, and exact under contention: every successful CAS is one
//     serial GCRA step.
//   - Multi groups up to MaxWindows policies (a per-second throttle and a
//     per-day quota); MultiBucket admits only when every window admits and then
//     consumes from all of them, or from none. See MultiBucket.Allow for how
//     partial consumption is avoided under contention.
//   - Table maps caller-built keys (client IP, consumer, route, or any
//     combination of bytes) to per-key state for a Multi. It is sharded, holds
//     at most MaxKeys keys, evicts the least recently used key of a shard, and
//     only lets a new key replace that victim when a count-min sketch estimates
//     the new key to be more frequent (TinyLFU), so a flood of one-off keys
//     cannot push out heavy hitters. Lookups of existing keys allocate nothing.
//   - A Policy with Shadow set never refuses: the would-be refusal is counted
//     (Policy.Counts) and reported in Decision.Shadowed, and the window's state
//     evolves exactly as if it were enforced, so the count is what enforcement
//     would have refused.
//
// Decision carries what the draft-ietf-httpapi-ratelimit-headers-11 fields
// need; AppendHeaders writes RateLimit-Policy, RateLimit and Retry-After.
//
// # Concurrency limits
//
// Concurrency bounds requests in flight. Its fast path is one CAS on a
// counter. With a queue, Acquire returns Admitted, Queued (with a Ticket) or
// Rejected; Release hands the freed slot to the oldest live waiter and returns
// its Ticket so the event loop that owns it can resume it; Sweep(now) reports
// waiters whose queue timeout passed. Gradient adjusts a limit from latency
// samples (Netflix concurrency-limits' Gradient2) and is fed with OnSample.
package limits
