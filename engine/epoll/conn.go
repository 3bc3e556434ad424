//go:build linux

package epoll

import (
	"io"
	"net"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sluice-gw/sluice/engine"
)

// conn is the engine.Conn of this backend. All fields are loop-confined.
//
// Inbound bytes: during OnData, rd is a view of the loop's shared read buffer when the
// connection had nothing buffered (no copy at all), or of in, the connection's own buffer, to
// which the new bytes were appended. What the handler leaves is moved into in after OnData,
// and in goes back to the loop's pool as soon as it is empty, so an idle connection owns no
// buffer. Outbound bytes the socket did not take wait in out[outHead:] the same way.
type conn struct {
	loop   *loop
	fd     int // -1 once closed or detached
	gen    uint32
	events uint32 // the interest set registered in epoll

	rd     []byte // unconsumed inbound bytes (Peek)
	rdLoop bool   // rd points into loop.buf, valid only during OnData
	in     []byte // owned inbound storage, len == cap; rd == in[inOff:inOff+len(rd)]
	inOff  int

	out     []byte // owned outbound storage, len == cap; queued bytes are out[outHead:outTail]
	outHead int
	outTail int

	paused       bool
	resumeQueued bool  // in loop.resumed
	full         bool  // went above the high watermark; OnWritable when below the low one
	wshut        bool  // CloseWrite called
	wshutQueued  bool  // shutdown(SHUT_WR) waits for the queue to drain
	werr         error // a write failed; the connection is closed after the current callback

	dialCb   func(engine.Conn, error) // non-nil while connecting
	deadline int64                    // dial deadline on the loop clock, 0 for none
	dialIdx  int                      // position in loop.dials

	ctx   any
	raddr net.Addr
}

var _ engine.Conn = (*conn)(nil)

func (c *conn) dialing() bool { return c.dialCb != nil }

// Peek implements engine.Conn.
func (c *conn) Peek() []byte { return c.rd }

// Discard implements engine.Conn. Once everything is consumed the connection's own buffer
// goes back to the pool (a Peek slice is valid only until Discard).
func (c *conn) Discard(n int) {
	if n <= 0 {
		return
	}
	if n > len(c.rd) {
		n = len(c.rd)
	}
	c.rd = c.rd[n:]
	if c.rdLoop {
		return
	}
	c.inOff += n
	if len(c.rd) == 0 && c.in != nil {
		c.loop.bufs.put(c.in)
		c.in, c.rd, c.inOff = nil, nil, 0
	}
}

// appendIn adds freshly read bytes behind the buffered ones, so Peek stays one slice.
func (c *conn) appendIn(p []byte) {
	need := len(c.rd) + len(p)
	switch {
	case c.inOff+need <= len(c.in):
		copy(c.in[c.inOff+len(c.rd):], p)
	case need <= len(c.in):
		copy(c.in, c.rd)
		copy(c.in[len(c.rd):], p)
		c.inOff = 0
	default:
		nb := c.loop.bufs.get(need)
		copy(nb, c.rd)
		copy(nb[len(c.rd):], p)
		c.loop.bufs.put(c.in)
		c.in, c.inOff = nb, 0
	}
	c.rd = c.in[c.inOff : c.inOff+need]
}

// keepUnconsumed runs after OnData: bytes left in the shared read buffer move to the
// connection's own buffer before the next read overwrites them.
func (c *conn) keepUnconsumed() {
	if !c.rdLoop {
		return
	}
	c.rdLoop = false
	if len(c.rd) == 0 {
		c.rd = nil
		return
	}
	c.in = c.loop.bufs.get(len(c.rd))
	c.inOff = 0
	n := copy(c.in, c.rd)
	c.rd = c.in[:n]
}

// OutboundBuffered implements engine.Conn.
func (c *conn) OutboundBuffered() int { return c.outTail - c.outHead }

// Write implements engine.Conn: straight to the socket when nothing is queued, the rest queued.
func (c *conn) Write(p []byte) error {
	if err := c.writable(); err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	if c.outTail == c.outHead {
		n, err := writeFd(c.fd, p)
		if err != nil {
			return c.fail(os.NewSyscallError("write", err))
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
	c.queue(p, nil)
	return nil
}

// Write2 implements engine.Conn with one writev(2) when nothing is queued.
func (c *conn) Write2(a, b []byte) error {
	if len(a) == 0 {
		return c.Write(b)
	}
	if len(b) == 0 {
		return c.Write(a)
	}
	if err := c.writable(); err != nil {
		return err
	}
	if c.outTail == c.outHead {
		n, err := c.loop.writev2(c.fd, a, b)
		if err != nil {
			return c.fail(os.NewSyscallError("writev", err))
		}
		if n >= len(a) {
			a, b = b[n-len(a):], nil
		} else {
			a = a[n:]
		}
		if len(a) == 0 {
			return nil
		}
	}
	c.queue(a, b)
	return nil
}

func (c *conn) writable() error {
	if c.fd < 0 || c.wshut {
		return engine.ErrClosed
	}
	return c.werr
}

// fail records a write error; the loop closes the connection with it after the current
// callback (loop.settle) rather than inside the handler's Write.
func (c *conn) fail(err error) error {
	if c.werr == nil {
		c.werr = err
		c.loop.doomed = append(c.loop.doomed, c)
	}
	return err
}

// queue appends what the socket did not take and watches for EPOLLOUT on the transition from
// empty, the only time the interest set changes on the write path.
func (c *conn) queue(a, b []byte) {
	was := c.outTail - c.outHead
	need := was + len(a) + len(b)
	if c.outTail+len(a)+len(b) > len(c.out) {
		if need <= len(c.out) {
			copy(c.out, c.out[c.outHead:c.outTail])
		} else {
			nb := c.loop.bufs.get(need)
			copy(nb, c.out[c.outHead:c.outTail])
			c.loop.bufs.put(c.out)
			c.out = nb
		}
		c.outHead, c.outTail = 0, was
	}
	c.outTail += copy(c.out[c.outTail:], a)
	c.outTail += copy(c.out[c.outTail:], b)
	if need > c.loop.o.HighWatermark {
		c.full = true
	}
	if was == 0 {
		c.loop.sync(c)
	}
}

// flush writes queued bytes on EPOLLOUT until the socket is full or the queue is empty.
func (l *loop) flush(c *conn) {
	for c.outHead < c.outTail {
		n, err := writeFd(c.fd, c.out[c.outHead:c.outTail])
		if err != nil {
			l.closeConn(c, os.NewSyscallError("write", err))
			return
		}
		if n == 0 {
			break
		}
		c.outHead += n
	}
	if c.outHead == c.outTail {
		l.bufs.put(c.out)
		c.out, c.outHead, c.outTail = nil, 0, 0
		if c.wshutQueued {
			c.wshutQueued = false
			if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
				l.closeConn(c, os.NewSyscallError("shutdown", err))
				return
			}
		}
		l.sync(c)
	}
	if c.full && c.outTail-c.outHead < l.o.LowWatermark {
		c.full = false
		l.h.OnWritable(c)
	}
}

// writeFd writes as much of p as the socket takes now; EAGAIN is not an error (n == 0).
func writeFd(fd int, p []byte) (int, error) {
	for {
		n, err := rawWrite(fd, p)
		switch err {
		case 0:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, err
	}
}

// writev2 is writev(2) of a and b through the loop's iovec pair (no allocation, unlike
// unix.Writev); EAGAIN is not an error (n == 0).
func (l *loop) writev2(fd int, a, b []byte) (int, error) {
	l.iov[0].Base, l.iov[1].Base = &a[0], &b[0]
	l.iov[0].SetLen(len(a))
	l.iov[1].SetLen(len(b))
	defer func() { l.iov[0].Base, l.iov[1].Base = nil, nil }()
	for {
		n, _, e := unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&l.iov[0])), 2)
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, e
	}
}

// wantEvents is the interest set the connection's state calls for.
func (c *conn) wantEvents() uint32 {
	var ev uint32
	if !c.paused {
		ev = unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if c.outTail != c.outHead || c.dialing() {
		ev |= unix.EPOLLOUT
	}
	return ev
}

// sync changes the epoll interest set when, and only when, the connection's state calls for a
// different one.
func (l *loop) sync(c *conn) {
	want := c.wantEvents()
	if want == c.events || c.fd < 0 {
		return
	}
	if err := l.ctl(unix.EPOLL_CTL_MOD, c.fd, want, c.gen); err != nil {
		if c.werr == nil {
			c.fail(err)
		}
		return
	}
	c.events = want
}

// PauseRead implements engine.Conn by taking EPOLLIN out of the interest set, so the kernel's
// receive buffer fills and TCP flow control reaches the peer. On resume, bytes the handler left
// buffered are offered again with an OnData right after the current callback, even if the
// socket has nothing new: otherwise a handler that paused in the middle of a request would
// wait for bytes the peer may never send.
func (c *conn) PauseRead(pause bool) error {
	if c.fd < 0 {
		return engine.ErrClosed
	}
	if c.paused == pause {
		return nil
	}
	c.paused = pause
	c.loop.sync(c)
	if !pause && len(c.rd) != 0 && !c.resumeQueued {
		c.resumeQueued = true
		c.loop.resumed = append(c.loop.resumed, c)
	}
	return nil
}

// Close implements engine.Conn. OnClose(c, nil) is called before Close returns.
func (c *conn) Close() error {
	if c.fd < 0 {
		return engine.ErrClosed
	}
	c.loop.closeConn(c, nil)
	return nil
}

// CloseWrite implements engine.Conn: shutdown(SHUT_WR) now, or once the queue has drained.
// Later writes fail with engine.ErrClosed; reading goes on.
func (c *conn) CloseWrite() error {
	if c.fd < 0 {
		return engine.ErrClosed
	}
	if c.wshut {
		return nil
	}
	c.wshut = true
	if c.outTail != c.outHead {
		c.wshutQueued = true
		return nil
	}
	if err := unix.Shutdown(c.fd, unix.SHUT_WR); err != nil {
		return os.NewSyscallError("shutdown", err)
	}
	return nil
}

func (c *conn) Loop() engine.Loop    { return c.loop }
func (c *conn) Context() any         { return c.ctx }
func (c *conn) SetContext(v any)     { c.ctx = v }
func (c *conn) RemoteAddr() net.Addr { return c.raddr }
func (c *conn) Fd() int              { return c.fd }

// serve handles one epoll event of a connection.
func (l *loop) serve(c *conn, events uint32) {
	if c.dialing() {
		l.finishDial(c, events)
		return
	}
	if events&unix.EPOLLOUT != 0 && c.outTail != c.outHead {
		l.flush(c)
		l.settle()
		if c.fd < 0 {
			return
		}
	}
	if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return
	}
	if c.paused {
		// Not reading: only a dead socket (HUP, ERR) matters, and it would be reported
		// again and again, so close it.
		if events&(unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			l.closeConn(c, sockError(c.fd))
		}
		return
	}
	l.read(c)
}

// read reads until a short read (the socket is drained), handing each read to OnData.
func (l *loop) read(c *conn) {
	for i := 0; i < readBatch; i++ {
		n, err := rawRead(c.fd, l.buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			return
		case err != 0:
			l.closeConn(c, os.NewSyscallError("read", err))
			return
		case n == 0:
			l.closeConn(c, io.EOF)
			return
		}
		if len(c.rd) == 0 {
			c.rd, c.rdLoop = l.buf[:n], true
		} else {
			c.appendIn(l.buf[:n])
		}
		l.h.OnData(c)
		if c.fd < 0 { // closed or detached by the handler
			return
		}
		c.keepUnconsumed()
		l.settle()
		if c.fd < 0 || c.paused || n < len(l.buf) {
			return
		}
	}
}

// sockError is the socket's pending error (SO_ERROR), or io.EOF when there is none: a hang-up
// without an error is the peer closing.
func sockError(fd int) error {
	v, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return os.NewSyscallError("getsockopt", err)
	}
	if v != 0 {
		return os.NewSyscallError("read", unix.Errno(v))
	}
	return io.EOF
}
