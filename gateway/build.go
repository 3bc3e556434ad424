package gateway

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/proxy"
	"github.com/sluice-gw/sluice/routing"
)

// targetIDs gives every upstream address a dense ID, so that a reload keeps the per-loop pools
// (and their warm connections) of unchanged targets. The ID of an address the configuration no
// longer uses is retired, and given to a new address once it has been retired for
// idQuarantine: under DNS churn (a discovered service whose addresses change with every
// deployment) the IDs, and the per-loop pool slices indexed by them, stay as many as the
// addresses in use, not every address ever seen. An address that comes back while its ID is
// retired gets the same ID back. Pools check the address of the target they are asked for, so
// a reused ID never hands out a connection to the old address (pool.go, stream.go).
type targetIDs struct {
	mu      sync.Mutex
	ids     map[string]int // addresses in use
	next    int            // IDs below it were handed out
	retired []retiredID    // oldest first
}

type retiredID struct {
	addr string
	id   int
	at   time.Time
}

// idQuarantine is how long a retired ID waits before it names another address: long enough
// that no request still starts on a snapshot that used the old address (each request reads
// the newest), so a reused ID does not make the two addresses take turns at a pool.
const idQuarantine = 10 * time.Minute

func (t *targetIDs) id(addr string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idLocked(addr, time.Now())
}

func (t *targetIDs) idLocked(addr string, now time.Time) int {
	if t.ids == nil {
		t.ids = make(map[string]int)
	}
	if id, ok := t.ids[addr]; ok {
		return id
	}
	id := -1
	for i, r := range t.retired {
		if r.addr == addr { // back within the quarantine or later: its own ID
			id = r.id
			t.retired = append(t.retired[:i], t.retired[i+1:]...)
			break
		}
	}
	if id < 0 && len(t.retired) > 0 && now.Sub(t.retired[0].at) >= idQuarantine {
		id = t.retired[0].id
		t.retired = append(t.retired[:0], t.retired[1:]...)
	}
	if id < 0 {
		id = t.next
		t.next++
	}
	t.ids[addr] = id
	return id
}

// retain retires the IDs of the addresses not in use, once a snapshot that no longer uses
// them is published.
func (t *targetIDs) retain(inUse map[string]bool, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for addr, id := range t.ids {
		if !inUse[addr] {
			delete(t.ids, addr)
			t.retired = append(t.retired, retiredID{addr: addr, id: id, at: now})
		}
	}
}

// targetAddrs is the set of target addresses a snapshot's routes can reach.
func targetAddrs(s *proxy.Snapshot) map[string]bool {
	in := map[string]bool{}
	for _, u := range upstreamsOf(s) {
		for _, t := range u.Targets {
			in[t.Addr] = true
		}
	}
	return in
}

// build turns a validated configuration into the immutable snapshot the loops read. It runs
// off the hot path (start and reload); the loops see the result through one atomic pointer.
//
// res, when not nil, gets every upstream's balancer, health checks and breakers (upstreams.go);
// it is applied last, once nothing else can fail, since it updates state shared with the
// snapshot in force.
func build(c *config.Config, ids *targetIDs, res *resilience, version uint64, obs proxy.Observer) (*proxy.Snapshot, error) {
	ups := make(map[string]*proxy.Upstream, len(c.Upstreams))
	for _, u := range c.Upstreams {
		pu := &proxy.Upstream{
			Name:            u.Name,
			ConnectTimeout:  u.ConnectTimeout.Duration(),
			ResponseTimeout: u.ResponseTimeout.Duration(),
			ReadTimeout:     u.ReadTimeout.Duration(),
			Retries:         u.Retries,
			MaxIdle:         u.Pool.MaxIdle,
			MaxConns:        u.Pool.MaxConnections,
			IdleTimeout:     u.Pool.IdleTimeout.Duration(),
		}
		targets, err := expandTargets(u, res)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.File, err)
		}
		for _, t := range targets {
			pu.Targets = append(pu.Targets, &proxy.Target{ID: ids.id(t.addr), Addr: t.addr, Weight: t.weight, Upstream: pu})
		}
		ups[u.Name] = pu
	}
	specs := make([]routing.Spec, 0, len(c.Routes))
	lim := newLimitSet(c, ids)
	for i, r := range c.Routes {
		up := ups[r.Upstream]
		if up == nil {
			return nil, fmt.Errorf("%s: routes[%d].upstream: unknown upstream %q", c.File, i, r.Upstream)
		}
		pr := &proxy.Route{
			Name:      r.Name,
			Index:     i,
			Upstream:  up,
			Timeout:   r.Timeout.Duration(),
			MaxBody:   int64(r.MaxBody),
			ReqEdits:  edits(r.RequestHeaders),
			RespEdits: edits(r.ResponseHeaders),
		}
		filters, err := lim.routeFilters(r)
		if err != nil {
			return nil, fmt.Errorf("%s: routes[%d]: %w", c.File, i, err)
		}
		pr.Filters = filters
		if pr.MaxBody == 0 {
			pr.MaxBody = -1 // the route inherited http.max_body already; 0 there means unlimited
		}
		spec := routing.Spec{
			Name:         r.Name,
			Host:         r.Match.Host,
			Path:         r.Match.Path,
			PathPrefix:   r.Match.PathPrefix,
			PathTemplate: r.Match.PathTemplate,
			Methods:      r.Match.Methods,
			Target:       pr,
		}
		for _, h := range r.Match.Headers {
			spec.Headers = append(spec.Headers, routing.HeaderMatch{Name: h.Name, Value: h.Value})
		}
		for _, q := range r.Match.Query {
			spec.Query = append(spec.Query, routing.HeaderMatch{Name: q.Name, Value: q.Value})
		}
		switch {
		case r.StripPrefix != "":
			pr.StripPrefix = r.StripPrefix // the configured string, which may be shorter than the match
		case r.Rewrite != "" && r.Match.PathTemplate != "":
			spec.Rewrite.ReplacePath = r.Rewrite
		case r.Rewrite != "" && r.Match.PathPrefix != "":
			spec.Rewrite.ReplacePrefix = r.Rewrite
		case r.Rewrite != "":
			spec.Rewrite.ReplacePath = r.Rewrite
		}
		specs = append(specs, spec)
	}
	table, err := routing.Build(specs)
	if err != nil {
		return nil, fmt.Errorf("%s: routes: %w", c.File, err)
	}
	if res != nil {
		if err := res.apply(c, ups); err != nil {
			return nil, err
		}
	}
	snap := &proxy.Snapshot{
		Version: version,
		Routes:  table,
		Limits: http1.Limits{
			MaxRequestLine: int(c.HTTP.MaxRequestLine),
			MaxHeaderBytes: int(c.HTTP.MaxHeaderBytes),
			MaxHeaders:     c.HTTP.MaxHeaders,
		},
		HeaderReadTimeout: c.HTTP.HeaderReadTimeout.Duration(),
		IdleTimeout:       c.HTTP.IdleTimeout.Duration(),
		MaxBody:           int64(c.HTTP.MaxBody),
		MaxConnections:    int64(c.HTTP.MaxConnections),
		Trusted:           c.HTTP.TrustedProxies,
		Observer:          obs,
	}
	if c.HTTP.Via != "" {
		snap.Via = []byte(c.HTTP.Via)
	}
	return snap, nil
}

// edits converts configured header operations into the writer's form, built once.
func edits(ops config.HeaderOps) *http1.HeaderEdits {
	if ops.Empty() {
		return nil
	}
	e := &http1.HeaderEdits{}
	for _, name := range ops.Remove {
		e.Remove = append(e.Remove, []byte(strings.TrimSpace(name)))
	}
	for _, h := range ops.Set {
		e.Set = append(e.Set, http1.Field{Name: []byte(h.Name), Value: []byte(h.Value)})
	}
	for _, h := range ops.Add {
		e.Add = append(e.Add, http1.Field{Name: []byte(h.Name), Value: []byte(h.Value)})
	}
	return e
}
