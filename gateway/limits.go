package gateway

import (
	"fmt"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/policy"
	"github.com/sluice-gw/sluice/proxy"
)

// limitSet builds the traffic-limit filters of one snapshot. A limit named by
// several routes is one filter (one key table) shared by them, so "route" in
// its key is what separates routes; an upstream's concurrency limit is one
// filter on every route that sends to it. Filters are built per snapshot: a
// reload starts the limits afresh.
type limitSet struct {
	c         *config.Config
	rates     map[string]proxy.Filter
	upstreams map[string]*policy.InFlight
}

func newLimitSet(c *config.Config) *limitSet {
	return &limitSet{c: c, rates: map[string]proxy.Filter{}, upstreams: map[string]*policy.InFlight{}}
}

// routeFilters returns the filters of route r, in the order they run: rate
// limits first (they are cheap and refuse abusers before they hold a slot),
// then the route's concurrency cap, then the upstream's.
func (s *limitSet) routeFilters(r *config.Route) ([]proxy.Filter, error) {
	var fs []proxy.Filter
	for _, name := range r.Limits {
		f, err := s.rate(name)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	if n := r.Concurrency.MaxInFlight; n > 0 {
		f, err := policy.NewInFlight(policy.InFlightConfig{Name: "route " + r.Name, MaxInFlight: int64(n)})
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	if u := s.c.Upstream(r.Upstream); u != nil && (u.Concurrency.MaxInFlight > 0 || u.AdaptiveConcurrency != nil) {
		f, err := s.upstream(u)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	return fs, nil
}

func (s *limitSet) rate(name string) (proxy.Filter, error) {
	if f := s.rates[name]; f != nil {
		return f, nil
	}
	l := s.c.Limit(name)
	if l == nil {
		return nil, fmt.Errorf("unknown limit %q", name)
	}
	ws, err := l.Policies()
	if err != nil {
		return nil, fmt.Errorf("limits.%s: %w", name, err)
	}
	parts, err := policy.ParseKey(l.Key)
	if err != nil {
		return nil, fmt.Errorf("limits.%s.key: %w", name, err)
	}
	key := policy.Key{Parts: parts, Trusted: s.c.HTTP.TrustedProxies}
	var f proxy.Filter
	if l.Redis != nil {
		f, err = newRedisLimit(l, ws, key)
	} else {
		f, err = policy.NewRateLimit(policy.RateLimitConfig{Name: name, Windows: ws, Key: key, MaxKeys: l.MaxKeys})
	}
	if err != nil {
		return nil, fmt.Errorf("limits.%s: %w", name, err)
	}
	s.rates[name] = f
	return f, nil
}

func (s *limitSet) upstream(u *config.Upstream) (*policy.InFlight, error) {
	if f := s.upstreams[u.Name]; f != nil {
		return f, nil
	}
	cfg := policy.InFlightConfig{Name: "upstream " + u.Name, MaxInFlight: int64(u.Concurrency.MaxInFlight)}
	if a := u.AdaptiveConcurrency; a != nil {
		cfg.Adaptive = &limits.GradientConfig{
			InitialLimit: int64(a.InitialLimit),
			MinLimit:     int64(a.MinLimit),
			MaxLimit:     int64(a.MaxLimit),
			Window:       a.Window.Duration(),
			MinSamples:   a.MinSamples,
		}
	}
	f, err := policy.NewInFlight(cfg)
	if err != nil {
		return nil, fmt.Errorf("upstreams.%s: %w", u.Name, err)
	}
	s.upstreams[u.Name] = f
	return f, nil
}
