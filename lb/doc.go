// Package lb picks an upstream target for each request and keeps the per-target
// signals that drive the choice: in-flight load, peak-EWMA latency, health, passive
// outlier ejection, circuit breakers and the retry budget.
//
// Everything here is sans-IO: time is an input (now int64, Unix nanoseconds or any
// monotonic nanosecond clock) and randomness comes from an injected Rand seeded by
// the caller, so every decision is reproducible in tests and nothing here sleeps,
// dials or reads a socket.
//
// # Concurrency contract
//
// A Set and the balancers built on it are shared by all event loops. Pick, Acquire,
// Release, Breaker.Allow and RetryBudget.OnRequest are lock-free (atomics only) and
// allocate nothing. Membership changes (Set.Update), health and drain changes,
// ejections and circuit-breaker transitions are rare control-plane events: they take
// a mutex or win a CAS, rebuild whatever table depends on them off the hot path and
// publish it through an atomic pointer, so a Pick in flight always sees one
// consistent snapshot.
//
// # Wiring, one exchange
//
//	t := bal.Pick(now, key, ex)         // nil: no target (ErrNoTarget)
//	ok, probe := t.Breaker().Allow(now) // refused: ex.Add(t) and Pick again
//	t.Acquire()
//	... exchange ...
//	t.Release()
//	t.ObserveLatency(now, rtt)
//	t.Breaker().OnResult(now, failed, rtt)
//	det.OnResult(now, t, outcome)
//
// A retry asks budget.TryRetry(now) first and waits backoff.Backoff(attempt, rnd).
package lb
