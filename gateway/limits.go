package gateway

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"weak"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/policy"
	"github.com/sluice-gw/sluice/policy/redis"
	"github.com/sluice-gw/sluice/proxy"
)

// limitSet builds the traffic-limit filters of one snapshot. A limit named by
// several routes is one filter (one key table) shared by them, so "route" in
// its key is what separates routes; an upstream's concurrency limit is one
// filter on every route that sends to it.
//
// A reload keeps the state of every filter whose definition did not change
// (its key table, its in-flight count, its Redis client): built filters are
// remembered per gateway under a fingerprint of their definition, and a
// build takes the previous build's filter when the fingerprint matches. So a
// reload neither hands every client a fresh budget nor lets in-flight caps
// be exceeded by the requests still running on the old snapshot.
type limitSet struct {
	c         *config.Config
	rates     map[string]proxy.Filter
	upstreams map[string]*policy.InFlight
	prev      map[string]weakFilter   // by fingerprint: the last build's
	cur       map[string]proxy.Filter // this build's
	reg       *limitRegistry
}

// limitRegistry is one gateway's filters of its latest build. It holds them
// weakly: the snapshot in force keeps them alive, and once no snapshot uses
// a filter (the gateway is gone, or a reload dropped it) the collector may
// free it, which closes a Redis limit's connection.
type limitRegistry struct {
	mu      sync.Mutex
	filters map[string]weakFilter
}

// weakFilter is a weak pointer to one of the filter types limitSet builds.
type weakFilter struct {
	rate  weak.Pointer[policy.RateLimit]
	redis weak.Pointer[redis.Limit]
	conc  weak.Pointer[policy.InFlight]
}

func makeWeak(f proxy.Filter) weakFilter {
	switch f := f.(type) {
	case *policy.RateLimit:
		return weakFilter{rate: weak.Make(f)}
	case *redis.Limit:
		return weakFilter{redis: weak.Make(f)}
	case *policy.InFlight:
		return weakFilter{conc: weak.Make(f)}
	}
	return weakFilter{}
}

// get returns the filter, or nil when it was collected.
func (w weakFilter) get() proxy.Filter {
	if f := w.rate.Value(); f != nil {
		return f
	}
	if f := w.redis.Value(); f != nil {
		return f
	}
	if f := w.conc.Value(); f != nil {
		return f
	}
	return nil
}

// limitRegistries maps a gateway (by a weak pointer to its targetIDs, which
// lives exactly as long as the gateway) to its registry; the entry is
// dropped when the gateway is collected.
var limitRegistries sync.Map // weak.Pointer[targetIDs] -> *limitRegistry

func newLimitSet(c *config.Config, ids *targetIDs) *limitSet {
	s := &limitSet{c: c, rates: map[string]proxy.Filter{}, upstreams: map[string]*policy.InFlight{}, cur: map[string]proxy.Filter{}}
	if ids != nil {
		k := weak.Make(ids)
		v, loaded := limitRegistries.LoadOrStore(k, &limitRegistry{})
		if !loaded {
			runtime.AddCleanup(ids, func(k weak.Pointer[targetIDs]) { limitRegistries.Delete(k) }, k)
		}
		s.reg = v.(*limitRegistry)
		s.reg.mu.Lock()
		s.prev = s.reg.filters
		s.reg.mu.Unlock()
	}
	return s
}

// reuse returns the previous build's filter with this fingerprint, or builds
// one; either way it is remembered for the next build.
func (s *limitSet) reuse(fp string, build func() (proxy.Filter, error)) (proxy.Filter, error) {
	if f := s.cur[fp]; f != nil {
		return f, nil
	}
	f := s.prev[fp].get()
	if f == nil {
		var err error
		if f, err = build(); err != nil {
			return nil, err
		}
	}
	s.cur[fp] = f
	if s.reg != nil {
		// Remember what this build uses; a build that fails later leaves
		// some of its filters here, which only means a later reload may reuse
		// them.
		held := make(map[string]weakFilter, len(s.cur))
		for k, f := range s.cur {
			held[k] = makeWeak(f)
		}
		s.reg.mu.Lock()
		s.reg.filters = held
		s.reg.mu.Unlock()
	}
	return f, nil
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
		cc := r.Concurrency
		f, err := s.reuse(fmt.Sprintf("route|%s|%d|%d|%v", r.Name, n, cc.QueueSize, cc.QueueTimeout), func() (proxy.Filter, error) {
			return policy.NewInFlight(policy.InFlightConfig{Name: "route " + r.Name, MaxInFlight: int64(n),
				QueueSize: cc.QueueSize, QueueTimeout: cc.QueueTimeout.Duration()})
		})
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
	f, err := s.reuse(limitFingerprint(l, s.c), func() (proxy.Filter, error) {
		if l.Redis != nil {
			return newRedisLimit(l, ws, key)
		}
		return policy.NewRateLimit(policy.RateLimitConfig{Name: name, Windows: ws, Key: key, MaxKeys: l.MaxKeys})
	})
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
	cfg := policy.InFlightConfig{Name: "upstream " + u.Name, MaxInFlight: int64(u.Concurrency.MaxInFlight),
		QueueSize: u.Concurrency.QueueSize, QueueTimeout: u.Concurrency.QueueTimeout.Duration()}
	if a := u.AdaptiveConcurrency; a != nil {
		cfg.Adaptive = &limits.GradientConfig{
			InitialLimit: int64(a.InitialLimit),
			MinLimit:     int64(a.MinLimit),
			MaxLimit:     int64(a.MaxLimit),
			Window:       a.Window.Duration(),
			MinSamples:   a.MinSamples,
		}
	}
	fp := fmt.Sprintf("upstream|%s|%d|%d|%v", u.Name, u.Concurrency.MaxInFlight, u.Concurrency.QueueSize, u.Concurrency.QueueTimeout)
	if a := u.AdaptiveConcurrency; a != nil {
		fp += fmt.Sprintf("|%+v", *a)
	}
	f, err := s.reuse(fp, func() (proxy.Filter, error) { return policy.NewInFlight(cfg) })
	if err != nil {
		return nil, fmt.Errorf("upstreams.%s: %w", u.Name, err)
	}
	in := f.(*policy.InFlight)
	s.upstreams[u.Name] = in
	return in, nil
}

// limitFingerprint identifies a limit's definition: everything that shapes
// its filter, so an unchanged limit keeps its state over a reload and a
// changed one starts afresh.
func limitFingerprint(l *config.Limit, c *config.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "limit|%s|%s|%v|%d|%v", l.Name, l.Key, l.Shadow, l.MaxKeys, l.Windows)
	if r := l.Redis; r != nil {
		fmt.Fprintf(&b, "|redis %+v", *r)
	}
	if strings.Contains(l.Key, "client_ip") {
		fmt.Fprintf(&b, "|trusted %v", c.HTTP.TrustedProxies)
	}
	return b.String()
}

// closeLimits closes the Redis clients of the gateway's limits at shutdown, rather than when
// the collector gets to them.
func closeLimits(ids *targetIDs) {
	v, ok := limitRegistries.Load(weak.Make(ids))
	if !ok {
		return
	}
	reg := v.(*limitRegistry)
	reg.mu.Lock()
	defer reg.mu.Unlock()
	for _, w := range reg.filters {
		if r := w.redis.Value(); r != nil {
			r.Close()
		}
	}
}
