package admin

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"

	"github.com/sluice-gw/sluice/gateway"
	"github.com/sluice-gw/sluice/metrics"
	"github.com/sluice-gw/sluice/proxy"
)

// Options configure the admin server.
type Options struct {
	// Address is host:port. A non-loopback address needs a Token.
	Address string
	// Token, when set, is required on every request as "Authorization: Bearer TOKEN".
	Token string
	// Gateway and Metrics are what the API shows; both are required.
	Gateway *gateway.Gateway
	Metrics *metrics.Metrics
	// Reload re-reads the configuration the gateway was started with and applies it; it
	// returns the version in force afterwards. nil disables POST /api/v1/reload.
	Reload func() (uint64, error)
	// Instance names this gateway in the header (default: host name and admin address).
	Instance string
	// FrameTail bounds the sampled requests per stream frame (default 100).
	FrameTail int
}

// Errors of Listen.
var (
	ErrNeedToken = errors.New("admin: a non-loopback address needs admin.token")
	ErrOptions   = errors.New("admin: Gateway and Metrics are required")
)

// Server is a running admin API.
type Server struct {
	o   Options
	ln  net.Listener
	srv *http.Server
	ctx context.Context // ends at Close: the streams stop
	end context.CancelFunc
}

// Listen binds the admin address and serves it in a goroutine.
func Listen(o Options) (*Server, error) {
	if o.Gateway == nil || o.Metrics == nil {
		return nil, ErrOptions
	}
	host, _, err := net.SplitHostPort(o.Address)
	if err != nil {
		return nil, fmt.Errorf("admin: address %q: %w", o.Address, err)
	}
	if o.Token == "" && !isLoopback(host) {
		return nil, fmt.Errorf("%w (%s)", ErrNeedToken, o.Address)
	}
	ln, err := net.Listen("tcp", o.Address)
	if err != nil {
		return nil, fmt.Errorf("admin: %w", err)
	}
	if o.Instance == "" {
		h, _ := os.Hostname()
		o.Instance = h + " " + ln.Addr().String()
	}
	if o.FrameTail <= 0 {
		o.FrameTail = 100
	}
	s := &Server{o: o, ln: ln}
	s.ctx, s.end = context.WithCancel(context.Background())
	s.srv = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	go watch(s.ctx, o.Gateway, o.Metrics)
	return s, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Close ends the streams and stops the server.
func (s *Server) Close() error {
	s.end()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

// Handler is the API's routes behind the token check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	// Scrapes and snapshots grow with routes and targets: gzip them for clients that ask
	// (Prometheus does), with klauspost/compress's handler. The event stream stays plain so
	// that each frame reaches the console the moment it is written.
	gz := gzipped()
	mux.Handle("GET /metrics", gz(http.HandlerFunc(s.handleMetrics)))
	mux.Handle("GET /api/v1/stats", gz(http.HandlerFunc(s.handleStats)))
	mux.Handle("GET /api/v1/routes", gz(http.HandlerFunc(s.handleRoutes)))
	mux.Handle("GET /api/v1/upstreams", gz(http.HandlerFunc(s.handleUpstreams)))
	mux.Handle("GET /api/v1/limits", gz(http.HandlerFunc(s.handleLimits)))
	mux.HandleFunc("GET /api/v1/events", s.handleStream)
	mux.Handle("GET /api/v1/events/recent", gz(http.HandlerFunc(s.handleRecentEvents)))
	mux.HandleFunc("POST /api/v1/reload", s.handleReload)
	mux.HandleFunc("POST /api/v1/upstreams/{upstream}/targets/{addr}/{action}", s.handleTargetAction)
	if s.o.Token == "" {
		return mux
	}
	want := []byte("Bearer " + s.o.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="sluice admin"`)
			writeJSON(w, http.StatusUnauthorized, ActionResult{Error: "a valid bearer token is required"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// gzipped compresses answers of 1 KiB and more for clients that accept gzip; smaller ones
// cost more to compress than they save.
func gzipped() func(http.Handler) http.HandlerFunc {
	wrap, err := gzhttp.NewWrapper(gzhttp.MinSize(1<<10), gzhttp.CompressionLevel(gzip.DefaultCompression))
	if err != nil {
		panic(err) // constant options: only a programming error gets here
	}
	return wrap
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	s.o.Metrics.WritePrometheus(w)
	vm.WriteProcessMetrics(w) // go_* and process_*: memory, GC, CPU, open files
	pools, err := s.poolSizes(r.Context(), time.Second)
	if err != nil {
		return // the pools are a best effort: the loops may be stopping
	}
	for _, u := range s.o.Gateway.Upstreams() {
		for _, t := range u.Targets {
			p := pools[u.Name+"/"+t.Addr]
			l := fmt.Sprintf("{upstream=%q,target=%q}", u.Name, t.Addr)
			vm.WriteGaugeUint64(w, "sluice_upstream_pool_open"+l, uint64(p[0]))
			vm.WriteGaugeUint64(w, "sluice_upstream_pool_idle"+l, uint64(p[1]))
		}
		for _, b := range s.o.Gateway.Balance(u.Name) {
			l := fmt.Sprintf("{upstream=%q,target=%q}", u.Name, b.Addr)
			vm.WriteGaugeUint64(w, "sluice_upstream_health_check_up"+l, boolGauge(b.Healthy))
			vm.WriteGaugeUint64(w, "sluice_upstream_ejected"+l, boolGauge(b.Ejected))
			vm.WriteGaugeUint64(w, "sluice_upstream_times_ejected"+l, uint64(b.TimesEjected)) // decays: not a counter
			if b.Breaker != "" {
				// 0 closed, 1 open, 2 half-open (lb.BreakerState's order)
				vm.WriteGaugeUint64(w, "sluice_upstream_breaker_state"+l, map[string]uint64{"closed": 0, "open": 1, "half-open": 2}[b.Breaker])
			}
		}
	}
}

// poolSizes asks the loops for their pools, within timeout, and returns the open and idle
// connections of every target of the current configuration by "upstream/address".
func (s *Server) poolSizes(ctx context.Context, timeout time.Duration) (map[string][2]int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ps, err := s.o.Gateway.PoolSizes(ctx)
	if err != nil {
		return map[string][2]int{}, err
	}
	byID := map[int]gateway.PoolSize{}
	for _, p := range ps {
		byID[p.TargetID] = p
	}
	out := map[string][2]int{}
	for _, u := range s.o.Gateway.Upstreams() {
		for _, t := range u.Targets {
			p := byID[t.ID]
			out[u.Name+"/"+t.Addr] = [2]int{p.Open, p.Idle}
		}
	}
	return out, nil
}

func boolGauge(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// stats builds the JSON snapshot from the newest aggregate.
func (s *Server) stats(ctx context.Context) Stats {
	sec := s.o.Metrics.Latest()
	if sec == nil { // before the first Tick: no rates yet, the rest is current
		sec = &metrics.Second{Uptime: time.Since(s.o.Metrics.Started()), Version: s.o.Gateway.Version(), Connections: s.o.Gateway.Connections()}
	}
	pools, _ := s.poolSizes(ctx, 500*time.Millisecond) // best effort, like /metrics
	out := statsOf(s.o.Instance, sec, pools, matchesOf(s.o.Gateway.Snapshot()))
	live(&out, s.o.Gateway)
	return out
}

// live overlays what can be read now on the per-second aggregate: the balancer's state, and
// the drain flag, so that an operator who drains a target sees it at once.
func live(st *Stats, g *gateway.Gateway) {
	targets := map[string]*proxy.Target{}
	for _, u := range g.Upstreams() {
		for _, t := range u.Targets {
			targets[u.Name+"/"+t.Addr] = t
		}
	}
	st.ConfigVersion = g.Version()
	st.Connections = g.Connections()
	for i := range st.Upstreams {
		u := &st.Upstreams[i]
		bal := map[string]gateway.TargetBalance{}
		for _, b := range g.Balance(u.Name) {
			bal[b.Addr] = b
		}
		for j := range u.Targets {
			ts := &u.Targets[j]
			ts.Healthy = true
			if t := targets[u.Name+"/"+ts.Addr]; t != nil {
				ts.Draining = t.Draining.Load()
				ts.InFlight = t.InFlight.Load()
			}
			if b, ok := bal[ts.Addr]; ok {
				ts.Healthy, ts.Ejected, ts.TimesEjected = b.Healthy, b.Ejected, b.TimesEjected
				ts.EjectedForMs = ms(b.EjectedFor)
				ts.Breaker, ts.BreakerOpenForMs = b.Breaker, ms(b.BreakerOpenFor)
			}
			ts.State = stateOf(ts)
		}
	}
}

// stateOf names the most important condition of a target.
func stateOf(t *TargetStats) string {
	switch {
	case t.Draining:
		return StateDraining
	case t.Breaker == "open":
		return StateOpen
	case t.Ejected:
		return StateEjected
	case !t.Healthy:
		return StateDown
	case t.Breaker == "half-open":
		return StateHalfOpen
	case t.Failing:
		return StateFailing
	}
	return StateUp
}

func matchesOf(snap *proxy.Snapshot) map[string]string {
	out := map[string]string{}
	if snap == nil || snap.Routes == nil {
		return out
	}
	for i := 0; i < snap.Routes.Len(); i++ {
		rr := snap.Routes.Route(i)
		m := rr.Pattern()
		if h := rr.Host(); h != "" {
			m = h + m
		}
		out[rr.Name()] = m
	}
	return out
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.stats(r.Context()))
}

func (s *Server) handleRoutes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.stats(r.Context()).Routes)
}

func (s *Server) handleUpstreams(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.stats(r.Context()).Upstreams)
}

func (s *Server) handleLimits(w http.ResponseWriter, r *http.Request) {
	n := 10
	if v, err := strconv.Atoi(r.URL.Query().Get("top")); err == nil && v > 0 {
		n = min(v, 32)
	}
	out := Limits{Routes: []RouteLimit{}, Top: []KeyCount{}}
	for _, rt := range s.stats(r.Context()).Routes {
		out.Routes = append(out.Routes, RouteLimit{Name: rt.Name, Rate429: rt.Rate429})
	}
	for _, k := range s.o.Metrics.TopRejected(n) {
		out.Top = append(out.Top, KeyCount{Key: k.Key, Count: k.Count})
	}
	out.Filters = limitFilters(s.o.Gateway.LimitStats())
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRecentEvents(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	writeJSON(w, http.StatusOK, eventsOf(s.o.Metrics.Events(after, 0)))
}

func (s *Server) handleReload(w http.ResponseWriter, r *http.Request) {
	if s.o.Reload == nil {
		writeJSON(w, http.StatusNotImplemented, ActionResult{Error: "reload is not available in this process"})
		return
	}
	v, err := s.o.Reload()
	s.o.Metrics.Reloaded(v, err)
	if err != nil {
		writeJSON(w, http.StatusUnprocessableEntity, ActionResult{Version: v, Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, ActionResult{OK: true, Changed: true, Version: v})
}

func (s *Server) handleTargetAction(w http.ResponseWriter, r *http.Request) {
	up, addr, action := r.PathValue("upstream"), r.PathValue("addr"), r.PathValue("action")
	switch action {
	case "drain", "undrain":
		on := action == "drain"
		changed, err := s.o.Gateway.SetDraining(up, addr, on)
		if err != nil {
			writeJSON(w, http.StatusNotFound, ActionResult{Error: err.Error()})
			return
		}
		state := "serving"
		if on {
			state = StateDraining
		}
		if changed {
			s.o.Metrics.Event(metrics.EventDrain, up+"/"+addr, action+"ed by an operator", metrics.LevelWarn)
		}
		writeJSON(w, http.StatusOK, ActionResult{OK: true, Changed: changed, State: state})
	case "reset":
		// Close the target's circuit breaker (when the upstream has breakers) and clear the
		// passive failure count the console shows.
		closed, err := s.o.Gateway.ResetBreaker(up, addr)
		cleared := s.o.Metrics.ResetTarget(up, addr)
		if err != nil && !cleared {
			writeJSON(w, http.StatusNotFound, ActionResult{Error: fmt.Sprintf("no such upstream target: %s/%s", up, addr)})
			return
		}
		if closed {
			s.o.Metrics.Event(metrics.EventBreaker, up+"/"+addr, "breaker reset by an operator", metrics.LevelInfo)
		}
		writeJSON(w, http.StatusOK, ActionResult{OK: true, Changed: closed || cleared})
	default:
		writeJSON(w, http.StatusNotFound, ActionResult{Error: fmt.Sprintf("unknown action %q (drain, undrain or reset)", action)})
	}
}

// handleStream is the live stream for the console, as server-sent events (WHATWG HTML,
// "Server-sent events"): one "frame" event per second with the newest Stats and the sampled
// requests and events since the previous frame. A slow reader only delays its own handler,
// which then skips to the newest aggregate: the gateway never waits for it, and a reader that
// stops reading is cut off by the write deadline.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	stop := context.AfterFunc(s.ctx, cancel)
	defer stop()

	m := s.o.Metrics
	var lastTail, lastEvent uint64
	// The first frame carries what the console would have seen had it been attached.
	if ev := m.Events(0, 50); len(ev) > 0 {
		lastEvent = ev[0].Seq - 1
	}
	if t := m.Tail(0, s.o.FrameTail); len(t) > 0 {
		lastTail = t[0].Seq - 1
	}
	var seq uint64
	first := true
	for {
		if !first {
			sec, err := m.Next(ctx, seq)
			if err != nil {
				return
			}
			seq = sec.Seq
		} else if sec := m.Latest(); sec != nil {
			seq = sec.Seq
		}
		first = false
		f := Frame{Stats: s.stats(ctx)}
		f.Tail = tailOf(m.Tail(lastTail, s.o.FrameTail))
		f.Events = eventsOf(m.Events(lastEvent, 50))
		if n := len(f.Tail); n > 0 {
			lastTail = f.Tail[n-1].Seq
		}
		if n := len(f.Events); n > 0 {
			lastEvent = f.Events[n-1].Seq
		}
		data, err := json.Marshal(f)
		if err != nil {
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := fmt.Fprintf(w, "event: frame\nid: %d\ndata: %s\n\n", f.Stats.Seq, data); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// limitFilters converts the gateway's limit counters to the API's JSON form.
func limitFilters(in []gateway.LimitStat) []LimitFilter {
	out := make([]LimitFilter, 0, len(in))
	for _, l := range in {
		f := LimitFilter{Name: l.Name, Kind: l.Kind}
		for _, w := range l.Windows {
			f.Windows = append(f.Windows, LimitWindow{Policy: w.Policy, Rejected: w.Rejected, ShadowRejected: w.ShadowRejected})
		}
		if t := l.Table; t != nil {
			f.Keys, f.Untracked = t.Keys, t.Untracked
		}
		if r := l.Redis; r != nil {
			up := r.Up
			f.RedisUp, f.RedisErrors, f.FailedOpen, f.FailedClosed, f.Keys = &up, r.Errors, r.FailedOpen, r.FailedClosed, r.Keys
		}
		if c := l.InFlight; c != nil {
			f.Limit, f.InFlight, f.Waiting, f.Rejected, f.TimedOut = c.Limit, c.InFlight, c.Waiting, c.Rejected, c.TimedOut
		}
		out = append(out, f)
	}
	return out
}
