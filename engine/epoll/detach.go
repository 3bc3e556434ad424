//go:build linux

package epoll

import (
	"net"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sluice-gw/sluice/engine"
)

// Detach implements engine.Conn. The socket is duplicated into an *os.File and handed to
// net.FileConn, so the returned conn does blocking I/O on the Go netpoller with real TCP
// backpressure; then the loop's descriptor leaves the epoll set (before it is closed: the epoll
// registration belongs to the open file, which the duplicate keeps alive) and is closed.
// Buffered inbound bytes are returned as a fresh copy. Bytes still queued for sending, and a
// pending CloseWrite, are not lost: they are written first, in order, by the returned conn.
// No OnClose follows. If Detach fails the connection stays on the loop unchanged.
func (c *conn) Detach() (net.Conn, []byte, error) {
	if c.fd < 0 {
		return nil, nil, engine.ErrClosed
	}
	nfd, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, os.NewSyscallError("fcntl", err)
	}
	f := os.NewFile(uintptr(nfd), "epoll-detached")
	nc, err := net.FileConn(f) // duplicates again and sets up the netpoller
	f.Close()
	if err != nil {
		return nil, nil, err
	}
	var inbound []byte
	if len(c.rd) != 0 {
		inbound = append([]byte(nil), c.rd...)
	}
	var pending []byte
	if c.outTail != c.outHead {
		pending = append([]byte(nil), c.out[c.outHead:c.outTail]...)
	}
	shut := c.wshutQueued
	l := c.loop
	fd := c.fd
	l.forget(c)
	l.release(c)
	unix.Close(fd)
	if pending == nil && !shut {
		return nc, inbound, nil
	}
	d := &detachedConn{Conn: nc, pending: pending, shutWrite: shut}
	d.mu.Lock()
	go func() {
		defer d.mu.Unlock()
		d.flushLocked()
	}()
	return d, inbound, nil
}

// detachedConn is a detached connection that still had outbound bytes queued on the loop. A
// goroutine writes them right away; Write and CloseWrite wait for it, so the order of bytes on
// the wire is what the handler wrote.
type detachedConn struct {
	net.Conn
	mu        sync.Mutex // held while the queued bytes are written
	pending   []byte
	shutWrite bool
	err       error
}

func (d *detachedConn) flushLocked() error {
	if len(d.pending) != 0 {
		_, d.err = d.Conn.Write(d.pending)
		d.pending = nil
	}
	if d.shutWrite && d.err == nil {
		d.shutWrite = false
		d.err = d.closeWrite()
	}
	return d.err
}

func (d *detachedConn) closeWrite() error {
	if cw, ok := d.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return engine.ErrNotSupported
}

func (d *detachedConn) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.flushLocked(); err != nil {
		return 0, err
	}
	return d.Conn.Write(p)
}

// CloseWrite shuts the sending half down after the queued bytes, like net.TCPConn.CloseWrite.
func (d *detachedConn) CloseWrite() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.flushLocked(); err != nil {
		return err
	}
	return d.closeWrite()
}
