//go:build linux

package epoll

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-gw/sluice/engine"
)

// Dial implements engine.Loop. With an IP address the whole connect runs on the loop:
// a non-blocking connect(2), EPOLLOUT when the handshake completes or fails, SO_ERROR for the
// outcome, and the loop's timer for the timeout; no goroutine is involved. A host name is
// resolved first on a goroutine of its own (resolution may block), which then hands the
// connect to the loop. timeout <= 0 means no timeout beyond the kernel's own SYN retries.
//
// cb is called exactly once, on the loop, when Dial returns nil; never when it returns an error
// (a malformed address, a nil cb, or engine.ErrShutdown). It is never called inside Dial.
func (l *loop) Dial(addr string, timeout time.Duration, cb func(c engine.Conn, err error)) error {
	if cb == nil {
		return ErrNilCallback
	}
	host, ps, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%w %q: %v", ErrBadAddress, addr, err)
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port <= 0 || port > 65535 {
		return fmt.Errorf("%w %q: bad port", ErrBadAddress, addr)
	}
	var deadline int64
	if timeout > 0 {
		deadline = nanotime() + int64(timeout)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return l.Execute(func() { l.connect(ip, port, deadline, cb) })
	}
	if host == "" {
		return fmt.Errorf("%w %q: no host", ErrBadAddress, addr)
	}
	go l.resolve(host, port, timeout, deadline, cb)
	return nil
}

// resolve looks a host name up off the loop and hands the first address (IPv4 first, as
// loopback upstreams usually listen there) to the loop.
func (l *loop) resolve(host string, port int, timeout time.Duration, deadline int64, cb func(engine.Conn, error)) {
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err == nil && len(ips) == 0 {
		err = fmt.Errorf("epoll: no address for %q", host)
	}
	if err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = engine.ErrDialTimeout
		}
		// If the loop has ended there is nobody left to tell; the callback contract only
		// promises a call on the loop.
		_ = l.Execute(func() { cb(nil, err) })
		return
	}
	ip := ips[0]
	for _, a := range ips {
		if a.Unmap().Is4() {
			ip = a
			break
		}
	}
	_ = l.Execute(func() { l.connect(ip, port, deadline, cb) })
}

// connect starts a non-blocking connect on the loop.
func (l *loop) connect(ip netip.Addr, port int, deadline int64, cb func(engine.Conn, error)) {
	raddr := net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(port)))
	dialErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Addr: raddr, Err: err}
	}
	if deadline != 0 && l.now.Load() >= deadline {
		cb(nil, engine.ErrDialTimeout)
		return
	}
	sa, domain, err := sockaddrOf(raddr.IP, raddr.Port, raddr.Zone)
	if err != nil {
		cb(nil, dialErr(err))
		return
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		cb(nil, dialErr(os.NewSyscallError("socket", err)))
		return
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, sa)
	for err == unix.EINTR {
		// An interrupted non-blocking connect goes on in the background, like EINPROGRESS.
		err = unix.EINPROGRESS
	}
	switch err {
	case nil:
		c, rerr := l.register(fd, raddr, unix.EPOLLIN|unix.EPOLLRDHUP)
		if rerr != nil {
			unix.Close(fd)
			cb(nil, dialErr(rerr))
			return
		}
		cb(c, nil)
	case unix.EINPROGRESS:
		c, rerr := l.register(fd, raddr, unix.EPOLLOUT)
		if rerr != nil {
			unix.Close(fd)
			cb(nil, dialErr(rerr))
			return
		}
		c.dialCb = func(conn engine.Conn, err error) {
			// Failures reach cb as *net.OpError like net.Dial's, except the loop's
			// own ErrDialTimeout and ErrShutdown, which callers test with errors.Is.
			if err != nil && err != engine.ErrDialTimeout && err != engine.ErrShutdown {
				err = dialErr(err)
			}
			cb(conn, err)
		}
		c.deadline = deadline
		c.dialIdx = len(l.dials)
		l.dials = append(l.dials, c)
	default:
		unix.Close(fd)
		cb(nil, dialErr(os.NewSyscallError("connect", err)))
	}
}

// finishDial handles the event that ends a connect: writable means the handshake finished,
// and SO_ERROR says whether it succeeded.
func (l *loop) finishDial(c *conn, events uint32) {
	v, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && v != 0 {
		err = unix.Errno(v)
	}
	if err == nil && events&unix.EPOLLOUT == 0 {
		err = unix.ECONNREFUSED // a hang-up with no recorded error
	}
	if err != nil {
		l.closeConn(c, os.NewSyscallError("connect", err))
		return
	}
	cb := c.dialCb
	c.dialCb = nil
	l.removeDial(c)
	l.sync(c)
	cb(c, nil)
}

func (l *loop) removeDial(c *conn) {
	i := c.dialIdx
	if i < 0 || i >= len(l.dials) || l.dials[i] != c {
		return
	}
	last := len(l.dials) - 1
	l.dials[i] = l.dials[last]
	l.dials[i].dialIdx = i
	l.dials[last] = nil
	l.dials = l.dials[:last]
	c.dialIdx = -1
}

// expireDials fails the connects whose deadline has passed.
func (l *loop) expireDials(now int64) {
	for i := 0; i < len(l.dials); {
		c := l.dials[i]
		if c.deadline != 0 && now >= c.deadline {
			l.closeConn(c, engine.ErrDialTimeout) // removes c from dials
			l.settle()
			continue
		}
		i++
	}
}
