package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-gw/sluice/gateway"
	"github.com/sluice-gw/sluice/metrics"
)

// watchInterval is how often the balancer's state is polled for events.
const watchInterval = 250 * time.Millisecond

// watch turns the balancer's state changes into events for the console: breaker transitions
// (from the balancer's own log, so none is missed between two polls unless the log wrapped),
// and health and ejection changes (by comparing polls, so a flap shorter than the interval
// goes unseen; the counters still show it).
func watch(ctx context.Context, g *gateway.Gateway, m *metrics.Metrics) {
	var seq uint64
	type key struct{ upstream, addr string }
	prev := map[key]gateway.TargetBalance{}
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		trs, next, dropped := g.BreakerTransitions(seq)
		seq = next
		if dropped > 0 {
			m.Event(metrics.EventBreaker, "breakers", fmt.Sprintf("%d transitions were not seen (the log wrapped)", dropped), metrics.LevelWarn)
		}
		for _, tr := range trs {
			level := metrics.LevelInfo
			switch tr.To {
			case "open":
				level = metrics.LevelError
			case "half-open":
				level = metrics.LevelWarn
			}
			m.Event(metrics.EventBreaker, tr.Target, tr.From+" → "+tr.To, level)
		}
		for _, u := range g.Upstreams() {
			for _, b := range g.Balance(u.Name) {
				k := key{u.Name, b.Addr}
				p, seen := prev[k]
				prev[k] = b
				if !seen {
					p = gateway.TargetBalance{Healthy: true}
				}
				subject := u.Name + "/" + b.Addr
				if b.Healthy != p.Healthy {
					if b.Healthy {
						m.Event(metrics.EventHealth, subject, "health check passing: back in", metrics.LevelInfo)
					} else {
						m.Event(metrics.EventHealth, subject, "health check failing: taken out", metrics.LevelError)
					}
				}
				if b.Ejected != p.Ejected {
					if b.Ejected {
						m.Event(metrics.EventEject, subject, fmt.Sprintf("ejected by outlier detection for %s (ejection %d)", b.EjectedFor.Round(time.Second), b.TimesEjected), metrics.LevelError)
					} else {
						m.Event(metrics.EventEject, subject, "back from ejection", metrics.LevelInfo)
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
