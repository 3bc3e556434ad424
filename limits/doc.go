// Package limits owns the gateway's admission decisions: rate limits (GCRA
// buckets, several windows per key, a bounded keyed table with TinyLFU
// admission) and concurrency limits (a fixed limit with a FIFO queue for
// event loops, and an adaptive gradient limit).
//
// The package is sans-IO: every decision takes the time as an input, now int64
// nanoseconds on a monotonic clock (Now returns one), so tests are exact and
// never sleep. It never touches sockets; AppendHeaders builds the header
// lines for the response. Nothing here allocates per request.
//
// # Rate limits
//
// A Policy says how many units are allowed per period and how many may be
// spent at once: &Policy{Name: "api", Rate: 100, Per: time.Second, Burst: 200}.
// Burst 0 means Rate. Call Validate once, then share the policy read-only
// (build a new one to change it). Shadow makes it observe only. ParseRate
// and ParsePolicy read the configuration notation "100/s", "1000/min",
// "50000/day".
//
//   - Bucket: one key, one policy. Its whole state is one 64-bit word, the
//     GCRA theoretical arrival time, updated by compare-and-swap: lock-free,
//     allocation-free, and exact under contention, since each successful CAS
//     is one serial GCRA step and a refusal writes nothing.
//   - Multi + MultiBucket: up to MaxWindows policies on one key (a per-second
//     throttle and a per-day quota). A request is admitted only if every
//     enforcing window admits it, and then all windows are charged; a
//     refusal charges none. Admissions store all windows under a per-key
//     mutex inside a sequence word (a seqlock); refusals are decided
//     lock-free on a snapshot the sequence proves consistent. So no caller
//     acts on, or leaves behind, a partially charged set of windows. See
//     MultiBucket.
//   - Table: per-key state for a Multi, for keys the caller builds (client
//     IP, consumer, route, header values, concatenations). Sharded by a
//     seeded hash; at most MaxKeys keys in memory allocated up front; an
//     existing key's lookup allocates nothing. New keys evict the least
//     recently used probationary key only if a TinyLFU sketch says the new
//     key is more frequent, so a flood of one-off keys cannot evict heavy
//     hitters. Keys turned away are judged as fresh keys (TableStats.Untracked).
//     Build composite keys with AppendKeyPart (length-prefixed, so a client
//     controlling one part cannot forge another client's key).
//   - Shadow policies: a refusal is counted (Policy.Counts) and flagged
//     (Decision.Shadowed) but the request is admitted; the window evolves as
//     if enforced, so the count is exactly what enforcement would refuse.
//     Shadow policies never appear in response headers.
//
// Decision carries Allowed, Remaining, RetryAfter, Reset and the binding
// Policy: everything the RateLimit-Policy and RateLimit fields of
// draft-ietf-httpapi-ratelimit-headers-11 and Retry-After need.
// AppendHeaders writes them. Invalid input (n < 0, n > burst, an
// unvalidated policy, an over-long key) yields a refusal with Decision.Err
// set: the package fails closed and never panics on request data.
//
// # Concurrency limits
//
// Concurrency bounds requests in flight. Without waiters Acquire and Release
// are one CAS each. With a queue, Acquire returns Admitted, Queued (with a
// Ticket) or Rejected; Release hands the freed slot to the oldest live
// waiter by returning its Ticket, which the caller routes to the event loop
// that owns it; Sweep(now) reports waiters whose queue timeout passed, for a
// periodic tick; Cancel drops a waiter whose client left. Gradient adapts a
// limit from latency samples (Netflix concurrency-limits' Gradient2): feed
// OnSample on every completion and pass the result to SetLimit.
//
// # Concurrency contracts
//
// Bucket, MultiBucket, Table, Concurrency and Gradient are safe for use from
// any goroutine. Policy and Multi are immutable once validated/built.
package limits
