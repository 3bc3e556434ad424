package limits

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// GradientConfig configures a Gradient limit. Zero fields take the defaults
// in brackets, which follow Netflix concurrency-limits' Gradient2Limit.
type GradientConfig struct {
	InitialLimit int64 // [20]
	MinLimit     int64 // [20 or InitialLimit, whichever is lower]
	MaxLimit     int64 // [200 or InitialLimit, whichever is higher]
	// QueueSize is the headroom added on every update so the limit probes
	// upwards while latency holds [4].
	QueueSize float64
	// Smoothing is the weight of a new estimate in [0,1] [0.2].
	Smoothing float64
	// Tolerance is how much the short-term RTT may exceed the long-term one
	// before the limit shrinks [1.5].
	Tolerance float64
	// LongWindow is the number of updates the long-term RTT averages over
	// [600].
	LongWindow int
	// Window is the minimum time between updates, and MinSamples the
	// minimum samples per update [1s, 10].
	Window     time.Duration
	MinSamples int
}

// Gradient is an adaptive concurrency limit in the manner of Netflix
// concurrency-limits' Gradient2: it compares a short-term RTT (the mean of
// one sample window) with a long-term exponential average of those means.
//
//	gradient = clamp(Tolerance * longRTT / shortRTT, 0.5, 1)
//	limit    = (1-Smoothing)*limit + Smoothing*(limit*gradient + QueueSize)
//
// While latency holds, the gradient is 1 and the limit grows by
// Smoothing*QueueSize per window up to MaxLimit; when queueing inflates
// latency beyond Tolerance times the long-term average, the limit shrinks
// (by up to 10% a window with the defaults) towards MinLimit. As in
// Gradient2, the limit does not grow while the application uses less than
// half of it (app-limited: low latency then says nothing about capacity),
// and when the long-term average is more than twice the short-term one it is
// decayed so the limiter recovers quickly after a latency spike ends. A
// window with a dropped request (timeout, upstream overload) uses the
// minimum gradient 0.5: a drop is the clearest congestion signal there is.
// That last rule is ours, not Gradient2's, which ignores drops.
//
// OnSample is safe from any goroutine (a mutex; it runs once per completed
// request). Feed its result to Concurrency.SetLimit.
type Gradient struct {
	mu  sync.Mutex
	cfg GradientConfig

	limit float64

	longRTT   float64 // exponential average of window means, ns
	longCount int     // updates so far, for the warm-up average

	open        bool // a window has started
	windowStart int64
	sum         float64
	count       int
	maxInflight int64
	dropped     bool
}

// NewGradient validates cfg and applies defaults.
func NewGradient(cfg GradientConfig) (*Gradient, error) {
	if cfg.InitialLimit == 0 {
		cfg.InitialLimit = 20
	}
	if cfg.MinLimit == 0 {
		cfg.MinLimit = min(20, cfg.InitialLimit)
	}
	if cfg.MaxLimit == 0 {
		cfg.MaxLimit = max(200, cfg.InitialLimit)
	}
	if cfg.QueueSize == 0 {
		cfg.QueueSize = 4
	}
	if cfg.Smoothing == 0 {
		cfg.Smoothing = 0.2
	}
	if cfg.Tolerance == 0 {
		cfg.Tolerance = 1.5
	}
	if cfg.LongWindow == 0 {
		cfg.LongWindow = 600
	}
	if cfg.Window == 0 {
		cfg.Window = time.Second
	}
	if cfg.MinSamples == 0 {
		cfg.MinSamples = 10
	}
	switch {
	case cfg.MinLimit < 1 || cfg.MinLimit > cfg.MaxLimit:
		return nil, fmt.Errorf("%w: limits must satisfy 1 <= min %d <= max %d", ErrConcurrencyConfig, cfg.MinLimit, cfg.MaxLimit)
	case cfg.InitialLimit < cfg.MinLimit || cfg.InitialLimit > cfg.MaxLimit:
		return nil, fmt.Errorf("%w: initial limit %d outside [%d, %d]", ErrConcurrencyConfig, cfg.InitialLimit, cfg.MinLimit, cfg.MaxLimit)
	case cfg.Smoothing < 0 || cfg.Smoothing > 1 || math.IsNaN(cfg.Smoothing):
		return nil, fmt.Errorf("%w: smoothing %v outside [0, 1]", ErrConcurrencyConfig, cfg.Smoothing)
	case cfg.Tolerance < 1 || math.IsNaN(cfg.Tolerance) || math.IsInf(cfg.Tolerance, 0):
		return nil, fmt.Errorf("%w: tolerance %v must be at least 1", ErrConcurrencyConfig, cfg.Tolerance)
	case cfg.QueueSize < 0 || math.IsNaN(cfg.QueueSize) || math.IsInf(cfg.QueueSize, 0):
		return nil, fmt.Errorf("%w: queue size %v must be a non-negative number", ErrConcurrencyConfig, cfg.QueueSize)
	case cfg.LongWindow < 1 || cfg.MinSamples < 1 || cfg.Window < 0:
		return nil, fmt.Errorf("%w: window settings must be positive", ErrConcurrencyConfig)
	}
	return &Gradient{cfg: cfg, limit: float64(cfg.InitialLimit)}, nil
}

// Limit returns the current limit.
func (g *Gradient) Limit() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return int64(g.limit)
}

// OnSample records one completed request: its round-trip time, the time it
// completed (monotonic ns), the requests in flight when it started, and
// whether it was dropped. It returns the limit after the sample, which
// changes at most once per Window.
func (g *Gradient) OnSample(rtt time.Duration, now, inflight int64, dropped bool) int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if rtt <= 0 && !dropped {
		return int64(g.limit) // a zero RTT carries no information
	}
	if !g.open {
		g.open, g.windowStart = true, now
	}
	if rtt > 0 {
		g.sum += float64(rtt)
		g.count++
	}
	g.maxInflight = max(g.maxInflight, inflight)
	g.dropped = g.dropped || dropped
	if now-g.windowStart < int64(g.cfg.Window) || (g.count < g.cfg.MinSamples && !g.dropped) {
		return int64(g.limit)
	}
	if g.count > 0 {
		g.update(g.sum/float64(g.count), g.maxInflight, g.dropped)
	} else {
		g.adjust(0.5) // only drops, no latency: still a congestion signal
	}
	g.open, g.sum, g.count, g.maxInflight, g.dropped = false, 0, 0, 0, false
	return int64(g.limit)
}

func (g *Gradient) update(shortRTT float64, inflight int64, dropped bool) {
	// Long-term RTT: plain average while warming up, then an exponential
	// average with factor 2/(N+1), as Gradient2's ExpAvgMeasurement.
	g.longCount++
	if g.longCount <= 10 {
		g.longRTT += (shortRTT - g.longRTT) / float64(g.longCount)
	} else {
		f := 2 / float64(g.cfg.LongWindow+1)
		g.longRTT = g.longRTT*(1-f) + shortRTT*f
	}
	if g.longRTT/shortRTT > 2 {
		// Latency fell a lot: forget the old, higher baseline faster.
		g.longRTT *= 0.95
	}
	if !dropped && float64(inflight) < g.limit/2 {
		return // app-limited
	}
	gradient := 0.5
	if !dropped {
		gradient = max(0.5, min(1, g.cfg.Tolerance*g.longRTT/shortRTT))
	}
	g.adjust(gradient)
}

func (g *Gradient) adjust(gradient float64) {
	next := g.limit*gradient + g.cfg.QueueSize
	next = g.limit*(1-g.cfg.Smoothing) + next*g.cfg.Smoothing
	g.limit = max(float64(g.cfg.MinLimit), min(float64(g.cfg.MaxLimit), next))
}
