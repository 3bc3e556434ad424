//go:build linux

package epoll

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/sluice-gw/sluice/engine"
)

// Errors of this backend; the shared ones (engine.ErrClosed, engine.ErrShutdown,
// engine.ErrDialTimeout) come from package engine.
var (
	ErrNilHandler  = errors.New("epoll: nil handler")
	ErrBadAddress  = errors.New("epoll: bad address")
	ErrNilCallback = errors.New("epoll: nil dial callback")
	ErrNilTask     = errors.New("epoll: nil task")
)

// poolLimit is the most bytes of idle buffers one loop keeps for reuse.
const poolLimit = 4 << 20

// withDefaults is engine.WithDefaults plus this backend's loop count: one per CPU.
func withDefaults(o engine.Options) engine.Options {
	o = engine.WithDefaults(o)
	if o.Loops <= 0 {
		o.Loops = runtime.NumCPU()
	}
	return o
}

// server is the engine.Server of this backend.
type server struct {
	loops  []*loop
	iloops []engine.Loop
	addrs  []net.Addr

	// mu guards the listener file descriptors between StopAccepting (another goroutine, which
	// shuts them down) and the loops (which close them): a loop closes a listener only while
	// holding mu, so shutdown never reaches a closed, possibly reused, descriptor.
	mu        sync.Mutex
	accepting bool
	stopped   bool
}

// Start opens one loop per o.Loops (0: one per CPU), each with its own SO_REUSEPORT listener
// for every address in addrs so the kernel spreads accepted connections over the loops, and
// runs them. addrs may be empty for an engine that only dials.
//
// Because a loop's blocking wait keeps its P (package doc), Start raises GOMAXPROCS to
// loops+1 when it is lower: one P for every loop and at least one for everything else (dials
// by name, the admin API, timers, the garbage collector). It never lowers it.
func Start(h engine.Handler, addrs []string, o engine.Options) (engine.Server, error) {
	if h == nil {
		return nil, ErrNilHandler
	}
	o = withDefaults(o)
	if runtime.GOMAXPROCS(0) < o.Loops+1 {
		runtime.GOMAXPROCS(o.Loops + 1)
	}
	s := &server{accepting: true}
	for i := 0; i < o.Loops; i++ {
		l, err := newLoop(i, s, h, o)
		if err != nil {
			s.closeAll()
			return nil, err
		}
		s.loops = append(s.loops, l)
		s.iloops = append(s.iloops, l)
	}
	backlog := listenBacklog()
	for _, a := range addrs {
		ta, err := net.ResolveTCPAddr("tcp", a)
		if err != nil {
			s.closeAll()
			return nil, fmt.Errorf("%w %q: %v", ErrBadAddress, a, err)
		}
		for _, l := range s.loops {
			fd, bound, err := listenReusePort(ta, backlog)
			if err != nil {
				s.closeAll()
				return nil, fmt.Errorf("epoll: listen %s: %w", ta, err)
			}
			if err := l.addListener(fd); err != nil {
				unix.Close(fd)
				s.closeAll()
				return nil, fmt.Errorf("epoll: listen %s: %w", ta, err)
			}
			// The first loop's socket fixes the port (port 0 picks one); the others bind
			// the same one so the kernel's SO_REUSEPORT group spans all loops.
			ta = bound
		}
		s.addrs = append(s.addrs, ta)
	}
	for _, l := range s.loops {
		go l.run()
	}
	return s, nil
}

// closeAll releases what a failed Start opened; no loop is running yet.
func (s *server) closeAll() {
	for _, l := range s.loops {
		for _, fd := range l.listeners {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
		unix.Close(l.evfd)
		unix.Close(l.epfd)
	}
}

func (s *server) Loops() []engine.Loop { return s.iloops }
func (s *server) Addrs() []net.Addr    { return s.addrs }

// StopAccepting stops every listener at once with shutdown(2), which makes the kernel refuse
// new connections to them right away, then lets each loop close its listener descriptors.
// Established connections are untouched. It does not wait for the loops.
func (s *server) StopAccepting() error {
	s.mu.Lock()
	if !s.accepting {
		s.mu.Unlock()
		return nil
	}
	s.accepting = false
	var errs []error
	for _, l := range s.loops {
		for _, fd := range l.listeners {
			if fd >= 0 {
				if err := unix.Shutdown(fd, unix.SHUT_RD); err != nil && err != unix.ENOTCONN {
					errs = append(errs, os.NewSyscallError("shutdown", err))
				}
			}
		}
	}
	s.mu.Unlock()
	for _, l := range s.loops {
		l := l
		// ErrShutdown only means the loop is ending and closes its listeners itself.
		_ = l.Execute(l.closeListeners)
	}
	return errors.Join(errs...)
}

// Stop closes the listeners and every connection (OnClose with engine.ErrShutdown), fails
// dials in progress with engine.ErrShutdown, ends the loops and waits for them. Calling it
// again only waits.
func (s *server) Stop() error {
	err := s.StopAccepting()
	s.mu.Lock()
	first := !s.stopped
	s.stopped = true
	s.mu.Unlock()
	if first {
		for _, l := range s.loops {
			l.stop()
		}
	}
	return errors.Join(err, s.Wait())
}

// Wait blocks until every loop has ended and returns what made a loop fail, if anything.
func (s *server) Wait() error {
	var errs []error
	for _, l := range s.loops {
		<-l.done
		if l.err != nil {
			errs = append(errs, l.err)
		}
	}
	return errors.Join(errs...)
}

// listenReusePort opens a non-blocking listening socket with SO_REUSEPORT bound to a.
//
// SO_REUSEPORT gives each loop its own accept queue and lets the kernel hash new connections
// over them, so loops never contend on one listener. It also means that another process of the
// same user that binds the same port with SO_REUSEPORT shares the traffic; that is the same
// trade NGINX's reuseport makes.
func listenReusePort(a *net.TCPAddr, backlog int) (int, *net.TCPAddr, error) {
	sa, domain, err := sockaddrOf(a.IP, a.Port, a.Zone)
	if err != nil {
		return -1, nil, err
	}
	fd, err := unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err == unix.EAFNOSUPPORT && a.IP == nil {
		// A wildcard address on a kernel without IPv6: listen on IPv4 only.
		sa, domain = &unix.SockaddrInet4{Port: a.Port}, unix.AF_INET
		fd, err = unix.Socket(domain, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	}
	if err != nil {
		return -1, nil, os.NewSyscallError("socket", err)
	}
	fail := func(op string, err error) (int, *net.TCPAddr, error) {
		unix.Close(fd)
		return -1, nil, os.NewSyscallError(op, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return fail("setsockopt", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
		return fail("setsockopt", err)
	}
	if domain == unix.AF_INET6 {
		// The wildcard serves IPv4 and IPv6 alike and an explicit IPv6 address IPv6 only,
		// as with net.Listen, whatever the bindv6only sysctl says.
		v6only := 1
		if a.IP == nil {
			v6only = 0
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail("setsockopt", err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return fail("listen", err)
	}
	bsa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	return fd, tcpAddrOf(bsa), nil
}

// listenBacklog is the kernel's somaxconn, as net.Listen uses; 4096 when unreadable.
func listenBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return 4096
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return 4096
	}
	return n
}
