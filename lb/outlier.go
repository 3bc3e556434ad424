package lb

import (
	"fmt"
	"sync"
	"time"
)

// Outcome classifies one exchange for passive outlier detection.
type Outcome uint8

// Outcomes.
const (
	// Success: any response the target produced that is not a 5xx.
	Success Outcome = iota
	// Failure5xx: the target answered with a 5xx status.
	Failure5xx
	// ConnectFailure: the connection could not be made (refused, reset, timed out)
	// and no response came back. It counts as a 5xx too, as Envoy does when local
	// and external errors are not split.
	ConnectFailure
)

// OutlierConfig configures passive outlier detection (Envoy's outlier_detection).
type OutlierConfig struct {
	// Consecutive5xx ejects after this many 5xx or connect failures in a row; 0
	// disables. Envoy's default is 5.
	Consecutive5xx int
	// ConsecutiveConnectFailures ejects after this many connect failures in a row;
	// 0 disables. Connect failures are certain signs of a dead target, so this is
	// usually lower than Consecutive5xx.
	ConsecutiveConnectFailures int
	// BaseEjectionTime is multiplied by the number of times the target was ejected
	// (default 30s): a flapping target stays out longer each time.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps that product (default 300s).
	MaxEjectionTime time.Duration
	// MaxEjectionPercent caps the share of members ejected at once (default 10). One
	// target may always be ejected, so small sets still benefit. The cap stops a
	// failing dependency of every target from ejecting the whole upstream.
	MaxEjectionPercent int
	// Interval is how often the caller runs Sweep, and how long a target must stay
	// in after its ejection ends before its multiplier drops by one (default 10s).
	Interval time.Duration
	// OnEject, if set, is called synchronously on each ejection; keep it quick.
	OnEject func(t *Target, until int64)
}

// OutlierDetector ejects targets of one Set on consecutive failures.
//
// OnResult is called from every loop for every exchange; its success path is an
// atomic load (and a store only when a failure streak was running). Ejections take
// the detector's mutex. Sweep runs on a timer off the hot path (the gateway's tick)
// and ends expired ejections; until it runs, an expired ejection is already
// ignored by Pick, but still counts against the panic threshold.
type OutlierDetector struct {
	set *Set
	cfg OutlierConfig
	mu  sync.Mutex
}

// NewOutlierDetector validates cfg and returns a detector for s.
func NewOutlierDetector(s *Set, cfg OutlierConfig) (*OutlierDetector, error) {
	if cfg.BaseEjectionTime == 0 {
		cfg.BaseEjectionTime = 30 * time.Second
	}
	if cfg.MaxEjectionTime == 0 {
		cfg.MaxEjectionTime = 300 * time.Second
	}
	if cfg.MaxEjectionPercent == 0 {
		cfg.MaxEjectionPercent = 10
	}
	if cfg.Interval == 0 {
		cfg.Interval = 10 * time.Second
	}
	switch {
	case s == nil:
		return nil, fmt.Errorf("%w: nil set", ErrBadConfig)
	case cfg.Consecutive5xx < 0 || cfg.ConsecutiveConnectFailures < 0:
		return nil, fmt.Errorf("%w: negative consecutive failure threshold", ErrBadConfig)
	case cfg.BaseEjectionTime < 0 || cfg.MaxEjectionTime < cfg.BaseEjectionTime:
		return nil, fmt.Errorf("%w: ejection time base %v max %v", ErrBadConfig, cfg.BaseEjectionTime, cfg.MaxEjectionTime)
	case cfg.MaxEjectionPercent < 0 || cfg.MaxEjectionPercent > 100:
		return nil, fmt.Errorf("%w: max ejection percent %d", ErrBadConfig, cfg.MaxEjectionPercent)
	case cfg.Interval < 0:
		return nil, fmt.Errorf("%w: negative interval", ErrBadConfig)
	}
	return &OutlierDetector{set: s, cfg: cfg}, nil
}

// OnResult records one exchange with t at now and reports whether it ejected t.
func (d *OutlierDetector) OnResult(now int64, t *Target, o Outcome) (ejected bool) {
	switch o {
	case Success:
		// Load first: most results are successes on targets with no streak, and a
		// store would bounce the cache line between loops for nothing.
		if t.cons5xx.Load() != 0 {
			t.cons5xx.Store(0)
		}
		if t.consConnect.Load() != 0 {
			t.consConnect.Store(0)
		}
		return false
	case Failure5xx:
		if t.consConnect.Load() != 0 {
			t.consConnect.Store(0)
		}
		n := t.cons5xx.Add(1)
		if d.cfg.Consecutive5xx > 0 && int(n) >= d.cfg.Consecutive5xx {
			return d.eject(now, t)
		}
	case ConnectFailure:
		n5 := t.cons5xx.Add(1)
		nc := t.consConnect.Add(1)
		if (d.cfg.Consecutive5xx > 0 && int(n5) >= d.cfg.Consecutive5xx) ||
			(d.cfg.ConsecutiveConnectFailures > 0 && int(nc) >= d.cfg.ConsecutiveConnectFailures) {
			return d.eject(now, t)
		}
	}
	return false
}

func (d *OutlierDetector) eject(now int64, t *Target) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if t.set.Load() != d.set || t.state.Load()&stateEjected != 0 {
		return false
	}
	m := d.set.members.Load()
	ejected := 0
	member := false
	for _, x := range m.targets {
		if x.state.Load()&stateEjected != 0 {
			ejected++
		}
		member = member || x == t
	}
	if !member {
		return false
	}
	// Always allow one; beyond that stay within the percentage (Envoy's rule).
	if ejected > 0 && (ejected+1)*100 > d.cfg.MaxEjectionPercent*len(m.targets) {
		return false
	}
	times := t.timesEjected.Add(1)
	dur := int64(d.cfg.BaseEjectionTime) * int64(times)
	if maxd := int64(d.cfg.MaxEjectionTime); dur > maxd || dur/int64(times) != int64(d.cfg.BaseEjectionTime) {
		dur = maxd
	}
	until := now + dur
	t.ejectedUntil.Store(until)
	t.ejectStamp = now
	t.cons5xx.Store(0)
	t.consConnect.Store(0)
	t.setBit(stateEjected, true)
	if d.cfg.OnEject != nil {
		d.cfg.OnEject(t, until)
	}
	return true
}

// Sweep ends the ejections that expired by now and lowers by one the multiplier of
// each target that stayed in for a whole Interval since its last change. It returns
// how many targets it returned to service. Call it every Interval.
func (d *OutlierDetector) Sweep(now int64) (returned int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.set.members.Load().targets {
		if t.state.Load()&stateEjected != 0 {
			if now >= t.ejectedUntil.Load() {
				t.ejectStamp = now
				t.setBit(stateEjected, false)
				returned++
			}
			continue
		}
		if t.timesEjected.Load() > 0 && now-t.ejectStamp >= int64(d.cfg.Interval) {
			t.timesEjected.Add(-1)
			t.ejectStamp = now
		}
	}
	return returned
}
