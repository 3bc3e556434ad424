package gateway

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/engine"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/proxy"
)

// maxLoops bounds the per-loop state table; engines never run more loops than cores.
const maxLoops = 1024

// driver is the engine.Handler that runs proxy sessions on the loops. Everything per loop
// (sessions, idle upstream pools) is owned by that loop's goroutine: no locks on the path.
type driver struct {
	cfg      *atomic.Pointer[proxy.Snapshot]
	proto    string
	loops    [maxLoops]atomic.Pointer[loopState]
	draining atomic.Bool
	conns    atomic.Int64  // open client connections, all loops
	open     *atomic.Int64 // the gateway's client connections, every listener (max_connections)
	stream   *streamDriver // where connections needing an upstream TLS connection go
}

type loopState struct {
	d        *driver
	l        engine.Loop
	sessions []*clientConn // for the deadline sweep; index kept in clientConn.slot
	pools    []*targetPool // by proxy.Target.ID
	xpool    proxy.ExchangePool
}

func (d *driver) loopState(l engine.Loop) *loopState {
	i := l.Index()
	if ls := d.loops[i].Load(); ls != nil {
		return ls
	}
	ls := &loopState{d: d, l: l}
	ls.xpool.Loop = i // the loop's own metrics shard and request-ID range
	ls.xpool.OwnIDs = true
	d.loops[i].Store(ls) // only loop i itself gets here
	return ls
}

// clientConn is a downstream connection: the proxy.IO of its session.
type clientConn struct {
	c       engine.Conn
	ls      *loopState
	s       *proxy.Session
	up      *upConn
	slot    int
	acq     uint32 // generation of the pending UpstreamAcquire
	closing bool   // we closed it: the engine's OnClose only cleans up
	gone    bool
}

// upConn is an upstream connection on the same loop, owned by a session or idle in a pool.
type upConn struct {
	c         engine.Conn
	pool      *targetPool
	addr      string // dialed; the pool's ID may name another address by the time it comes back
	owner     *clientConn
	idleSince int64
	closed    bool
	closing   bool
}

func (d *driver) OnOpen(c engine.Conn) {
	if !admitConn(d.open, d.cfg.Load()) {
		// Over http.max_connections: a short answer and the door, never a silent hang.
		_ = c.Write(http1.AppendErrorResponse(nil, 503, "too many connections", true))
		_ = c.Close()
		return
	}
	ls := d.loopState(c.Loop())
	cc := &clientConn{c: c, ls: ls, slot: len(ls.sessions)}
	ls.sessions = append(ls.sessions, cc)
	d.conns.Add(1)
	c.SetContext(cc)
	var peer netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer, _ = netip.AddrFromSlice(ta.IP)
	}
	cc.s = proxy.NewSession(cc, d.cfg, &ls.xpool, peer, d.proto)
}

func (d *driver) OnData(c engine.Conn) {
	switch x := c.Context().(type) {
	case *clientConn:
		x.s.OnClientData()
		d.after(x)
	case *upConn:
		if x.owner == nil {
			// An idle pooled connection spoke or closed: it cannot be reused (liveness check).
			x.close()
			return
		}
		o := x.owner
		o.s.OnUpstreamData()
		d.after(o)
	}
}

func (d *driver) OnWritable(c engine.Conn) {
	switch x := c.Context().(type) {
	case *clientConn:
		x.s.OnClientWritable()
		d.after(x)
	case *upConn:
		if o := x.owner; o != nil {
			o.s.OnUpstreamWritable()
			d.after(o)
		}
	}
}

func (d *driver) OnClose(c engine.Conn, err error) {
	switch x := c.Context().(type) {
	case *clientConn:
		if !x.gone {
			if !x.closing {
				x.s.OnClientClosed()
			}
			d.forget(x)
		}
	case nil:
		// A connection refused at open (max_connections) has no state.
	case *upConn:
		x.closed = true
		x.pool.total--
		if o := x.owner; o != nil && o.up == x {
			o.s.OnUpstreamClosed()
			if o.up == x {
				o.up = nil
			}
			d.after(o)
		}
		x.owner = nil
	}
}

func (d *driver) OnTick(l engine.Loop, now int64) {
	ls := d.loopState(l)
	draining := d.draining.Load()
	for i := 0; i < len(ls.sessions); i++ {
		cc := ls.sessions[i]
		if draining && cc.s.Idle() {
			cc.ClientClose()
		} else if dl := cc.s.Deadline(); dl != 0 && now >= dl {
			cc.s.OnTimer(now)
		}
		if d.after(cc) {
			i-- // forget moved the last session into slot i
		}
	}
	for _, p := range ls.pools {
		if p != nil {
			p.sweep(now, draining)
		}
	}
}

// after runs once a session event is handled; it reports whether the session was forgotten.
func (d *driver) after(cc *clientConn) bool {
	if cc.gone || !cc.s.Closed() {
		return false
	}
	if !cc.closing {
		cc.ClientClose()
	}
	d.forget(cc)
	return true
}

func (d *driver) forget(cc *clientConn) {
	if cc.gone {
		return
	}
	cc.gone = true
	ls := cc.ls
	last := len(ls.sessions) - 1
	ls.sessions[cc.slot] = ls.sessions[last]
	ls.sessions[cc.slot].slot = cc.slot
	ls.sessions[last] = nil
	ls.sessions = ls.sessions[:last]
	d.conns.Add(-1)
	if d.open != nil {
		d.open.Add(-1)
	}
	cc.s.Release()
	if cc.up != nil {
		cc.up.owner = nil
		cc.up.close()
		cc.up = nil
	}
}

// --- proxy.IO -----------------------------------------------------------------------------

func (cc *clientConn) ClientPeek() []byte            { return cc.c.Peek() }
func (cc *clientConn) ClientDiscard(n int)           { cc.c.Discard(n) }
func (cc *clientConn) ClientWrite(a, b []byte) error { return cc.c.Write2(a, b) }
func (cc *clientConn) ClientOutbound() int           { return cc.c.OutboundBuffered() }
func (cc *clientConn) ClientPause(p bool)            { _ = cc.c.PauseRead(p) }
func (cc *clientConn) ClientCloseWrite()             { _ = cc.c.CloseWrite() }
func (cc *clientConn) Now() int64                    { return cc.ls.l.Now() }

func (cc *clientConn) ClientClose() {
	if cc.closing {
		return
	}
	cc.closing = true
	_ = cc.c.Close()
}

func (cc *clientConn) UpstreamPeek() []byte {
	if cc.up == nil {
		return nil
	}
	return cc.up.c.Peek()
}

func (cc *clientConn) UpstreamDiscard(n int) {
	if cc.up != nil {
		cc.up.c.Discard(n)
	}
}

func (cc *clientConn) UpstreamWrite(a, b []byte) error {
	if cc.up == nil || cc.up.closed {
		return engine.ErrClosed
	}
	return cc.up.c.Write2(a, b)
}

func (cc *clientConn) UpstreamOutbound() int {
	if cc.up == nil {
		return 0
	}
	return cc.up.c.OutboundBuffered()
}

func (cc *clientConn) UpstreamPause(p bool) {
	if cc.up != nil {
		_ = cc.up.c.PauseRead(p)
	}
}

func (cc *clientConn) UpstreamRelease(reuse bool) {
	uc := cc.up
	if uc == nil {
		return
	}
	cc.up = nil
	uc.owner = nil
	if uc.closed {
		return
	}
	if reuse && uc.pool.put(uc, cc.ls.l.Now()) {
		return
	}
	uc.close()
}

func (cc *clientConn) UpstreamAcquire(t *proxy.Target, fresh bool) {
	if t.Upstream.TLS != nil {
		// Only the goroutine path speaks TLS: hand the connection and its session over.
		if !cc.handOver(t, fresh) {
			cc.s.OnUpstreamFailed(errUpstreamNeedsTLS) // 502
		}
		return
	}
	ls := cc.ls
	p := ls.pool(t)
	cc.acq++
	if !fresh {
		if uc := p.get(); uc != nil {
			cc.up = uc
			uc.owner = cc
			cc.s.OnUpstreamReady(true)
			return
		}
	}
	if p.maxConns > 0 && p.total >= p.maxConns {
		cc.s.OnUpstreamFailed(proxy.ErrPoolFull)
		return
	}
	p.total++
	gen := cc.acq
	err := ls.l.Dial(t.Addr, p.connectTimeout, func(c engine.Conn, err error) {
		if err != nil {
			p.total--
			if errors.Is(err, engine.ErrDialTimeout) {
				err = proxy.ErrConnectTimeout
			}
			if !cc.gone && cc.acq == gen {
				cc.s.OnUpstreamFailed(err)
				cc.driver().after(cc)
			}
			return
		}
		uc := &upConn{c: c, pool: p, addr: t.Addr}
		c.SetContext(uc)
		if cc.gone || cc.acq != gen || cc.up != nil {
			// The session no longer waits for it (client gone, or a newer request): keep it.
			if !p.put(uc, ls.l.Now()) {
				uc.close()
			}
			return
		}
		cc.up = uc
		uc.owner = cc
		cc.s.OnUpstreamReady(false)
		cc.driver().after(cc)
	})
	if err != nil {
		p.total--
		cc.s.OnUpstreamFailed(err)
	}
}

func (cc *clientConn) driver() *driver { return cc.ls.d }

// WakeAt serves a deadline the OnTick sweep would serve late (it runs every 100 ms): a runtime
// timer hands the session back to its loop through the loop's task queue at dl. Only a retry's
// backoff asks, off the per-request path, so the timer and closures it allocates are fine.
func (cc *clientConn) WakeAt(dl int64) {
	l := cc.ls.l
	time.AfterFunc(time.Duration(max(dl-cc.Now(), 0)), func() {
		_ = l.Execute(func() { cc.ls.d.wake(cc, dl) }) // fails only when shutting down
	})
}

// wake fires cc's timer if dl is still its deadline; a session that ended or moved on to
// another deadline in the meantime is left to the sweep.
func (d *driver) wake(cc *clientConn, dl int64) {
	if cc.gone || cc.s.Deadline() != dl {
		return
	}
	// The loop clock is read once per wake-up and the runtime timer may beat it by a hair;
	// the timer has fired, so dl has passed.
	cc.s.OnTimer(max(cc.Now(), dl))
	d.after(cc)
}

// handOver moves the connection off the loop to the stream driver, session and buffered
// bytes included, for an upstream that needs TLS. The stream side starts only after the
// loop's current callback has returned, so the session is never driven by both.
func (cc *clientConn) handOver(t *proxy.Target, fresh bool) bool {
	d := cc.driver()
	if d.stream == nil || cc.up != nil {
		return false
	}
	nc, pending, err := cc.c.Detach()
	if err != nil {
		return false
	}
	// Forget it on the loop without closing it and without releasing its session.
	ls := cc.ls
	cc.gone = true
	last := len(ls.sessions) - 1
	ls.sessions[cc.slot] = ls.sessions[last]
	ls.sessions[cc.slot].slot = cc.slot
	ls.sessions[last] = nil
	ls.sessions = ls.sessions[:last]
	d.conns.Add(-1) // d.open keeps counting it: the stream side releases it
	s := cc.s
	if err := ls.l.Execute(func() { d.stream.adopt(nc, pending, s, t, fresh) }); err != nil {
		d.stream.adopt(nc, pending, s, t, fresh) // the loop is stopping: start it from here
	}
	return true
}

func (uc *upConn) close() {
	if uc.closed || uc.closing {
		return
	}
	uc.closing = true
	_ = uc.c.Close()
}

// Post runs fn on the connection's loop (proxy.Poster): how a request parked by a queueing
// filter is resumed from the goroutine that freed its slot.
func (cc *clientConn) Post(fn func()) error {
	return cc.ls.l.Execute(func() {
		if cc.gone {
			return
		}
		fn()
		cc.driver().after(cc)
	})
}

// admitConn counts a new client connection against http.max_connections; false means over
// the limit (and nothing counted). open may be nil (no limit kept).
func admitConn(open *atomic.Int64, snap *proxy.Snapshot) bool {
	if open == nil {
		return true
	}
	n := open.Add(1)
	if max := snap.MaxConnections; max > 0 && n > max {
		open.Add(-1)
		return false
	}
	return true
}
