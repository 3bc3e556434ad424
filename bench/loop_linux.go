//go:build linux

package bench

import (
	"container/heap"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/sluice-gw/sluice/http1"
	"golang.org/x/sys/unix"
)

// The loop engine drives every connection of a run from one goroutine over
// its own epoll set, with non-blocking sockets it owns (they are not in the
// runtime's netpoller), one timerfd for the open-loop schedule and one eventfd
// to be woken for Stop.
//
// Why: with a goroutine per connection, a process at moderate load goes idle
// between requests, and every idle-to-busy transition costs the runtime a
// futex wake of sysmon, a nanosleep and a netpoll round (33 µs of CPU per
// request at 5,000 req/s against 21 µs for this loop, on the project's VM).
// The loop waits with a raw epoll_pwait: its thread sleeps in the kernel
// keeping its P, so the runtime never sees the process idle (engine/epoll
// does the same for the proxy). Other goroutines run when sysmon preempts
// the loop (every 10 ms, EINTR on the wait), so GOMAXPROCS 1 works.

const (
	tokenTimer = ^uint64(0)
	tokenWake  = ^uint64(0) - 1
)

// lconn is one connection of the loop engine. Every field is owned by the
// loop goroutine.
type lconn struct {
	idx        int
	fd         int // -1 when not connected
	sh         *shard
	connecting bool
	rbuf       []byte
	rs, re     int
	wbuf       []byte
	wpos       int       // wbuf[wpos:] is still to write
	batch      []pending // written or to write; answered in order
	bhead      int       // batch[bhead:] is unanswered
	sent       int64     // send (or connect) time of the batch
	parser     responseParser
	chunk      http1.ChunkedDecoder
	phase      uint8 // what the bytes at rbuf[rs:] are, see phase*
	remain     int64 // body bytes left in phaseLength
	status     int
	closeAfter bool
	next       int64 // open loop: this connection's next request index
	warm       int64 // closed loop: warmup request counter
	finished   bool
	gen        uint32 // bumped per socket: events of a closed socket are stale
	heapIdx    int    // position in the schedule heap, -1 when not in it
	due        int64  // open loop: intended time of next, while in the heap
	events     uint32
}

const (
	phaseHead uint8 = iota
	phaseLength
	phaseChunked
	phaseUntilClose
)

type loopEngine struct {
	r       *Run
	epfd    int
	tfd     int // timerfd: the earliest due time in sched
	efd     int // eventfd: Stop
	conns   []*lconn
	sched   dueHeap // open loop: idle connections by next due time
	armed   int64   // due time the timerfd is armed for, 0 when disarmed
	active  int     // connections not finished
	sa      unix.Sockaddr
	family  int
	readAt  int64
	evbuf   []unix.EpollEvent
	period  int64 // ns between timeout sweeps
	nextSwp int64
	ready   []*lconn // failed connections to restart from the loop, not recursively
}

// dueHeap orders idle connections by their next intended send time.
type dueHeap []*lconn

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h dueHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}
func (h *dueHeap) Push(x any) { c := x.(*lconn); c.heapIdx = len(*h); *h = append(*h, c) }
func (h *dueHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	c.heapIdx = -1
	return c
}

// newLoopEngine creates the epoll set and adopts the connections dialled by
// Start (their descriptors are duplicated out of the runtime's netpoller).
func newLoopEngine(r *Run, dialed []net.Conn) (*loopEngine, error) {
	e := &loopEngine{r: r, epfd: -1, tfd: -1, efd: -1, evbuf: make([]unix.EpollEvent, 256)}
	fail := func(err error) (*loopEngine, error) {
		e.close()
		for _, nc := range dialed {
			if nc != nil {
				nc.Close()
			}
		}
		return nil, err
	}
	ta, err := net.ResolveTCPAddr("tcp", r.cfg.Addr)
	if err != nil {
		return fail(err)
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		e.sa, e.family = sa, unix.AF_INET
	} else {
		sa := &unix.SockaddrInet6{Port: ta.Port}
		copy(sa.Addr[:], ta.IP.To16())
		e.sa, e.family = sa, unix.AF_INET6
	}
	if e.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return fail(err)
	}
	if e.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return fail(err)
	}
	if e.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return fail(err)
	}
	for fd, tok := range map[int]uint64{e.tfd: tokenTimer, e.efd: tokenWake} {
		ev := unix.EpollEvent{Events: unix.EPOLLIN}
		*(*uint64)(unsafe.Pointer(&ev.Fd)) = tok
		if err := unix.EpollCtl(e.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
			return fail(err)
		}
	}
	e.period = int64(min(max(r.cfg.Timeout/10, time.Millisecond), 100*time.Millisecond))
	e.conns = make([]*lconn, len(dialed))
	for i, nc := range dialed {
		c := &lconn{idx: i, fd: -1, sh: r.shards[i%len(r.shards)], heapIdx: -1,
			batch: make([]pending, 0, r.cfg.Pipeline), rbuf: make([]byte, readBufSize), next: int64(i)}
		e.conns[i] = c
		if nc == nil {
			continue
		}
		fd, err := adoptFD(nc)
		dialed[i] = nil
		if err != nil {
			return fail(err)
		}
		c.fd = fd
		if err := e.watch(c, unix.EPOLLIN, unix.EPOLL_CTL_ADD); err != nil {
			return fail(err)
		}
	}
	return e, nil
}

// adoptFD takes the socket out of nc: a duplicate descriptor, non-blocking,
// and nc closed, so the runtime's netpoller no longer watches it.
func adoptFD(nc net.Conn) (int, error) {
	defer nc.Close()
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("bench: loop engine needs a socket, got %T", nc)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	var dupErr error
	if err := raw.Control(func(s uintptr) { fd, dupErr = unix.Dup(int(s)) }); err != nil {
		return -1, err
	}
	if dupErr != nil {
		return -1, dupErr
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// watch sets c's interest; the event token is the connection index and its
// socket generation, so an event still queued for a socket closed in the same
// wake-up is not applied to its successor.
func (e *loopEngine) watch(c *lconn, events uint32, op int) error {
	ev := unix.EpollEvent{Events: events}
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = uint64(c.idx) | uint64(c.gen)<<32
	c.events = events
	return unix.EpollCtl(e.epfd, op, c.fd, &ev)
}

// wake makes the loop look at the run's context; any goroutine may call it.
func (e *loopEngine) wake() {
	var one = [8]byte{1}
	unix.Write(e.efd, one[:])
}

func (e *loopEngine) close() {
	for _, fd := range []int{e.epfd, e.tfd, e.efd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	for _, c := range e.conns {
		if c != nil && c.fd >= 0 {
			unix.Close(c.fd)
			c.fd = -1
		}
	}
}

// epollWaitRaw is epoll_pwait with a NULL mask as a raw system call, so the
// thread keeps its P while it sleeps (see the engine comment). noinline: the
// retry after EINTR passes a function prologue, where preemption happens.
//
//go:noinline
func epollWaitRaw(epfd int, events []unix.EpollEvent, msec int) (int, unix.Errno) {
	r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd),
		uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), uintptr(msec), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), 0
}

// run is the loop. It returns when every connection finished or the run
// was stopped.
func (e *loopEngine) run() {
	defer e.close()
	r := e.r
	e.active = len(e.conns)
	now := r.now()
	for _, c := range e.conns {
		e.idle(c, now)
	}
	e.restart()
	e.nextSwp = now + e.period
	for e.active > 0 && r.ctx.Err() == nil {
		e.pace(r.now())
		n, errno := epollWaitRaw(e.epfd, e.evbuf, int(e.period/1e6))
		if errno != 0 && errno != unix.EINTR {
			// The epoll set itself failed: nothing can be measured any more.
			fmt.Fprintf(os.Stderr, "sluice bench: epoll_wait: %v\n", errno)
			return
		}
		e.readAt = r.now()
		for i := 0; i < n; i++ {
			ev := &e.evbuf[i]
			tok := *(*uint64)(unsafe.Pointer(&ev.Fd))
			switch tok {
			case tokenTimer:
				var b [8]byte
				unix.Read(e.tfd, b[:])
				e.armed = 0
			case tokenWake:
				var b [8]byte
				unix.Read(e.efd, b[:])
			default:
				if c := e.conns[uint32(tok)]; c.gen == uint32(tok>>32) {
					e.event(c, ev.Events)
				}
			}
		}
		if now := r.now(); now >= e.nextSwp {
			e.sweep(now)
			e.nextSwp = now + e.period
		}
		e.restart()
	}
}

// restart takes the failed connections on to their next request.
func (e *loopEngine) restart() {
	for len(e.ready) > 0 && e.r.ctx.Err() == nil {
		c := e.ready[len(e.ready)-1]
		e.ready = e.ready[:len(e.ready)-1]
		if !c.finished {
			e.idle(c, e.r.now())
		}
	}
}

// pace sends every request that is due and arms the timer for the next.
func (e *loopEngine) pace(now int64) {
	for len(e.sched) > 0 && e.sched[0].due <= now+int64(20*time.Microsecond) {
		c := heap.Pop(&e.sched).(*lconn)
		e.sendOpen(c, now)
		now = e.r.now()
	}
	if len(e.sched) == 0 {
		return
	}
	due := e.sched[0].due
	if e.armed == due {
		return
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(due-now, 1000))}
	if unix.TimerfdSettime(e.tfd, 0, &spec, nil) == nil {
		e.armed = due
	}
}

// idle is called when c has nothing in flight: it starts the next exchange
// (closed loop), queues c for its next due time (open loop), or finishes c.
func (e *loopEngine) idle(c *lconn, now int64) {
	r := e.r
	c.batch, c.bhead = c.batch[:0], 0
	if r.ctx.Err() != nil {
		e.finish(c)
		return
	}
	if !r.open {
		if r.end > 0 && now >= r.end {
			e.finish(c)
			return
		}
		pipe := int64(r.cfg.Pipeline)
		if now < r.measureStart {
			for range pipe {
				c.batch = append(c.batch, pending{k: c.warm, intended: -1})
				c.warm++
			}
		} else {
			first, n := claimFrom(r, pipe)
			if n == 0 {
				e.finish(c)
				return
			}
			for i := range n {
				c.batch = append(c.batch, pending{k: first + i, intended: -1, measured: true})
			}
		}
		e.start(c)
		return
	}
	m := c.next - r.warmupCount
	due := r.intended(c.next)
	if (r.cfg.MaxRequests > 0 && m >= r.cfg.MaxRequests) || (r.end > 0 && due >= r.end) {
		e.finish(c)
		return
	}
	c.due = due
	heap.Push(&e.sched, c)
}

// sendOpen collects c's due requests (up to the pipeline depth) and sends.
func (e *loopEngine) sendOpen(c *lconn, now int64) {
	r := e.r
	stride := int64(r.cfg.Connections)
	for len(c.batch) < cap(c.batch) {
		m := c.next - r.warmupCount
		due := r.intended(c.next)
		if (r.cfg.MaxRequests > 0 && m >= r.cfg.MaxRequests) || (r.end > 0 && due >= r.end) {
			break
		}
		if len(c.batch) > 0 && due > now {
			break
		}
		c.batch = append(c.batch, pending{k: c.next, intended: due, measured: m >= 0})
		c.next += stride
	}
	e.start(c)
}

func (e *loopEngine) finish(c *lconn) {
	if c.finished {
		return
	}
	c.finished = true
	e.active--
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
}

// start sends c.batch, connecting first when c has no socket.
func (e *loopEngine) start(c *lconn) {
	r := e.r
	c.wbuf, c.wpos = c.wbuf[:0], 0
	reqs := r.cfg.Requests
	for i := range c.batch {
		q := &reqs[c.batch[i].k%int64(len(reqs))]
		c.batch[i].head = q.Head
		c.wbuf = append(c.wbuf, q.Raw...)
	}
	c.sent = r.now()
	for i := range c.batch {
		if c.batch[i].intended < 0 {
			c.batch[i].intended = c.sent
		}
	}
	if c.fd < 0 {
		e.connect(c)
		return
	}
	e.write(c)
}

func (e *loopEngine) connect(c *lconn) {
	fd, err := unix.Socket(e.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		e.fail(c, ErrConnect)
		return
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c.fd, c.rs, c.re, c.phase = fd, 0, 0, phaseHead
	c.gen++
	err = unix.Connect(fd, e.sa)
	if err != nil && err != unix.EINPROGRESS {
		e.fail(c, ErrConnect)
		return
	}
	c.connecting = true
	if err := e.watch(c, unix.EPOLLOUT|unix.EPOLLIN, unix.EPOLL_CTL_ADD); err != nil {
		e.fail(c, ErrConnect)
	}
}

func (e *loopEngine) write(c *lconn) {
	for c.wpos < len(c.wbuf) {
		n, err := unix.Write(c.fd, c.wbuf[c.wpos:])
		if n > 0 {
			c.wpos += n
			if c.batch[0].measured {
				c.sh.mu.Lock()
				c.sh.bytesWritten += int64(n)
				c.sh.mu.Unlock()
			}
		}
		if err == unix.EAGAIN {
			if c.events&unix.EPOLLOUT == 0 {
				e.watch(c, unix.EPOLLIN|unix.EPOLLOUT, unix.EPOLL_CTL_MOD)
			}
			return
		}
		if err != nil {
			e.fail(c, classify(err))
			return
		}
	}
	if c.events&unix.EPOLLOUT != 0 {
		e.watch(c, unix.EPOLLIN, unix.EPOLL_CTL_MOD)
	}
}

func (e *loopEngine) event(c *lconn, events uint32) {
	if c.fd < 0 {
		return // closed earlier in this batch of events
	}
	if c.connecting {
		if events&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || soerr != 0 {
			e.fail(c, ErrConnect)
			return
		}
		c.connecting = false
		e.write(c)
		return
	}
	if events&unix.EPOLLOUT != 0 && c.wpos < len(c.wbuf) {
		e.write(c)
		if c.fd < 0 {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
		e.readable(c)
	}
}

// readable reads once (level-triggered: what is left is reported again) and
// completes every response the bytes finish.
func (e *loopEngine) readable(c *lconn) {
	if c.rs == c.re {
		c.rs, c.re = 0, 0
	} else if c.re == len(c.rbuf) {
		if c.rs == 0 {
			e.fail(c, ErrBadResponse) // a head larger than the buffer
			return
		}
		c.re = copy(c.rbuf, c.rbuf[c.rs:c.re])
		c.rs = 0
	}
	n, err := unix.Read(c.fd, c.rbuf[c.re:])
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if err != nil {
		e.fail(c, classify(err))
		return
	}
	if n == 0 {
		if c.phase == phaseUntilClose && c.bhead < len(c.batch) {
			// RFC 9112 §6.3 rule 8: the close ends the body.
			c.closeAfter = true
			e.complete(c)
			return
		}
		if c.bhead < len(c.batch) {
			e.fail(c, ErrReset)
			return
		}
		// An idle connection closed by the server: redial on next use.
		e.drop(c)
		return
	}
	c.re += n
	if c.bhead < len(c.batch) && c.batch[c.bhead].measured {
		c.sh.mu.Lock()
		c.sh.bytesRead += int64(n)
		c.sh.mu.Unlock()
	}
	for c.fd >= 0 && c.bhead < len(c.batch) {
		done, err := e.advance(c)
		if err != nil {
			e.fail(c, ErrBadResponse)
			return
		}
		if !done {
			return
		}
		if e.complete(c) {
			return
		}
	}
}

// advance consumes the bytes of the response in progress and reports whether
// it is complete.
func (e *loopEngine) advance(c *lconn) (bool, error) {
	for {
		switch c.phase {
		case phaseHead:
			h, err := c.parser.parse(c.rbuf[c.rs:c.re], c.batch[c.bhead].head)
			if err == http1.ErrNeedMore {
				return false, nil
			}
			if err != nil {
				return false, err
			}
			c.rs += h.size
			if h.status < 100 || h.status > 999 || h.status == 101 {
				return false, errors.New("bench: unexpected status")
			}
			if h.status < 200 {
				continue // interim response (RFC 9110 §15.2)
			}
			c.status, c.closeAfter = h.status, h.close
			switch h.framing {
			case bodyNone:
				return true, nil
			case bodyLength:
				c.phase, c.remain = phaseLength, h.length
			case bodyChunked:
				c.phase = phaseChunked
				c.chunk.Reset()
			default:
				c.phase = phaseUntilClose
			}
		case phaseLength:
			k := min(int64(c.re-c.rs), c.remain)
			c.rs += int(k)
			c.remain -= k
			return c.remain == 0, nil
		case phaseChunked:
			n, _, err := c.chunk.Decode(c.rbuf[c.rs:c.re])
			c.rs += n
			if err != nil {
				return false, err
			}
			if c.chunk.Done() {
				return true, nil
			}
			if c.rs < c.re && n == 0 {
				return false, errors.New("bench: chunked decoder made no progress")
			}
			if c.rs == c.re {
				return false, nil
			}
		case phaseUntilClose:
			c.rs = c.re
			return false, nil
		}
	}
}

// complete records the response at bhead; it reports whether the
// connection went idle or away (the caller stops parsing).
func (e *loopEngine) complete(c *lconn) bool {
	c.phase = phaseHead
	p := &c.batch[c.bhead]
	e.r.record(c.sh, p, c.sent, e.readAt, c.status)
	c.bhead++
	if c.closeAfter {
		rest := c.batch[c.bhead:]
		e.drop(c)
		if len(rest) > 0 {
			// Pipelined behind a response that closed the connection: they
			// will never be answered.
			e.r.fail(c.sh, rest, ErrReset)
		}
		e.idle(c, e.readAt)
		return true
	}
	if c.bhead == len(c.batch) {
		e.idle(c, e.readAt)
		return true
	}
	return false
}

// fail records the unanswered requests of c's batch as failed and drops the
// socket; c goes on with its next request from the loop (a refused connect
// fails at once, and restarting here would recurse without bound).
func (e *loopEngine) fail(c *lconn, kind ErrorKind) {
	e.drop(c)
	e.r.fail(c.sh, c.batch[c.bhead:], kind)
	c.bhead = len(c.batch)
	e.ready = append(e.ready, c)
}

func (e *loopEngine) drop(c *lconn) {
	if c.fd >= 0 {
		unix.Close(c.fd) // also removes it from the epoll set
		c.fd = -1
	}
	c.connecting = false
	c.rs, c.re, c.phase, c.events = 0, 0, phaseHead, 0
}

// sweep fails the exchanges (or connects) older than the timeout.
func (e *loopEngine) sweep(now int64) {
	limit := int64(e.r.cfg.Timeout)
	for _, c := range e.conns {
		if c.finished || c.fd < 0 || c.bhead >= len(c.batch) || now-c.sent < limit {
			continue
		}
		if c.connecting {
			e.fail(c, ErrConnect)
		} else {
			e.fail(c, ErrTimeout)
		}
	}
}

// claimFrom is conn.claim for the loop engine.
func claimFrom(r *Run, n int64) (first, got int64) {
	limit := r.cfg.MaxRequests
	if limit == 0 {
		return r.claimed.Add(n) - n, n
	}
	if r.claimed.Load() >= limit {
		return 0, 0
	}
	end := r.claimed.Add(n)
	first = end - n
	if first >= limit {
		return 0, 0
	}
	return first, min(n, limit-first)
}
