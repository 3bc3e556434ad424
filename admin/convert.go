package admin

import (
	"time"

	"github.com/sluice-gw/sluice/metrics"
)

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// statsOf converts a per-second aggregate into its JSON form. pools maps "upstream/addr" to
// the pool sizes; matches maps route names to their match pattern.
func statsOf(instance string, s *metrics.Second, pools map[string][2]int, matches map[string]string) Stats {
	out := Stats{
		Instance:      instance,
		Seq:           s.Seq,
		At:            s.At,
		WindowSeconds: s.Interval.Seconds(),
		UptimeSeconds: s.Uptime.Seconds(),
		ConfigVersion: s.Version,
		Connections:   s.Connections,
		Requests:      s.Requests,
		RPS:           s.RPS,
		ErrorRate:     s.ErrorRate,
		P50Ms:         ms(s.P50),
		P99Ms:         ms(s.P99),
		InBps:         s.InBps,
		OutBps:        s.OutBps,
		Routes:        make([]RouteStats, 0, len(s.Routes)),
		Upstreams:     make([]UpstreamStats, 0, len(s.Upstreams)),
	}
	if !s.LastReload.At.IsZero() {
		r := s.LastReload
		out.LastReload = &Reload{At: r.At, OK: r.OK, Version: r.Version, Error: r.Error}
	}
	for _, r := range s.Routes {
		out.Routes = append(out.Routes, RouteStats{
			Name: r.Name, Match: matches[r.Name], Upstream: r.Upstream, Requests: r.Requests,
			RPS: r.RPS, Rate2xx: r.Rate2xx, Rate3xx: r.Rate3xx, Rate4xx: r.Rate4xx, Rate5xx: r.Rate5xx,
			Rate429: r.Rejected, P50Ms: ms(r.P50), P99Ms: ms(r.P99), InFlight: r.InFlight,
			History: r.History, ErrHistory: r.ErrHistory,
		})
	}
	for _, u := range s.Upstreams {
		us := UpstreamStats{Name: u.Name, Targets: make([]TargetStats, 0, len(u.Targets))}
		for _, t := range u.Targets {
			p := pools[u.Name+"/"+t.Addr]
			us.Targets = append(us.Targets, TargetStats{
				Addr: t.Addr, Weight: t.Weight, State: t.State, Draining: t.Draining, Failing: t.Failing,
				InFlight: t.InFlight, EWMAMs: ms(t.EWMA), P50Ms: ms(t.P50), P99Ms: ms(t.P99),
				RPS: t.RPS, ErrorRate: t.ErrorRate, Requests: t.Requests, Errors: t.Errors,
				Consecutive: t.Consecutive, Trips: t.Trips, PoolOpen: p[0], PoolIdle: p[1],
			})
		}
		out.Upstreams = append(out.Upstreams, us)
	}
	return out
}

func tailOf(in []metrics.TailEntry) []TailEntry {
	out := make([]TailEntry, len(in))
	for i, e := range in {
		out[i] = TailEntry{
			Seq: e.Seq, At: e.At, Route: e.Route, Upstream: e.Upstream, Target: e.Target,
			Method: e.Method, Path: e.Path, Status: e.Status, DurationMs: ms(e.Duration),
			RTTMs: ms(e.UpstreamRTT), BytesIn: e.BytesIn, BytesOut: e.BytesOut, Error: e.Error,
			Client: e.Client, Retried: e.Retried,
		}
	}
	return out
}

func eventsOf(in []metrics.Event) []Event {
	out := make([]Event, len(in))
	for i, e := range in {
		out[i] = Event{Seq: e.Seq, At: e.At, Kind: e.Kind, Level: e.Level, Subject: e.Subject, Detail: e.Detail}
	}
	return out
}
