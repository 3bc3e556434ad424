//go:build linux

package enginetest

import (
	"fmt"
	"net"
	"syscall"
	"time"
)

// blackHole returns a loopback address where connects hang: a listening socket with backlog 0
// that nobody accepts from, whose one-entry accept queue is then filled. Linux drops SYNs to a
// listener whose accept queue is full (tcp_conn_request, LISTENOVERFLOWS), so the next
// connect neither completes nor is refused. release closes everything.
func blackHole() (addr string, release func(), err error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	var conns []net.Conn
	release = func() {
		for _, c := range conns {
			c.Close()
		}
		syscall.Close(fd)
	}
	sa := &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}
	if err := syscall.Bind(fd, sa); err != nil {
		release()
		return "", nil, err
	}
	if err := syscall.Listen(fd, 0); err != nil {
		release()
		return "", nil, err
	}
	bound, err := syscall.Getsockname(fd)
	if err != nil {
		release()
		return "", nil, err
	}
	addr = fmt.Sprintf("127.0.0.1:%d", bound.(*syscall.SockaddrInet4).Port)
	for i := 0; i < 8; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return addr, release, nil
			}
			release()
			return "", nil, err
		}
		conns = append(conns, c)
	}
	release()
	return "", nil, fmt.Errorf("accept queue of a backlog-0 listener never filled after %d connects", len(conns))
}
