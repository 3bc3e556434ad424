// Package gateway assembles Sluice: it builds the routing and upstream snapshot from a
// configuration, runs proxy sessions on the engine's loops, reloads configurations atomically
// and shuts down gracefully.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/accesslog"
	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/engine"
	gnetengine "github.com/sluice-gw/sluice/engine/gnet"
	"github.com/sluice-gw/sluice/proxy"
)

// Gateway is a running Sluice instance.
type Gateway struct {
	snap    atomic.Pointer[proxy.Snapshot]
	d       *driver
	srv     engine.Server
	tls     *tlsListeners // listeners with a tls section (tls.go); nil when none
	open    atomic.Int64  // client connections of every listener, for http.max_connections
	own     *streamDriver // the goroutine driver for plaintext connections to TLS upstreams
	ids     targetIDs
	res     resilience // lb state of the upstreams, kept across reloads (upstreams.go)
	version atomic.Uint64

	mu      sync.Mutex // serializes reloads
	conf    *config.Config
	started time.Time
	obs     proxy.Observer

	accessLog   *accesslog.Log
	stopSignals func()
}

// Options tune a Gateway beyond its configuration.
type Options struct {
	// Observer sees every finished exchange (metrics, access log). May be nil.
	Observer proxy.Observer
}

// Starters maps the engine names of the configuration to backends. Linux builds add "epoll".
var Starters = map[string]func(h engine.Handler, addrs []string, o engine.Options) (engine.Server, error){
	config.EngineGnet: gnetengine.Start,
}

// Start builds the configuration and starts listening.
func Start(c *config.Config, o Options) (*Gateway, error) {
	g := &Gateway{conf: c, started: time.Now(), obs: o.Observer}
	g.res.rebuild = g.rediscover
	if err := g.startAccessLog(c); err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			_ = g.closeAccessLog()
			if g.own != nil {
				g.own.close()
			}
		}
	}()
	snap, err := build(c, &g.ids, &g.res, g.version.Add(1), g.obs)
	if err == nil {
		err = upstreamTLS(c, snap)
	}
	if err != nil {
		return nil, err
	}
	g.prepare(snap)
	g.snap.Store(snap)
	g.d = &driver{cfg: &g.snap, proto: "http", open: &g.open}
	// Plaintext connections whose upstream speaks TLS move to a goroutine driver; it exists
	// before the loops start, so they read it without a race.
	g.own = newStreamDriver(&g.snap)
	g.own.open = &g.open
	g.d.stream = g.own
	start, ok := Starters[c.Engine]
	if !ok {
		g.res.close()
		return nil, fmt.Errorf("%w: %q", engine.ErrUnknownKind, c.Engine)
	}
	loops := c.Loops
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	srv, err := start(g.d, plainAddrs(c), engine.Options{Loops: loops})
	if err != nil {
		g.res.close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	g.srv = srv
	if err := g.startTLS(c); err != nil {
		_ = srv.Stop()
		g.res.close()
		return nil, err
	}
	started = true
	return g, nil
}

// Config returns the configuration in force.
func (g *Gateway) Config() *config.Config {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.conf
}

// Version is the configuration generation, 1 at start and +1 per successful reload.
func (g *Gateway) Version() uint64 { return g.snap.Load().Version }

// Started is when the gateway started.
func (g *Gateway) Started() time.Time { return g.started }

// Connections is the number of open client connections.
func (g *Gateway) Connections() int64 {
	n := g.d.conns.Load() + g.tls.conns()
	if g.own != nil {
		n += g.own.n.Load()
	}
	return n
}

// Addrs are the listeners' addresses.
func (g *Gateway) Addrs() []net.Addr { return g.listenAddrs() }

// Snapshot is the configuration snapshot the loops use now.
func (g *Gateway) Snapshot() *proxy.Snapshot { return g.snap.Load() }

// ErrListenChange is returned by Reload when the new configuration changes the listeners or the
// engine, which needs a restart (or a binary upgrade).
var ErrListenChange = errors.New("gateway: listeners and engine cannot change on reload")

// Reload swaps in a new configuration. It is built and validated before the swap; on any
// error the old one keeps serving. Requests in flight finish on the snapshot they started
// with; idle keep-alive connections and the pools of unchanged targets stay.
func (g *Gateway) Reload(c *config.Config) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !sameListeners(g.conf, c) {
		return ErrListenChange
	}
	// Everything that can fail on bad files is checked before build, which updates the
	// upstreams' lb registry: a refused configuration must leave the old one as it was.
	tcs, err := upstreamTLSConfigs(c)
	if err != nil {
		return err
	}
	opts, err := g.checkTLS(c)
	if err != nil {
		return err
	}
	snap, err := build(c, &g.ids, &g.res, g.version.Load()+1, g.obs)
	if err != nil {
		return err
	}
	attachUpstreamTLS(snap, tcs)
	if err := g.applyTLS(c, opts); err != nil {
		return err
	}
	carryDrain(g.snap.Load(), snap)
	g.prepare(snap)
	g.version.Add(1)
	g.snap.Store(snap)
	g.ids.retain(targetAddrs(snap), time.Now())
	g.conf = c
	return nil
}

func sameListeners(a, b *config.Config) bool {
	if a.Engine != b.Engine || a.Loops != b.Loops || len(a.Listen) != len(b.Listen) {
		return false
	}
	for i := range a.Listen {
		if a.Listen[i].Address != b.Listen[i].Address || (a.Listen[i].TLS == nil) != (b.Listen[i].TLS == nil) {
			return false
		}
	}
	return true
}

// Shutdown stops accepting, lets in-flight exchanges finish, closes idle connections and stops
// the loops. Connections still busy when ctx ends are closed.
func (g *Gateway) Shutdown(ctx context.Context) error {
	defer g.res.close()
	defer g.closeAccessLog()
	defer closeLimits(&g.ids)
	_ = g.srv.StopAccepting() // gnet cannot: new connections are then served and closed when idle
	g.tls.stopAccepting()
	defer g.tls.close()
	if g.own != nil {
		g.own.draining.Store(true)
		defer g.own.close()
	}
	g.d.draining.Store(true)
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for g.Connections() > 0 {
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("gateway: %d connections still open at the shutdown deadline", g.Connections()), g.srv.Stop())
		case <-t.C:
		}
	}
	return g.srv.Stop()
}

// Wait blocks until the engine stopped.
func (g *Gateway) Wait() error { return g.srv.Wait() }
