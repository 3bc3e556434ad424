// Package gnet runs the engine on gnet v2 event loops: the portable backend (epoll on Linux,
// kqueue on the BSDs and macOS).
//
// gnet cannot pause reading a socket nor report that a queued write drained, so the first
// PauseRead moves a connection to pump mode (pump.go: goroutines that read only while the loop
// wants bytes, real TCP backpressure), and OnWritable is derived from OnTick by polling the few
// connections that went above the high watermark.
package gnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	gn "github.com/panjf2000/gnet/v2"

	"github.com/sluice-gw/sluice/engine"
)

// Start listens on addrs ("host:port", TCP) and runs the loops until Stop. It returns once the
// listeners are bound and the loops are running.
func Start(h engine.Handler, addrs []string, o engine.Options) (engine.Server, error) {
	if len(addrs) > 0 {
		return start(h, addrs, o, false)
	}
	// No listener of its own (a gateway whose listeners all speak TLS): gnet still needs one
	// to run and to discover its loops through, so it gets a private one on a loopback port
	// that serves nobody; a port taken between the reservation and the bind is tried again.
	var err error
	for i := 0; i < 3; i++ {
		var a *net.TCPAddr
		if a, err = reservePort(net.IPv4(127, 0, 0, 1)); err != nil {
			break
		}
		var srv engine.Server
		if srv, err = start(h, []string{a.String()}, o, true); err == nil {
			return srv, nil
		}
	}
	return nil, err
}

func start(h engine.Handler, addrs []string, o engine.Options, private bool) (engine.Server, error) {
	o = engine.WithDefaults(o)
	s := &server{h: h, opts: o, booted: make(chan struct{}), done: make(chan struct{}), private: private}
	protoAddrs := make([]string, len(addrs))
	for i, a := range addrs {
		protoAddrs[i] = "tcp://" + a
	}
	loops := o.Loops
	opts := []gn.Option{
		gn.WithMulticore(true),
		gn.WithReusePort(true),
		gn.WithTCPNoDelay(gn.TCPNoDelay),
		gn.WithTicker(true),
		gn.WithReadBufferCap(o.ReadBufferSize),
		gn.WithLoadBalancing(gn.LeastConnections),
		gn.WithLogger(quietLogger{}),
	}
	if loops > 0 {
		opts = append(opts, gn.WithNumEventLoop(loops))
	}
	go func() {
		s.runErr = gn.Rotate(s, protoAddrs, opts...)
		close(s.done)
	}()
	select {
	case <-s.booted:
	case <-s.done:
		if s.runErr == nil {
			s.runErr = errors.New("engine/gnet: stopped before boot")
		}
		return nil, s.runErr
	}
	for _, a := range addrs {
		// gnet does not report the bound address of a ":0" listener; resolve what we can.
		if ta, err := net.ResolveTCPAddr("tcp", a); err == nil {
			s.addrs = append(s.addrs, ta)
		}
	}
	if loops <= 0 {
		loops = runtime.NumCPU()
	}
	if err := s.discoverLoops(loops); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// discoverLoops makes every loop known before Start returns. gnet offers no list of its loops,
// so we connect to ourselves until every loop has accepted one, note the loop each lands on,
// and close them; the handler never sees them.
func (s *server) discoverLoops(n int) error {
	if len(s.addrs) == 0 {
		return errors.New("engine/gnet: no listener address to discover loops through")
	}
	target := *s.addrs[0].(*net.TCPAddr)
	if target.IP == nil || target.IP.IsUnspecified() {
		target.IP = net.IPv4(127, 0, 0, 1)
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	// With SO_REUSEPORT the kernel, not gnet, spreads connections over the loops' listeners by
	// a hash of the addresses, so keep connecting from new ports until every loop was hit.
	for i := 0; ; i++ {
		s.mu.Lock()
		found := len(s.loops)
		s.mu.Unlock()
		if found >= n {
			break
		}
		if i >= 64*n {
			return fmt.Errorf("engine/gnet: found %d of %d loops", found, n)
		}
		// The local address must be known before the connection can be accepted, so that
		// OnOpen recognises it: reserve a port, then dial from it.
		local, err := reservePort(target.IP)
		if err != nil {
			return fmt.Errorf("engine/gnet: discovering loops: %w", err)
		}
		s.mu.Lock()
		if s.bootstrap == nil {
			s.bootstrap = make(map[string]bool)
		}
		s.bootstrap[local.String()] = true
		s.mu.Unlock()
		d := net.Dialer{LocalAddr: local, Deadline: deadline}
		c, err := d.Dial("tcp", target.String())
		if err != nil {
			return fmt.Errorf("engine/gnet: discovering loops: %w", err)
		}
		conns = append(conns, c)
		// Wait for this one to be accepted so the balancer counts it before the next.
		for {
			s.mu.Lock()
			seen := len(s.bootSeen)
			s.mu.Unlock()
			if seen > i {
				break
			}
			if time.Now().After(deadline) {
				return errors.New("engine/gnet: discovering loops: timed out")
			}
			time.Sleep(time.Millisecond)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bootstrap = nil
	return nil
}

type server struct {
	gn.BuiltinEventEngine
	h      engine.Handler
	opts   engine.Options
	eng    gn.Engine
	booted chan struct{}
	done   chan struct{}
	runErr error
	addrs  []net.Addr
	// private: the only listener is the loopback one Start made for loop discovery; every
	// other connection to it is closed at once and Addrs lists nothing.
	private bool

	mu        sync.Mutex
	loops     []*loop // learnt at start (discoverLoops); gnet does not list its loops
	byEL      map[gn.EventLoop]*loop
	bootstrap map[string]bool // local addresses of discovery connections
	fullConns atomic.Int64    // connections polled for OnWritable, all loops
	bootSeen  []string
}

// reservePort finds a free local port on ip for a discovery connection.
func reservePort(ip net.IP) (*net.TCPAddr, error) {
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: ip})
	if err != nil {
		return nil, err
	}
	a := ln.Addr().(*net.TCPAddr)
	return a, ln.Close()
}

// isBootstrap reports (and records) a discovery connection.
func (s *server) isBootstrap(remote net.Addr) bool {
	if remote == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.bootstrap[remote.String()] {
		return false
	}
	s.bootSeen = append(s.bootSeen, remote.String())
	return true
}

func (s *server) OnBoot(eng gn.Engine) gn.Action {
	s.eng = eng
	close(s.booted)
	return gn.None
}

// loopOf maps a gnet loop to ours. The map is consulted once per connection, at open.
func (s *server) loopOf(el gn.EventLoop) *loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.byEL[el]; ok {
		return l
	}
	if s.byEL == nil {
		s.byEL = make(map[gn.EventLoop]*loop)
	}
	l := &loop{s: s, el: el, idx: len(s.loops)}
	l.now.Store(engine.Nanotime())
	s.loops = append(s.loops, l)
	s.byEL[el] = l
	return l
}

// dialRequest rides in the Enroll context so that OnOpen can tell a dialed connection from an
// accepted one and hand it to the right callback.
type dialRequest struct {
	l  *loop
	cb func(engine.Conn, error)
}

func (s *server) OnOpen(gc gn.Conn) ([]byte, gn.Action) {
	if _, dialed := gc.Context().(*dialRequest); !dialed && s.isBootstrap(gc.RemoteAddr()) {
		s.loopOf(gc.EventLoop())
		return nil, gn.None // the dialing side closes it
	}
	l := s.loopOf(gc.EventLoop())
	if _, dialed := gc.Context().(*dialRequest); !dialed && s.private {
		return nil, gn.Close
	}
	l.now.Store(engine.Nanotime())
	c := &conn{gc: gc, l: l, remote: gc.RemoteAddr()}
	l.enter()
	defer l.leave()
	if dr, ok := gc.Context().(*dialRequest); ok {
		gc.SetContext(c)
		dr.cb(c, nil)
		return nil, gn.None
	}
	gc.SetContext(c)
	s.h.OnOpen(c)
	return nil, gn.None
}

func (s *server) OnTraffic(gc gn.Conn) gn.Action {
	c, ok := gc.Context().(*conn)
	if !ok || c.closed {
		return gn.None
	}
	l := c.l
	l.now.Store(engine.Nanotime())
	l.enter()
	s.h.OnData(c)
	l.leave()
	return gn.None
}

func (s *server) OnClose(gc gn.Conn, err error) gn.Action {
	c, ok := gc.Context().(*conn)
	if !ok || c.detached || c.notified {
		return gn.None
	}
	c.closed = true
	c.notified = true
	if l := c.l; l.depth > 0 && !c.localClose {
		// gnet closes a connection whose write failed from inside that Write: tell the handler
		// after its current callback, never in the middle of it (as the epoll backend does).
		// gnet releases its buffers when this returns: keep what the handler may still Peek.
		c.tail = append([]byte(nil), c.Peek()...)
		c.useTail = true
		l.deferred = append(l.deferred, closeNote{c, err})
		return gn.None
	}
	s.h.OnClose(c, err)
	return gn.None
}

type closeNote struct {
	c   *conn
	err error
}

// enter and leave bracket every call into the handler; closes that happen inside are reported
// when the outermost call returns.
func (l *loop) enter() { l.depth++ }

func (l *loop) leave() {
	if l.depth > 1 {
		l.depth--
		return
	}
	for len(l.deferred) > 0 {
		n := l.deferred[0]
		copy(l.deferred, l.deferred[1:])
		l.deferred[len(l.deferred)-1] = closeNote{}
		l.deferred = l.deferred[:len(l.deferred)-1]
		l.s.h.OnClose(n.c, n.err)
	}
	l.depth--
}

func (s *server) OnTick() (time.Duration, gn.Action) {
	s.mu.Lock()
	loops := s.loops
	s.mu.Unlock()
	for _, l := range loops {
		l := l
		_ = l.el.Execute(context.Background(), gn.RunnableFunc(func(context.Context) error {
			l.tick()
			return nil
		}))
	}
	// gnet does not report that a queue drained, so while any connection is above the high
	// watermark the loops poll every millisecond; otherwise only the handler's tick runs.
	if s.fullConns.Load() > 0 {
		return time.Millisecond, gn.None
	}
	return s.opts.TickInterval, gn.None
}

func (s *server) Loops() []engine.Loop {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]engine.Loop, len(s.loops))
	for i, l := range s.loops {
		out[i] = l
	}
	return out
}

func (s *server) Addrs() []net.Addr {
	if s.private {
		return nil
	}
	return s.addrs
}

// StopAccepting is not offered by gnet v2 without stopping the engine: the zero-downtime path
// uses the epoll backend or stops the whole engine after draining.
func (s *server) StopAccepting() error { return engine.ErrNotSupported }

func (s *server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.eng.Stop(ctx)
	<-s.done
	// Pumped connections left gnet: close them now that no loop runs.
	s.mu.Lock()
	loops := s.loops
	s.mu.Unlock()
	for _, l := range loops {
		for len(l.pumps) > 0 {
			l.pumps[len(l.pumps)-1].pumpClose(engine.ErrShutdown)
		}
	}
	return err
}

func (s *server) Wait() error {
	<-s.done
	return s.runErr
}

type loop struct {
	s          *server
	el         gn.EventLoop
	idx        int
	now        atomic.Int64
	full       []*conn // connections above the high watermark, polled on tick for OnWritable
	pendingFIN []*conn // half-closed connections whose queued bytes are still going out
	depth      int     // nesting of handler calls in progress
	deferred   []closeNote
	pumps      []*conn // connections in pump mode, closed by Stop
	lastTick   int64   // when the handler's OnTick last ran
}

func (l *loop) Index() int { return l.idx }
func (l *loop) Now() int64 { return l.now.Load() }
func (l *loop) tick() {
	now := engine.Nanotime()
	l.now.Store(now)
	l.enter()
	defer l.leave()
	kept := l.full[:0]
	for _, c := range l.full {
		switch {
		case c.closed || c.pm != nil: // pump mode reports OnWritable itself
			c.full = false
		case c.gc.OutboundBuffered() < l.s.opts.LowWatermark:
			c.full = false
			l.s.h.OnWritable(c)
		default:
			kept = append(kept, c)
		}
	}
	clear(l.full[len(kept):])
	l.s.fullConns.Add(int64(len(kept) - len(l.full)))
	l.full = kept
	waiting := l.pendingFIN[:0]
	for _, c := range l.pendingFIN {
		switch {
		case c.closed || c.pm != nil:
		case c.gc.OutboundBuffered() == 0:
			_ = shutdownWrite(c.gc.Fd())
		default:
			waiting = append(waiting, c)
		}
	}
	clear(l.pendingFIN[len(waiting):])
	l.pendingFIN = waiting
	if now-l.lastTick >= int64(l.s.opts.TickInterval) {
		l.lastTick = now
		l.s.h.OnTick(l, now)
	}
}

func (l *loop) Execute(fn func()) error {
	return l.el.Execute(context.Background(), gn.RunnableFunc(func(context.Context) error {
		l.now.Store(engine.Nanotime())
		l.enter()
		fn()
		l.leave()
		return nil
	}))
}

func (l *loop) Dial(addr string, timeout time.Duration, cb func(engine.Conn, error)) error {
	go func() {
		nc, err := net.DialTimeout("tcp", addr, timeout)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				err = fmt.Errorf("%w: %s", engine.ErrDialTimeout, addr)
			}
			_ = l.Execute(func() { cb(nil, err) })
			return
		}
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		dr := &dialRequest{l: l, cb: cb}
		// Enroll dups the socket onto the loop and closes nc; OnOpen then sees dr.
		if _, err := l.el.Enroll(gn.NewContext(context.Background(), dr), nc); err != nil {
			_ = nc.Close()
			_ = l.Execute(func() { cb(nil, err) })
		}
	}()
	return nil
}

type conn struct {
	gc         gn.Conn
	l          *loop
	ctx        any
	remote     net.Addr
	iov        [2][]byte
	full       bool
	wclosed    bool   // CloseWrite was called
	localClose bool   // Close was called: OnClose is reported at once
	useTail    bool   // gnet closed it inside a Write: Peek serves tail until OnClose is told
	tail       []byte // the unconsumed inbound bytes at that moment
	closed     bool
	notified   bool
	detached   bool
	pm         *pump  // pump mode (pump.go): the socket left gnet at the first PauseRead
	pbuf       []byte // pump mode: inbound bytes delivered and not yet discarded
	pbufArr    []byte // pump mode: the array pbuf lives in
}

func (c *conn) Peek() []byte {
	if c.pm != nil {
		return c.pbuf
	}
	if c.useTail {
		return c.tail
	}
	b, _ := c.gc.Peek(-1)
	return b
}

// Discard guards n <= 0: gnet treats it as "discard everything".
func (c *conn) Discard(n int) {
	switch {
	case n <= 0:
	case c.pm != nil:
		n = min(n, len(c.pbuf))
		c.pbuf = c.pbuf[n:]
		c.pm.consumed(n)
	case c.useTail:
		c.tail = c.tail[min(n, len(c.tail)):]
	default:
		_, _ = c.gc.Discard(n)
	}
}

func (c *conn) Write(p []byte) error {
	if c.closed || c.wclosed {
		return engine.ErrClosed
	}
	if c.pm != nil {
		return c.pumpWrite(p, nil)
	}
	_, err := c.gc.Write(p)
	c.noteBacklog()
	return err
}

// noteBacklog starts polling a connection whose queue went above the high watermark, whatever
// event the write happened in, so that OnWritable follows when it drains.
func (c *conn) noteBacklog() {
	if !c.full && !c.closed && c.gc.OutboundBuffered() > c.l.s.opts.HighWatermark {
		c.full = true
		c.l.full = append(c.l.full, c)
		c.l.s.fullConns.Add(1)
	}
}

func (c *conn) Write2(a, b []byte) error {
	if c.closed || c.wclosed {
		return engine.ErrClosed
	}
	if c.pm != nil {
		return c.pumpWrite(a, b)
	}
	if len(b) == 0 {
		_, err := c.gc.Write(a)
		c.noteBacklog()
		return err
	}
	c.iov[0], c.iov[1] = a, b
	_, err := c.gc.Writev(c.iov[:])
	c.iov[0], c.iov[1] = nil, nil
	c.noteBacklog()
	return err
}

func (c *conn) OutboundBuffered() int {
	if c.pm != nil {
		return c.pm.backlog()
	}
	return c.gc.OutboundBuffered()
}

// PauseRead moves the connection to pump mode on its first pause (pump.go), where reading
// really stops.
func (c *conn) PauseRead(pause bool) error {
	if c.closed {
		return engine.ErrClosed
	}
	if c.pm == nil {
		if !pause {
			return nil
		}
		return c.enterPump()
	}
	c.pm.setPaused(pause)
	if !pause && len(c.pbuf) > 0 {
		// Bytes left buffered are offered again (engine.Conn contract).
		_ = c.l.Execute(func() {
			if !c.closed && len(c.pbuf) > 0 {
				c.l.s.h.OnData(c)
			}
		})
	}
	return nil
}
func (c *conn) Loop() engine.Loop    { return c.l }
func (c *conn) Context() any         { return c.ctx }
func (c *conn) SetContext(v any)     { c.ctx = v }
func (c *conn) RemoteAddr() net.Addr { return c.remote }
func (c *conn) Fd() int {
	if c.pm != nil {
		return -1
	}
	return c.gc.Fd()
}

// CloseWrite sends FIN once every queued byte is out: at once when nothing is queued, else
// from the loop's tick when gnet's outbound buffer has drained.
func (c *conn) CloseWrite() error {
	if c.closed {
		return engine.ErrClosed
	}
	if c.wclosed {
		return nil
	}
	c.wclosed = true
	if c.pm != nil {
		c.pumpCloseWrite()
		return nil
	}
	if err := c.gc.Flush(); err != nil {
		return err
	}
	if c.gc.OutboundBuffered() == 0 {
		return shutdownWrite(c.gc.Fd())
	}
	c.l.pendingFIN = append(c.l.pendingFIN, c)
	return nil
}
func (c *conn) String() string { return fmt.Sprintf("gnet-conn(fd=%d)", c.gc.Fd()) }
func (c *conn) Close() error {
	if c.closed {
		return nil
	}
	if c.pm != nil {
		c.pumpClose(nil)
		return nil
	}
	c.closed = true
	c.localClose = true
	// The loop-side close is synchronous; gn.Conn.Close would queue a task instead.
	return c.l.el.Close(c.gc)
}

func (c *conn) Detach() (net.Conn, []byte, error) {
	if c.closed {
		return nil, nil, engine.ErrClosed
	}
	if c.pm != nil {
		return nil, nil, fmt.Errorf("%w: detach of a paused gnet connection", engine.ErrNotSupported)
	}
	if err := c.gc.Flush(); err != nil {
		return nil, nil, err
	}
	if c.gc.OutboundBuffered() > 0 {
		// gnet would flush these after we leave; a blocking conn must own them instead.
		return nil, nil, fmt.Errorf("%w: gnet cannot hand over %d queued outbound bytes", engine.ErrNotSupported, c.gc.OutboundBuffered())
	}
	fd, err := c.gc.Dup()
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), "detached")
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return nil, nil, err
	}
	pending := append([]byte(nil), c.Peek()...)
	c.detached = true
	c.closed = true
	_ = c.l.el.Close(c.gc)
	return nc, pending, nil
}

// quietLogger keeps gnet's informational chatter out of the gateway's output; its errors still
// reach stderr.
type quietLogger struct{}

func (quietLogger) Debugf(string, ...any) {}
func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Warnf(string, ...any)  {}
func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "engine/gnet: "+format+"\n", args...)
}
func (quietLogger) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "engine/gnet: "+format+"\n", args...)
	os.Exit(1)
}
