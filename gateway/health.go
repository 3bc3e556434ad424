package gateway

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/lb"
)

// Active health checks: one goroutine per target, off the event loops, sends
// "GET path" every interval (plus a random jitter) and flips the lb target's health once
// healthy_threshold checks in a row passed or unhealthy_threshold in a row failed. An unhealthy
// target gets no traffic (outside panic mode, see lb.SetConfig.PanicThreshold).

// healthRun is the sans-IO verdict of a target's checks: it turns a stream of pass/fail
// results into a verdict that changes only after a run of contrary results, so one lost check
// does not take a target out and one lucky check does not bring a dead one back.
type healthRun struct {
	healthy bool
	run     int // consecutive results contradicting the verdict
}

// record adds one check result and reports whether the verdict changed.
func (h *healthRun) record(pass bool, healthyThreshold, unhealthyThreshold int) (changed bool) {
	if pass == h.healthy {
		h.run = 0
		return false
	}
	h.run++
	need := unhealthyThreshold
	if pass {
		need = healthyThreshold
	}
	if h.run < need {
		return false
	}
	h.healthy, h.run = pass, 0
	return true
}

// healthChecks runs the checks of one upstream.
type healthChecks struct {
	cfg    config.HealthCheck
	checks map[string]*healthCheck // by target address
	wg     *sync.WaitGroup
}

type healthCheck struct {
	target *lb.Target
	stop   chan struct{}
}

// update makes the running checks match cfg and targets: it stops checks of targets that left
// (or all of them when cfg changed) and starts checks for targets without one. With checks
// turned off it stops them all and marks the targets healthy again, since nothing would ever
// bring them back otherwise. A nil receiver is an upstream without checks.
func (h *healthChecks) update(cfg config.HealthCheck, targets map[string]*lb.Target, wg *sync.WaitGroup) *healthChecks {
	if !cfg.Enabled() {
		if h != nil {
			h.stop()
			for _, t := range targets {
				t.SetHealthy(true)
			}
		}
		return nil
	}
	if h != nil && h.cfg != cfg {
		h.stop()
		h = nil
	}
	if h == nil {
		h = &healthChecks{cfg: cfg, checks: map[string]*healthCheck{}, wg: wg}
	}
	for addr, c := range h.checks {
		if targets[addr] != c.target {
			close(c.stop)
			delete(h.checks, addr)
		}
	}
	for addr, t := range targets {
		if h.checks[addr] == nil {
			c := &healthCheck{target: t, stop: make(chan struct{})}
			h.checks[addr] = c
			wg.Add(1)
			go h.run(addr, c)
		}
	}
	return h
}

// stop ends every check of the upstream; safe on nil.
func (h *healthChecks) stop() {
	if h == nil {
		return
	}
	for addr, c := range h.checks {
		close(c.stop)
		delete(h.checks, addr)
	}
}

func (h *healthChecks) run(addr string, c *healthCheck) {
	defer h.wg.Done()
	cfg := h.cfg
	v := healthRun{healthy: c.target.Healthy()}
	// A fresh connection per check (healthprobe.go): a check must prove the target accepts
	// connections, and must not hold one of its connection slots between checks. A redirect
	// status is an answer like any other; no proxy from the environment is ever used.
	req := probeRequest(addr, cfg.Path)
	timer := time.NewTimer(jitter(cfg.Jitter.Duration()))
	defer timer.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-timer.C:
		}
		status, err := probeHTTP(addr, req, cfg.Timeout.Duration(), c.stop)
		pass := err == nil && status == cfg.ExpectedStatus
		select {
		case <-c.stop:
			return // the target left or the config changed while the check ran
		default:
		}
		if v.record(pass, cfg.HealthyThreshold, cfg.UnhealthyThreshold) {
			c.target.SetHealthy(v.healthy)
		}
		timer.Reset(cfg.Interval.Duration() + jitter(cfg.Jitter.Duration()))
	}
}

func jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}
