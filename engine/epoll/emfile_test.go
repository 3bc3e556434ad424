//go:build linux

package epoll

import (
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-gw/sluice/engine"
)

// TestAcceptOutOfDescriptorsBacksOffAndRecovers runs the process out of descriptors while
// connections wait in the accept queue. A level-triggered listener that kept reporting them
// would spin the loop at full CPU; the loop must instead stop watching its listeners until the
// next tick, and accept the waiting connections once descriptors are available again.
func TestAcceptOutOfDescriptorsBacksOffAndRecovers(t *testing.T) {
	const clients = 20
	h := &echoHandler{}
	s, err := Start(h, []string{"127.0.0.1:0"}, engine.Options{Loops: 1, TickInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	sa := &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: s.Addrs()[0].(*net.TCPAddr).Port}

	// The client sockets exist before the limit drops; connect needs no new descriptor.
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for i := 0; i < clients; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
	}
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	open, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open descriptors: %v", err)
	}
	// ReadDir itself held one descriptor; leave room for 3 accepted connections.
	low := lim
	low.Cur = uint64(len(open)) + 3
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("cannot lower RLIMIT_NOFILE: %v", err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
				t.Errorf("restoring RLIMIT_NOFILE: %v", err)
			}
		}
	}
	defer restore()

	for _, fd := range fds {
		if err := unix.Connect(fd, sa); err != nil {
			restore()
			t.Fatalf("connect: %v", err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the loop hits EMFILE and backs off
	opened := h.opens.Load()
	var before, after unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &before)
	time.Sleep(300 * time.Millisecond)
	unix.Getrusage(unix.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano()+after.Stime.Nano()-before.Utime.Nano()-before.Stime.Nano()) * time.Nanosecond
	restore()
	if opened >= clients {
		t.Fatalf("all %d connections were accepted under the lowered limit; nothing was tested", opened)
	}
	t.Logf("accepted %d of %d before EMFILE; process CPU in 300ms while out of descriptors: %v", opened, clients, cpu)
	if cpu > 150*time.Millisecond {
		t.Errorf("the process used %v of CPU in 300ms while out of descriptors: the loop spins", cpu)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.opens.Load() < clients && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := h.opens.Load(); n != clients {
		t.Fatalf("after descriptors were available again %d of %d connections were accepted", n, clients)
	}
}
