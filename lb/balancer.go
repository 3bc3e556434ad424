package lb

// Balancer chooses the target for one request.
//
// Pick is called from every event loop at once: all implementations here are
// lock-free (atomics and immutable snapshots) and allocate nothing. now is the
// caller's clock in nanoseconds; key is the request's affinity hash (HashKey of a
// client IP, header, cookie or path) and is ignored by policies without affinity; ex
// lists targets already tried by this request. Pick returns nil when nothing is
// eligible (report ErrNoTarget). Pick does not Acquire: the caller does, once it
// commits the request to the target.
type Balancer interface {
	Pick(now int64, key uint64, ex Exclude) *Target
}

var (
	_ Balancer = (*RoundRobin)(nil)
	_ Balancer = (*SmoothWeighted)(nil)
	_ Balancer = (*Random)(nil)
	_ Balancer = (*LeastRequest)(nil)
	_ Balancer = (*PeakEWMA)(nil)
	_ Balancer = (*Ring)(nil)
)
