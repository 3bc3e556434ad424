package gateway

import (
	"sort"
	"weak"

	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/policy"
	"github.com/sluice-gw/sluice/policy/redis"
)

// LimitStat is one traffic-limit filter's counters, for the admin API.
type LimitStat struct {
	Name string // "per_key", "route api", "upstream users"
	Kind string // "rate", "redis" or "concurrency"
	// Windows are a rate limit's policies with their refusal counters
	// (Policy.Counts); nil for other kinds.
	Windows  []WindowStat
	Table    *limits.TableStats       // local rate limits
	Redis    *redis.Stats             // cluster-wide rate limits: errors, fail-open/closed decisions
	InFlight *limits.ConcurrencyStats // concurrency limits
}

// WindowStat is one window of a rate limit.
type WindowStat struct {
	Policy         string // "100/1s burst 200"
	Name           string
	Rejected       int64
	ShadowRejected int64
}

// LimitStats returns the counters of the limits in force, sorted by kind and
// name. Safe from any goroutine.
func (g *Gateway) LimitStats() []LimitStat {
	v, ok := limitRegistries.Load(weak.Make(&g.ids))
	if !ok {
		return nil
	}
	reg := v.(*limitRegistry)
	reg.mu.Lock()
	filters := reg.filters
	reg.mu.Unlock()
	var out []LimitStat
	for _, w := range filters {
		switch f := w.get().(type) {
		case *policy.RateLimit:
			st := f.Stats()
			out = append(out, LimitStat{Name: f.Name(), Kind: "rate", Windows: windowStats(f.Multi()), Table: &st})
		case *redis.Limit:
			st := f.Stats()
			out = append(out, LimitStat{Name: f.Name(), Kind: "redis", Redis: &st})
		case *policy.InFlight:
			st := f.Stats()
			out = append(out, LimitStat{Name: f.Name(), Kind: "concurrency", InFlight: &st})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func windowStats(m *limits.Multi) []WindowStat {
	ws := make([]WindowStat, 0, m.Len())
	for i := 0; i < m.Len(); i++ {
		p := m.Policy(i)
		c := p.Counts()
		ws = append(ws, WindowStat{Policy: p.String(), Name: p.Name, Rejected: c.Rejected, ShadowRejected: c.ShadowRejected})
	}
	return ws
}
