//go:build linux && !race

package epoll

import (
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestIdleConnCostsUnderOneKiB opens idle connections from raw client sockets (so the client
// side adds nothing to the Go heap) and measures the heap the engine keeps per connection once
// they are open and have exchanged one message each (so buffers were used and given back).
func TestIdleConnCostsUnderOneKiB(t *testing.T) {
	const n = 1000
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 2*n+100 {
		t.Skipf("need %d descriptors, RLIMIT_NOFILE is %d", 2*n+100, lim.Cur)
	}
	h := &echoHandler{}
	s, _ := startEcho(t, h, 2)
	port := s.Addrs()[0].(*net.TCPAddr).Port
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	fds := make([]int, 0, n)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	msg := []byte("hello")
	buf := make([]byte, len(msg))
	for i := 0; i < n; i++ {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		fds = append(fds, fd)
		if err := unix.Connect(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}, Port: int(port)}); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(fd, msg); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Read(fd, buf); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for h.opens.Load() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	after := heap()
	per := (int64(after) - int64(before)) / n
	t.Logf("%d bytes of Go heap per idle connection", per)
	if per >= 1024 {
		t.Fatalf("%d bytes of Go heap per idle connection, want < 1024", per)
	}
}
