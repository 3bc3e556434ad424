package lb

import (
	"fmt"
	"math"
	"time"
)

// RetryBudgetConfig configures a RetryBudget.
type RetryBudgetConfig struct {
	// Ratio is the share of original requests that may be retried, 0..1 (Finagle's
	// percentCanRetry, Envoy's budget_percent; Finagle defaults to 0.2).
	Ratio float64
	// MinPerSecond is a floor of retries per second allowed regardless of traffic, so
	// a quiet upstream can still retry its rare failure (Finagle's minRetriesPerSec,
	// default 10).
	MinPerSecond int
	// Window is the span over which requests and retries are counted; default 10s
	// (Finagle's ttl), in Buckets buckets (default 10).
	Window  time.Duration
	Buckets int
}

// RetryBudget caps retries to a fraction of traffic, so that when an upstream fails
// retries cannot multiply the load on it (a retry storm): over the sliding window,
// retries <= Ratio * requests + MinPerSecond * Window seconds.
//
// OnRequest and TryRetry are lock-free (atomic bucket counters) and safe from every
// loop. TryRetry checks and then counts, so loops racing at the limit may overshoot
// it by at most one retry each.
type RetryBudget struct {
	ratio    float64
	reserve  float64 // MinPerSecond * window seconds
	requests window
	retries  window
}

// NewRetryBudget validates cfg and returns an empty budget.
func NewRetryBudget(cfg RetryBudgetConfig) (*RetryBudget, error) {
	if cfg.Window == 0 {
		cfg.Window = 10 * time.Second
	}
	if cfg.Buckets == 0 {
		cfg.Buckets = 10
	}
	switch {
	case cfg.Ratio < 0 || cfg.Ratio > 1 || math.IsNaN(cfg.Ratio):
		return nil, fmt.Errorf("%w: retry budget ratio %v, want 0..1", ErrBadConfig, cfg.Ratio)
	case cfg.MinPerSecond < 0:
		return nil, fmt.Errorf("%w: retry budget min per second %d", ErrBadConfig, cfg.MinPerSecond)
	case cfg.Window < 0 || cfg.Buckets < 0 || cfg.Buckets > 1000 || int64(cfg.Window) < int64(cfg.Buckets):
		return nil, fmt.Errorf("%w: retry budget window %v in %d buckets", ErrBadConfig, cfg.Window, cfg.Buckets)
	}
	span := int64(cfg.Window)
	return &RetryBudget{
		ratio:    cfg.Ratio,
		reserve:  float64(cfg.MinPerSecond) * cfg.Window.Seconds(),
		requests: newWindow(span, cfg.Buckets),
		retries:  newWindow(span, cfg.Buckets),
	}, nil
}

// OnRequest counts one original request (not a retry) at now: it deposits Ratio
// retries into the budget.
func (b *RetryBudget) OnRequest(now int64) { b.requests.add(now, 1) }

// TryRetry withdraws one retry at now if the budget has room and reports whether it
// did. A caller that gets false answers with the failure it has instead of retrying.
func (b *RetryBudget) TryRetry(now int64) bool {
	if b.Available(now) < 1 {
		return false
	}
	b.retries.add(now, 1)
	return true
}

// Available returns how many retries the budget allows at now (may be 0).
func (b *RetryBudget) Available(now int64) int64 {
	allowed := math.Floor(b.ratio*float64(b.requests.sum(now)) + b.reserve)
	left := int64(allowed) - int64(b.retries.sum(now))
	if left < 0 {
		return 0
	}
	return left
}
