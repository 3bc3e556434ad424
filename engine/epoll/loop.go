//go:build linux

package epoll

import (
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sluice-gw/sluice/engine"
)

const (
	// maxEvents is how many ready descriptors one epoll_wait returns at most.
	maxEvents = 256
	// acceptBatch bounds the accept4 calls per listener wake-up, so a connection storm on one
	// loop cannot starve the connections it already has.
	acceptBatch = 64
	// readBatch bounds the full-buffer reads per connection wake-up for the same reason; with
	// level-triggered epoll whatever is left is reported again on the next wait.
	readBatch = 8
	// listenerPad marks the epoll entries of the eventfd and the listeners; connections carry
	// a non-zero generation in the same field.
	listenerPad = 0
)

// nanotime is the engine's clock (engine.Nanotime), read once per wake-up.
func nanotime() int64 { return engine.Nanotime() }

// loop is one event loop: a goroutine, an epoll set, an eventfd for wake-ups, the loop's
// listeners and the connections it owns. Fields above mu are touched only by the loop
// goroutine (or before it starts).
type loop struct {
	idx  int
	srv  *server
	h    engine.Handler
	o    engine.Options
	epfd int
	evfd int

	events    [maxEvents]unix.EpollEvent
	buf       []byte  // the shared read buffer, o.ReadBufferSize bytes
	conns     []*conn // by file descriptor
	listeners []int   // -1 once closed; guarded by srv.mu for writes (see server.mu)
	dials     []*conn // connections still connecting, for the dial timeouts
	doomed    []*conn // connections whose write failed inside a callback, closed after it
	resumed   []*conn // connections resumed with bytes buffered, offered them after it
	gen       uint32  // last connection generation handed out
	nextTick  int64
	bufs      bufPool
	iov       [2]unix.Iovec
	wakeBuf   [8]byte
	running   []func() // the tasks being run, swapped with tasks
	acceptOff bool     // listeners taken out of the epoll set after EMFILE
	busy      bool     // the last wait returned events (for waitProbe only)
	lastYield int64    // loop clock at the last yieldIfDue

	now atomic.Int64 // cached clock, refreshed on every wake-up

	// Cross-goroutine state: the task queue and the wake-up protocol (see Execute).
	mu       sync.Mutex
	tasks    []func()
	ended    bool // under mu: the loop has stopped taking tasks
	ntasks   atomic.Int32
	sleeping atomic.Bool // the loop is in, or about to enter, a blocking wait
	woken    atomic.Bool // an eventfd write is pending, not yet read by the loop
	stopping atomic.Bool

	done chan struct{}
	err  error // why the loop failed, set before done is closed
}

func newLoop(idx int, s *server, h engine.Handler, o engine.Options) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("epoll_create1", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, os.NewSyscallError("eventfd", err)
	}
	l := &loop{
		idx: idx, srv: s, h: h, o: o, epfd: epfd, evfd: evfd,
		buf:  make([]byte, o.ReadBufferSize),
		done: make(chan struct{}),
	}
	l.bufs.limit = poolLimit
	// The eventfd counter is written as a native-endian uint64; 1 on every platform we build.
	*(*uint64)(unsafe.Pointer(&l.wakeBuf[0])) = 1
	if err := l.ctl(unix.EPOLL_CTL_ADD, evfd, unix.EPOLLIN, listenerPad); err != nil {
		unix.Close(evfd)
		unix.Close(epfd)
		return nil, err
	}
	l.now.Store(nanotime())
	return l, nil
}

func (l *loop) ctl(op, fd int, events uint32, pad uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: int32(pad)}
	if err := unix.EpollCtl(l.epfd, op, fd, &ev); err != nil {
		return os.NewSyscallError("epoll_ctl", err)
	}
	return nil
}

func (l *loop) addListener(fd int) error {
	if err := l.ctl(unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, listenerPad); err != nil {
		return err
	}
	l.listeners = append(l.listeners, fd)
	return nil
}

// Index implements engine.Loop.
func (l *loop) Index() int { return l.idx }

// Now implements engine.Loop: the monotonic clock read when the loop last woke up.
func (l *loop) Now() int64 { return l.now.Load() }

// Execute implements engine.Loop. It never blocks (the mutex guards an append).
//
// The wake-up is a Dekker handshake on two sequentially consistent atomics: Execute publishes
// the task (ntasks) and then reads sleeping; the loop sets sleeping and then reads ntasks
// before it blocks. At least one side sees the other, so either the loop does not block or
// Execute writes the eventfd. The woken flag keeps that to one eventfd write per sleep, and a
// task queued from the loop itself (the common case: pool callbacks) never writes it.
func (l *loop) Execute(fn func()) error {
	if fn == nil {
		return ErrNilTask
	}
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return engine.ErrShutdown
	}
	l.tasks = append(l.tasks, fn)
	l.ntasks.Add(1)
	if l.sleeping.Load() && l.woken.CompareAndSwap(false, true) {
		// Under mu so that the loop cannot close the eventfd in between (see end).
		l.wake()
	}
	l.mu.Unlock()
	return nil
}

// wake writes the eventfd. EAGAIN (counter saturated) still leaves it readable.
func (l *loop) wake() {
	for {
		_, err := unix.Write(l.evfd, l.wakeBuf[:])
		if err != unix.EINTR {
			return
		}
	}
}

// stop asks the loop to end; it closes its connections and listeners on its own goroutine.
func (l *loop) stop() {
	l.stopping.Store(true)
	l.mu.Lock()
	if !l.ended {
		l.woken.Store(true)
		l.wake()
	}
	l.mu.Unlock()
}

func (l *loop) run() {
	defer close(l.done)
	tick := int64(l.o.TickInterval)
	l.nextTick = nanotime() + tick
	for !l.stopping.Load() {
		timeout := l.timeout()
		if waitMode != waitRuntime {
			l.yieldIfDue()
		}
		if timeout != 0 {
			l.sleeping.Store(true)
			if l.ntasks.Load() != 0 {
				timeout = 0
			}
		}
		var n int
		var errno unix.Errno
		if waitMode == waitProbe && timeout != 0 && l.busy {
			n, errno = epollWait(l.epfd, l.events[:], 0)
			if n == 0 && errno == 0 {
				n, errno = epollWait(l.epfd, l.events[:], timeout)
			}
		} else {
			n, errno = epollWait(l.epfd, l.events[:], timeout)
		}
		l.busy = n > 0
		l.sleeping.Store(false)
		now := nanotime()
		l.now.Store(now)
		if errno != 0 {
			if errno == unix.EINTR {
				// Almost always the runtime's preemption signal (SIGURG): the scheduler
				// wants this P, for a stop-the-world or because the loop "ran" (slept) for
				// 10ms. Yield so it gets it; looping straight back into the raw wait
				// would make it send the signal again and again.
				runtime.Gosched()
				continue
			}
			l.err = os.NewSyscallError("epoll_pwait", errno)
			break
		}
		for i := 0; i < n; i++ {
			ev := &l.events[i]
			l.dispatch(int(ev.Fd), uint32(ev.Pad), ev.Events)
			l.settle()
		}
		if l.ntasks.Load() != 0 {
			l.runTasks()
		}
		if len(l.dials) != 0 {
			l.expireDials(now)
		}
		if now >= l.nextTick {
			if l.acceptOff {
				l.resumeAccept()
			}
			l.h.OnTick(l, now)
			l.settle()
			l.nextTick += tick
			if l.nextTick <= now {
				l.nextTick = now + tick
			}
		}
	}
	l.end()
}

// yieldEvery is how often a loop yields its P at a quiet point; below sysmon's 10ms
// preemption threshold (forcePreemptNS) with room for sysmon's sampling.
const yieldEvery = int64(5 * time.Millisecond)

// yieldIfDue calls runtime.Gosched between batches at least every yieldEvery.
//
// To the scheduler a loop asleep in the raw wait is a goroutine that has been running since it
// started, so every 10ms sysmon preempts it with a signal. When that signal lands while the
// loop is working through a batch, the goroutine is descheduled mid-batch and may resume on
// another thread, which the requests of that batch pay for. Yielding here, before fetching
// the next batch, bumps the P's schedule tick so sysmon never has cause to send the signal.
// Measured side by side against gnet at 2500 req/s (docs/ENGINE-EPOLL.md): p99 went from about
// twice gnet's to gnet's, at one Gosched per 5ms.
func (l *loop) yieldIfDue() {
	if now := l.now.Load(); now-l.lastYield >= yieldEvery {
		l.lastYield = now
		runtime.Gosched()
	}
}

// timeout is how long the next wait may block, in milliseconds (rounded up, so a timer is
// never fired early): until the next tick or the earliest dial deadline.
func (l *loop) timeout() int {
	now := l.now.Load()
	next := l.nextTick
	for _, c := range l.dials {
		if c.deadline != 0 && c.deadline < next {
			next = c.deadline
		}
	}
	if next <= now {
		return 0
	}
	return int((next - now + int64(time.Millisecond) - 1) / int64(time.Millisecond))
}

func (l *loop) dispatch(fd int, pad uint32, events uint32) {
	if pad != listenerPad {
		// The generation check drops events that were collected for a connection closed
		// earlier in the same batch whose descriptor number a new connection already reuses.
		if fd < len(l.conns) {
			if c := l.conns[fd]; c != nil && c.gen == pad {
				l.serve(c, events)
			}
		}
		return
	}
	if fd == l.evfd {
		var b [8]byte
		unix.Read(l.evfd, b[:])
		l.woken.Store(false)
		return
	}
	l.accept(fd)
}

// runTasks runs the queued tasks in order. Tasks queued while they run wait for the next
// round, so a task that re-queues itself cannot starve the connections.
func (l *loop) runTasks() {
	l.mu.Lock()
	run := l.tasks
	l.tasks = l.running[:0]
	l.ntasks.Store(0)
	l.mu.Unlock()
	for i, fn := range run {
		run[i] = nil
		fn()
		l.settle()
	}
	l.running = run[:0]
}

func (l *loop) accept(lfd int) {
	for i := 0; i < acceptBatch; i++ {
		fd, raddr, err := accept4(lfd)
		switch err {
		case nil:
		case unix.EAGAIN:
			return
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EMFILE, unix.ENFILE, unix.ENOBUFS, unix.ENOMEM:
			// Out of descriptors or memory: a level-triggered listener would report the
			// same pending connection forever. Stop watching the listeners until the next
			// tick; the kernel keeps the connections queued meanwhile.
			l.pauseAccept()
			return
		case unix.EINVAL:
			// StopAccepting shut the listener down.
			l.closeListener(lfd)
			return
		default:
			return
		}
		// Small requests and responses must not wait for Nagle's algorithm (RFC 896) to
		// coalesce them with the next write; writes are already batched per event.
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		c, err := l.register(fd, raddr, unix.EPOLLIN|unix.EPOLLRDHUP)
		if err != nil {
			unix.Close(fd)
			continue
		}
		l.h.OnOpen(c)
		l.settle()
	}
}

func (l *loop) pauseAccept() {
	for _, fd := range l.listeners {
		if fd >= 0 {
			l.ctl(unix.EPOLL_CTL_MOD, fd, 0, listenerPad)
		}
	}
	l.acceptOff = true
}

func (l *loop) resumeAccept() {
	for _, fd := range l.listeners {
		if fd >= 0 {
			l.ctl(unix.EPOLL_CTL_MOD, fd, unix.EPOLLIN, listenerPad)
		}
	}
	l.acceptOff = false
}

// closeListener closes one listener; closeListeners all of them. Under srv.mu, see server.mu.
func (l *loop) closeListener(fd int) {
	l.srv.mu.Lock()
	for i, lfd := range l.listeners {
		if lfd == fd {
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
			unix.Close(fd)
			l.listeners[i] = -1
		}
	}
	l.srv.mu.Unlock()
}

func (l *loop) closeListeners() {
	l.srv.mu.Lock()
	for i, fd := range l.listeners {
		if fd >= 0 {
			unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
			unix.Close(fd)
			l.listeners[i] = -1
		}
	}
	l.srv.mu.Unlock()
}

// register adds a socket to the loop as a connection with the given interest set.
func (l *loop) register(fd int, raddr *net.TCPAddr, events uint32) (*conn, error) {
	l.gen++
	if l.gen == listenerPad {
		l.gen++
	}
	c := &conn{loop: l, fd: fd, gen: l.gen, events: events}
	if raddr != nil {
		c.raddr = raddr
	}
	if err := l.ctl(unix.EPOLL_CTL_ADD, fd, events, c.gen); err != nil {
		return nil, err
	}
	for fd >= len(l.conns) {
		l.conns = append(l.conns, nil)
	}
	l.conns[fd] = c
	return c, nil
}

// forget removes a connection from the loop's table and epoll set without closing it.
func (l *loop) forget(c *conn) {
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	l.conns[c.fd] = nil
	if c.dialing() {
		l.removeDial(c)
	}
	c.fd = -1
}

// release returns a forgotten connection's buffers to the pool.
func (l *loop) release(c *conn) {
	l.bufs.put(c.in)
	l.bufs.put(c.out)
	c.in, c.rd, c.out = nil, nil, nil
}

// settle runs after every callback into the handler. It closes the connections whose write
// failed during the callback (closing them inside the handler's own Write would call OnClose
// from within it) and offers buffered bytes again to the connections resumed with
// PauseRead(false) (see conn.PauseRead). Both can queue more of the same; each round handles
// what the previous one queued.
func (l *loop) settle() {
	for len(l.doomed) != 0 || len(l.resumed) != 0 {
		for len(l.doomed) != 0 {
			c := l.doomed[len(l.doomed)-1]
			l.doomed[len(l.doomed)-1] = nil
			l.doomed = l.doomed[:len(l.doomed)-1]
			if c.fd >= 0 {
				l.closeConn(c, c.werr)
			}
		}
		if len(l.resumed) != 0 {
			c := l.resumed[0]
			copy(l.resumed, l.resumed[1:])
			l.resumed[len(l.resumed)-1] = nil
			l.resumed = l.resumed[:len(l.resumed)-1]
			c.resumeQueued = false
			if c.fd >= 0 && !c.paused && c.werr == nil && len(c.rd) != 0 {
				l.h.OnData(c)
			}
		}
	}
}

// closeConn closes a connection and reports it: err nil for a local Close.
func (l *loop) closeConn(c *conn, err error) {
	fd := c.fd
	l.forget(c)
	unix.Close(fd)
	if c.dialCb != nil {
		// Still connecting: the dial fails, there is no connection to report.
		cb := c.dialCb
		c.dialCb = nil
		l.release(c)
		cb(nil, err)
		return
	}
	// Peek still returns the unconsumed inbound bytes during OnClose (engine.Handler): a
	// response that the peer ended with a close must not lose its tail.
	l.h.OnClose(c, err)
	l.release(c)
}

// end runs on the loop goroutine once it stops: tasks already queued run, later Execute calls
// fail with engine.ErrShutdown, dials in progress fail, connections close with
// engine.ErrShutdown, and the loop's descriptors are closed.
func (l *loop) end() {
	l.mu.Lock()
	l.ended = true
	l.mu.Unlock()
	for l.ntasks.Load() != 0 {
		l.runTasks()
	}
	l.closeListeners()
	for _, c := range l.conns {
		if c != nil && c.fd >= 0 {
			l.closeConn(c, engine.ErrShutdown)
			l.settle()
		}
	}
	l.mu.Lock()
	unix.Close(l.evfd)
	l.mu.Unlock()
	unix.Close(l.epfd)
}
