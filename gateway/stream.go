package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/engine"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/proxy"
)

// The stream driver runs a proxy.Session on the connection's own goroutine: TLS connections,
// whose handshake and record layer (crypto/tls) need blocking reads and writes and so can
// never run on an event loop. It feeds the same sans-IO Session as the loop driver, so the
// parser, routing, limits and every proxy rule are the ones plaintext connections get.
//
// Concurrency: a connection has a few goroutines (its reader, its upstream's reader, its
// timer, and a flush goroutine per direction while bytes are queued) and one mutex, held for
// every Session call, so the Session stays single-threaded. The session's writes never block:
// they are queued under the mutex (outQueue) and a flush goroutine writes them without it, so
// a peer that is slow to read never stops the other direction (a full-duplex upload echoed
// back, a tunnel). ClientOutbound and UpstreamOutbound report the queues, so the session's
// high-water mark bounds them, and OnClientWritable / OnUpstreamWritable follow each drain.
//
// netpoll is not used here: crypto/tls needs a net.Conn with blocking Read and Write, which Go's
// own runtime poller already gives each goroutine (parking on epoll, no thread per
// connection); netpoll's zero-copy reader would sit under crypto/tls, which copies records
// into its own buffers anyway, so it would add a second poller without removing a copy.

// Tunables of the stream path.
const (
	streamReadBuf  = 16 << 10 // a TLS record's plaintext is at most 16 KiB (RFC 8446 5.1)
	streamCoalesce = 16 << 10 // two writes up to this size go out as one (one TLS record)
	writeTimeout   = 30 * time.Second
)

// streamConns numbers the stream path's connections; the number picks a connection's metrics
// shard (proxy.ExchangePool.Loop), which spreads the goroutines over the shards.
var streamConns atomic.Uint64

// streamNow is the stream path's clock: the loops' own (engine.Nanotime), so limits and
// balancer state shared by every listener compare exactly.
func streamNow() int64 { return engine.Nanotime() }

// errUpstreamNeedsTLS answers a loop session routed to a TLS upstream (see driver.go).
var errUpstreamNeedsTLS = errors.New("gateway: upstream needs TLS: use a TLS listener")

var readBufs = sync.Pool{New: func() any { b := make([]byte, streamReadBuf); return &b }}

// streamDriver owns the stream connections of the TLS listeners and their upstream pools.
type streamDriver struct {
	cfg      *atomic.Pointer[proxy.Snapshot]
	open     *atomic.Int64 // the gateway's client connections (http.max_connections); may be nil
	proto    string
	draining atomic.Bool
	n        atomic.Int64

	mu    sync.Mutex
	conns map[*streamConn]struct{}
	pools map[int]*streamPool // by proxy.Target.ID
	stop  chan struct{}
	wg    sync.WaitGroup
}

func newStreamDriver(cfg *atomic.Pointer[proxy.Snapshot]) *streamDriver {
	d := &streamDriver{cfg: cfg, proto: "https", conns: map[*streamConn]struct{}{}, pools: map[int]*streamPool{}, stop: make(chan struct{})}
	d.wg.Add(1)
	go d.sweepLoop()
	return d
}

// sweepLoop closes pooled upstream connections idle for too long, and idle client
// connections while draining.
func (d *streamDriver) sweepLoop() {
	defer d.wg.Done()
	tk := time.NewTicker(250 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-tk.C:
		}
		draining := d.draining.Load()
		d.mu.Lock()
		pools := make([]*streamPool, 0, len(d.pools))
		for _, p := range d.pools {
			pools = append(pools, p)
		}
		var conns []*streamConn
		if draining {
			for c := range d.conns {
				conns = append(conns, c)
			}
		}
		d.mu.Unlock()
		now := time.Now()
		for _, p := range pools {
			p.sweep(now, draining)
		}
		for _, c := range conns {
			c.mu.Lock()
			if !c.closed && c.s.Idle() {
				c.closeLocked()
			}
			c.mu.Unlock()
		}
	}
}

// close stops the sweeper and closes every connection (the shutdown deadline passed).
func (d *streamDriver) close() {
	d.mu.Lock()
	select {
	case <-d.stop:
	default:
		close(d.stop)
	}
	conns := make([]*streamConn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	d.mu.Unlock()
	for _, c := range conns {
		c.mu.Lock()
		c.closeLocked()
		c.mu.Unlock()
	}
	d.wg.Wait()
}

// serve runs one handshaken connection until it closes. fields go upstream with every request
// (the client certificate subject).
func (d *streamDriver) serve(c net.Conn, fields []http1.Field) {
	if !admitConn(d.open, d.cfg.Load()) {
		_, _ = c.Write(http1.AppendErrorResponse(nil, 503, "too many connections", true))
		_ = c.Close()
		return
	}
	var peer netip.Addr
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer, _ = netip.AddrFromSlice(ta.IP)
	}
	d.run(c, nil, func(sc *streamConn) {
		sc.s = proxy.NewSession(sc, d.cfg, &sc.xpool, peer, d.proto)
		sc.s.SetConnFields(fields)
	})
}

// adopt takes over a plaintext connection from an event loop in the middle of an exchange:
// its route's upstream speaks TLS, which the loops do not. s is the connection's session,
// waiting for a connection to t; pending are the inbound bytes the loop had buffered. The
// connection stays on this path until it closes. The caller has counted it in d.open.
func (d *streamDriver) adopt(c net.Conn, pending []byte, s *proxy.Session, t *proxy.Target, fresh bool) {
	go d.run(c, pending, func(sc *streamConn) {
		sc.s = s
		s.Rebind(sc, &sc.xpool)
		sc.UpstreamAcquire(t, fresh)
	})
}

// run serves one connection until it closes: start sets up its session under the lock.
func (d *streamDriver) run(c net.Conn, pending []byte, start func(sc *streamConn)) {
	if d.open != nil {
		defer d.open.Add(-1)
	}
	bp := readBufs.Get().(*[]byte)
	sc := &streamConn{d: d, c: c, in: (*bp)[:cap(*bp)], xpool: proxy.ExchangePool{Max: 1, Loop: int(streamConns.Add(1))}}
	sc.cond.L = &sc.mu
	sc.flushClientFn = sc.flushClient
	for len(sc.in) < len(pending)+streamReadBuf/2 {
		sc.in = make([]byte, 2*len(sc.in))
	}
	sc.w = copy(sc.in, pending)
	sc.timer = time.AfterFunc(time.Hour, sc.onTimer)
	sc.timer.Stop()
	d.mu.Lock()
	d.conns[sc] = struct{}{}
	d.mu.Unlock()
	d.n.Add(1)

	sc.mu.Lock()
	start(sc)
	sc.after()
	sc.mu.Unlock()
	sc.readLoop()

	sc.timer.Stop()
	d.mu.Lock()
	delete(d.conns, sc)
	d.mu.Unlock()
	d.n.Add(-1)
	if len(sc.in) == streamReadBuf {
		*bp = sc.in
		readBufs.Put(bp)
	}
}

// streamConn is a client connection on the stream path: the proxy.IO of its session.
type streamConn struct {
	d  *streamDriver
	c  net.Conn
	s  *proxy.Session
	mu sync.Mutex
	// in holds inbound bytes in[r:w]. The reader fills in[w:] without the lock (nobody else
	// touches bytes past w) and moves or grows the buffer only under it.
	in   []byte
	r, w int
	cq   outQueue // to the client
	// flushClientFn is sc.flushClient, bound once.
	flushClientFn func()
	paused        bool
	cond          sync.Cond
	// xpool keeps this connection's exchange between requests: the loops share a pool per
	// loop, but stream connections run on many goroutines, and ExchangePool has no lock.
	xpool  proxy.ExchangePool
	up     *streamUp
	acq    uint32
	timer  *time.Timer
	armed  int64 // deadline the timer fires at; 0 when stopped or fired
	closed bool
}

func (sc *streamConn) readLoop() {
	for {
		sc.mu.Lock()
		for sc.paused && !sc.closed {
			sc.cond.Wait()
		}
		if sc.closed {
			sc.mu.Unlock()
			return
		}
		sc.makeRoom()
		buf := sc.in[sc.w:]
		sc.mu.Unlock()

		n, err := sc.c.Read(buf)

		sc.mu.Lock()
		if sc.closed {
			sc.mu.Unlock()
			return
		}
		if n > 0 {
			sc.w += n
			sc.s.OnClientData()
		}
		if err != nil && !sc.s.Closed() {
			sc.s.OnClientClosed()
		}
		sc.after()
		done := sc.closed
		sc.mu.Unlock()
		if err != nil || done {
			return
		}
	}
}

// makeRoom compacts or grows the inbound buffer so a read has at least a record's worth of
// space. The session pauses reading at its inbound cap, which bounds the growth.
func (sc *streamConn) makeRoom() {
	if sc.r == sc.w {
		sc.r, sc.w = 0, 0
	}
	if len(sc.in)-sc.w >= streamReadBuf/2 {
		return
	}
	if sc.r > 0 {
		copy(sc.in, sc.in[sc.r:sc.w])
		sc.w -= sc.r
		sc.r = 0
	}
	if len(sc.in)-sc.w < streamReadBuf/2 {
		grown := make([]byte, 2*len(sc.in))
		copy(grown, sc.in[:sc.w])
		sc.in = grown
	}
}

// after runs after every session event, under the lock: it closes a finished session and
// arms the timer for the session's deadline.
func (sc *streamConn) after() {
	if sc.closed {
		return
	}
	if sc.s.Closed() || (sc.d.draining.Load() && sc.s.Idle() && sc.cq.idle()) {
		sc.closeLocked()
		return
	}
	// The timer is only ever moved earlier: a deadline that moved later (the next request's
	// timeout, the idle timeout) lets the armed timer fire early, and onTimer re-arms it. That
	// keeps timer resets off the per-request path, where each exchange moves the deadline.
	dl := sc.s.Deadline()
	if dl == 0 || (sc.armed > 0 && dl >= sc.armed) {
		return
	}
	sc.armed = dl
	sc.timer.Reset(time.Duration(max(dl-streamNow(), 0)))
}

func (sc *streamConn) onTimer() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.closed {
		return
	}
	sc.armed = 0
	sc.s.OnTimer(streamNow()) // a no-op before the deadline; after() then re-arms
	sc.after()
}

func (sc *streamConn) closeLocked() {
	if sc.closed {
		return
	}
	sc.closed = true
	sc.cq.err = net.ErrClosed // a flush in progress stops; queued bytes are dropped
	if !sc.s.Closed() {
		sc.s.OnClientClosed()
	}
	sc.s.Release()
	sc.timer.Stop()
	if u := sc.up; u != nil {
		sc.up = nil
		u.owner.Store(nil)
		u.close()
	}
	_ = sc.c.Close()
	sc.cond.Broadcast()
}

// --- proxy.IO -----------------------------------------------------------------------------

func (sc *streamConn) ClientPeek() []byte  { return sc.in[sc.r:sc.w] }
func (sc *streamConn) ClientDiscard(n int) { sc.r += n }
func (sc *streamConn) ClientOutbound() int { return sc.cq.outbound() }
func (sc *streamConn) Now() int64          { return streamNow() }

// WakeAt needs nothing here: after() arms the connection's timer for the session's deadline
// after every event, to the nanosecond.
func (sc *streamConn) WakeAt(int64) {}

func (sc *streamConn) ClientWrite(a, b []byte) error {
	start, err := sc.cq.queue(a, b)
	if start {
		go sc.flushClientFn() // a func value made once: a method call here would allocate
	}
	return err
}

// flushClient writes the client queue until it is empty, then tells the session.
func (sc *streamConn) flushClient() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	err := sc.cq.drain(&sc.mu, sc.c)
	if sc.closed {
		return
	}
	switch {
	case err != nil:
		if !sc.s.Closed() {
			sc.s.OnClientClosed() // the client is unreachable
		}
	case sc.cq.fin:
		sc.cq.fin = false
		sc.closeWrite()
	default:
		sc.s.OnClientWritable()
	}
	sc.after()
}

func (sc *streamConn) ClientPause(p bool) {
	sc.paused = p
	if !p {
		sc.cond.Broadcast()
	}
}

// ClientCloseWrite sends close_notify and then a FIN: crypto/tls's CloseWrite leaves the TCP
// side open, and a client waiting for the end of a close-delimited answer needs the FIN.
func (sc *streamConn) ClientCloseWrite() {
	if !sc.cq.idle() {
		sc.cq.fin = true // after the queued answer
		return
	}
	sc.closeWrite()
}

func (sc *streamConn) closeWrite() {
	_ = sc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if tc, ok := sc.c.(*tls.Conn); ok {
		_ = tc.CloseWrite()
		if cw, ok := tc.NetConn().(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		return
	}
	if cw, ok := sc.c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func (sc *streamConn) ClientClose() { sc.closeLocked() }

// Post runs fn under the connection's lock (proxy.Poster: a request parked by a queueing
// filter is resumed this way). It runs on a new goroutine: the caller may hold another
// connection's lock, and taking two connections' locks in either order could deadlock.
func (sc *streamConn) Post(fn func()) error {
	go func() {
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if sc.closed {
			return
		}
		fn()
		sc.after()
	}()
	return nil
}

// outQueue is one direction's outbound bytes. The session's writes append to buf under the
// connection's mutex; one flush goroutine at a time writes them without it, swapping buf and
// spare so that the session can queue more meanwhile. A request head and its body, or a
// response head and its first bytes, usually leave in one write (one TLS record, one syscall).
type outQueue struct {
	buf      []byte
	spare    []byte // what the flush goroutine is writing
	inflight int
	flushing bool
	fin      bool  // close the write side once drained
	err      error // the first write error; later writes fail with it
	wdl      time.Time
}

func (q *outQueue) outbound() int { return len(q.buf) + q.inflight }
func (q *outQueue) idle() bool    { return !q.flushing && len(q.buf) == 0 }

// queue appends a and b; start reports that a flush goroutine must be started.
func (q *outQueue) queue(a, b []byte) (start bool, err error) {
	if q.err != nil {
		return false, q.err
	}
	q.buf = append(append(q.buf, a...), b...)
	if q.flushing || len(q.buf) == 0 {
		return false, nil
	}
	q.flushing = true
	return true, nil
}

// drain writes until the queue is empty or a write fails; mu is held on entry and on return,
// released during each write. The write deadline is pushed forward only when half of
// writeTimeout has passed, so a busy connection does not reset a runtime timer per write.
func (q *outQueue) drain(mu *sync.Mutex, c net.Conn) error {
	for len(q.buf) > 0 && q.err == nil {
		data := q.buf
		q.buf, q.spare = q.spare[:0], data
		q.inflight = len(data)
		mu.Unlock()
		if now := time.Now(); q.wdl.Sub(now) < writeTimeout/2 {
			q.wdl = now.Add(writeTimeout)
			_ = c.SetWriteDeadline(q.wdl)
		}
		_, err := c.Write(data)
		mu.Lock()
		q.inflight = 0
		if err != nil && q.err == nil {
			q.err = err
		}
	}
	q.flushing = false
	return q.err
}

func (sc *streamConn) UpstreamPeek() []byte {
	if sc.up == nil {
		return nil
	}
	return sc.up.in[sc.up.r:]
}

func (sc *streamConn) UpstreamDiscard(n int) {
	if u := sc.up; u != nil {
		u.r += n
		if u.r == len(u.in) {
			u.in, u.r = u.in[:0], 0
		}
	}
}

func (sc *streamConn) UpstreamWrite(a, b []byte) error {
	u := sc.up
	if u == nil || u.closed.Load() {
		return net.ErrClosed
	}
	start, err := u.q.queue(a, b)
	if start {
		go u.flushFn()
	}
	return err
}

// flush writes u's queue until it is empty, then tells its owner's session. u cannot change
// owners meanwhile: a connection is pooled for reuse only with an empty queue.
func (u *streamUp) flush() {
	sc := u.owner.Load()
	if sc == nil {
		u.close()
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.up != u {
		u.close() // released (and so closed) before the flush began
		return
	}
	if err := u.q.drain(&sc.mu, u.c); err != nil {
		u.close() // its reader reports the end to the session
		return
	}
	if !sc.closed && sc.up == u {
		sc.s.OnUpstreamWritable()
		sc.after()
	}
}

func (sc *streamConn) UpstreamOutbound() int {
	if sc.up == nil {
		return 0
	}
	return sc.up.q.outbound()
}

func (sc *streamConn) UpstreamPause(p bool) {
	if u := sc.up; u != nil {
		u.setPaused(p)
	}
}

// setPaused records the session's wish; lifting a pause wakes the reader if it waits.
func (u *streamUp) setPaused(p bool) {
	u.paused = p
	if !p {
		select {
		case u.resume <- struct{}{}:
		default:
		}
	}
}

func (sc *streamConn) UpstreamRelease(reuse bool) {
	u := sc.up
	if u == nil {
		return
	}
	sc.up = nil
	u.owner.Store(nil)
	u.setPaused(false) // a pooled connection's reader must read (the liveness check)
	if reuse && len(u.in) == u.r && u.q.idle() && u.q.err == nil && u.pool.put(u, time.Now()) {
		return
	}
	u.close()
}

func (sc *streamConn) UpstreamAcquire(t *proxy.Target, fresh bool) {
	p := sc.d.pool(t)
	sc.acq++
	if !fresh {
		if u := p.get(time.Now()); u != nil {
			sc.up = u
			u.owner.Store(sc)
			sc.s.OnUpstreamReady(true)
			return
		}
	}
	if !p.reserve() {
		sc.s.OnUpstreamFailed(proxy.ErrPoolFull)
		return
	}
	gen := sc.acq
	go func() {
		u, err := p.dial()
		sc.mu.Lock()
		defer sc.mu.Unlock()
		if err != nil {
			if !sc.closed && sc.acq == gen {
				sc.s.OnUpstreamFailed(err)
				sc.after()
			}
			return
		}
		if sc.closed || sc.acq != gen || sc.up != nil {
			// Nobody waits for it any more (client gone, or a newer request): keep it.
			go u.readLoop()
			if !p.put(u, time.Now()) {
				u.close()
			}
			return
		}
		sc.up = u
		u.owner.Store(sc)
		go u.readLoop()
		sc.s.OnUpstreamReady(false)
		sc.after()
	}()
}

// streamUp is an upstream connection of the stream path: owned by one client connection (its
// bytes then guarded by that connection's mutex) or idle in its pool.
type streamUp struct {
	c         net.Conn
	pool      *streamPool
	addr      string // dialed; the pool's ID may name another address by the time it comes back
	owner     atomic.Pointer[streamConn]
	in        []byte // unconsumed bytes are in[r:]; guarded by the owner's mutex
	r         int
	q         outQueue // guarded by the owner's mutex
	flushFn   func()   // u.flush, bound once
	paused    bool
	resume    chan struct{}
	closed    atomic.Bool
	closeOnce sync.Once
	idleSince time.Time
}

// readLoop hands what the upstream sends to its owner's session. Bytes or a close while the
// connection sits idle in the pool make it unusable (the liveness check): it is closed.
func (u *streamUp) readLoop() {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	buf := *bp
	for {
		n, err := u.c.Read(buf)
		for {
			o := u.owner.Load()
			if o == nil {
				u.close()
				return
			}
			o.mu.Lock()
			if u.owner.Load() != o || o.up != u {
				o.mu.Unlock()
				continue
			}
			if n > 0 {
				if u.r > 0 && u.r == len(u.in) {
					u.in, u.r = u.in[:0], 0
				}
				u.in = append(u.in, buf[:n]...)
				o.s.OnUpstreamData()
			}
			if err != nil && o.up == u {
				u.closed.Store(true)
				o.s.OnUpstreamClosed()
				if o.up == u {
					o.up = nil
					u.owner.Store(nil)
				}
			}
			o.after()
			paused := u.paused && o.up == u
			o.mu.Unlock()
			if err != nil {
				u.close()
				return
			}
			if paused {
				// Until the session consumed enough (UpstreamPause(false)), releases the
				// connection or it is closed; a stalled exchange is the session's read timeout.
				<-u.resume
			}
			break
		}
	}
}

func (u *streamUp) close() {
	u.closeOnce.Do(func() {
		u.closed.Store(true)
		_ = u.c.Close()
		u.pool.release()
		select {
		case u.resume <- struct{}{}: // a paused reader ends now
		default:
		}
	})
}

// streamPool holds idle connections to one target for the stream path; mutex-protected since
// any connection goroutine may use it. LIFO, like the loop pools.
type streamPool struct {
	mu          sync.Mutex
	target      *proxy.Target
	idle        []*streamUp
	total       int
	maxIdle     int
	maxConns    int
	idleTimeout time.Duration
	connect     time.Duration
	tls         *tls.Config // the upstream's, with ServerName filled in for this target
}

func (d *streamDriver) pool(t *proxy.Target) *streamPool {
	d.mu.Lock()
	p := d.pools[t.ID]
	if p == nil {
		p = &streamPool{}
		d.pools[t.ID] = p
	}
	d.mu.Unlock()
	p.configure(t)
	return p
}

// configure takes the limits and TLS settings of the target's current upstream (a reload may
// change them).
func (p *streamPool) configure(t *proxy.Target) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.target == t {
		return
	}
	p.target = t
	u := t.Upstream
	p.maxIdle, p.maxConns, p.idleTimeout, p.connect = u.MaxIdle, u.MaxConns, u.IdleTimeout, u.ConnectTimeout
	if p.connect <= 0 {
		p.connect = 5 * time.Second
	}
	p.tls = nil
	if u.TLS != nil {
		c := u.TLS
		if c.ServerName == "" {
			c = c.Clone() // shares the session cache: reconnects still resume
			if host, _, err := net.SplitHostPort(t.Addr); err == nil {
				c.ServerName = host
			}
		}
		p.tls = c
	}
	// Idle connections were set up for the old settings; let them go.
	for _, u := range p.idle {
		go u.close()
	}
	p.idle = p.idle[:0]
}

func (p *streamPool) get(now time.Time) *streamUp {
	p.mu.Lock()
	defer p.mu.Unlock()
	for n := len(p.idle); n > 0; n = len(p.idle) {
		u := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if u.closed.Load() {
			continue
		}
		if p.idleTimeout > 0 && now.Sub(u.idleSince) >= p.idleTimeout {
			go u.close()
			continue
		}
		return u
	}
	return nil
}

func (p *streamPool) put(u *streamUp, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= p.maxIdle || u.closed.Load() || u.pool != p || p.target == nil || u.addr != p.target.Addr {
		return false
	}
	u.idleSince = now
	p.idle = append(p.idle, u)
	return true
}

// reserve counts a connection about to be dialed against max_connections.
func (p *streamPool) reserve() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.maxConns > 0 && p.total >= p.maxConns {
		return false
	}
	p.total++
	return true
}

func (p *streamPool) release() {
	p.mu.Lock()
	p.total--
	p.mu.Unlock()
}

// dial connects (and handshakes, for a TLS upstream) within the connect timeout. A failed
// certificate verification is an error like a refused connection: the session answers 502.
func (p *streamPool) dial() (*streamUp, error) {
	p.mu.Lock()
	addr, timeout, tc := p.target.Addr, p.connect, p.tls
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, "tcp", addr)
	if err == nil && tc != nil {
		tcn := tls.Client(c, tc)
		if err = tcn.HandshakeContext(ctx); err != nil {
			c.Close()
		} else {
			c = tcn
		}
	}
	if err != nil {
		p.release()
		if errors.Is(err, context.DeadlineExceeded) {
			err = proxy.ErrConnectTimeout
		}
		return nil, err
	}
	u := &streamUp{c: c, pool: p, addr: addr, resume: make(chan struct{}, 1)}
	u.flushFn = u.flush
	return u, nil
}

func (p *streamPool) sweep(now time.Time, draining bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := 0
	for _, u := range p.idle {
		if u.closed.Load() {
			continue
		}
		if draining || (p.idleTimeout > 0 && now.Sub(u.idleSince) >= p.idleTimeout) {
			go u.close()
			continue
		}
		p.idle[k] = u
		k++
	}
	clear(p.idle[k:])
	p.idle = p.idle[:k]
}
