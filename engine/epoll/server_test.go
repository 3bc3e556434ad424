//go:build linux

package epoll

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sluice-gw/sluice/engine"
)

type funcHandler struct {
	echoHandler
	data  func(engine.Conn)
	close func(engine.Conn, error)
}

func (h *funcHandler) OnData(c engine.Conn) {
	if h.data != nil {
		h.data(c)
	}
}

func (h *funcHandler) OnClose(c engine.Conn, err error) {
	if h.close != nil {
		h.close(c, err)
	}
}

func TestStartRejectsBadInput(t *testing.T) {
	if _, err := Start(nil, nil, engine.Options{Loops: 1}); !errors.Is(err, ErrNilHandler) {
		t.Errorf("nil handler: %v, want ErrNilHandler", err)
	}
	for _, a := range []string{"not-an-address", "127.0.0.1:99999", "127.0.0.1:-1"} {
		if s, err := Start(&echoHandler{}, []string{a}, engine.Options{Loops: 1}); err == nil {
			s.Stop()
			t.Errorf("Start(%q) succeeded", a)
		}
	}
	// A port taken by a listener without SO_REUSEPORT cannot be joined.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if s, err := Start(&echoHandler{}, []string{ln.Addr().String()}, engine.Options{Loops: 1}); err == nil {
		s.Stop()
		t.Errorf("Start on a port net.Listen holds succeeded")
	}
}

func TestStartRaisesGOMAXPROCSAboveLoops(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	s, err := Start(&echoHandler{}, nil, engine.Options{Loops: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	if got := runtime.GOMAXPROCS(0); got < 4 {
		t.Fatalf("GOMAXPROCS after Start with 3 loops = %d, want >= 4", got)
	}
}

func TestStopTwiceAndExecuteAfterStop(t *testing.T) {
	s, err := Start(&echoHandler{}, []string{"127.0.0.1:0"}, engine.Options{Loops: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if err := s.StopAccepting(); err != nil {
		t.Fatalf("StopAccepting after Stop: %v", err)
	}
	l := s.Loops()[0]
	if err := l.Execute(func() {}); !errors.Is(err, engine.ErrShutdown) {
		t.Errorf("Execute after Stop: %v, want ErrShutdown", err)
	}
	if err := l.Execute(nil); err == nil {
		t.Error("Execute(nil) succeeded")
	}
	if err := l.Dial("127.0.0.1:1", time.Second, func(engine.Conn, error) {}); !errors.Is(err, engine.ErrShutdown) {
		t.Errorf("Dial after Stop: %v, want ErrShutdown", err)
	}
}

func TestDialByHostName(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, _ := startEcho(t, &echoHandler{}, 1)
	res := make(chan error, 1)
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	err = s.Loops()[0].Dial("localhost:"+port, 2*time.Second, func(c engine.Conn, err error) {
		if err == nil {
			c.Close()
		}
		res <- err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-res:
		if err != nil {
			t.Fatalf("dial localhost: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no dial callback")
	}
	if err := s.Loops()[0].Dial("localhost:"+port, time.Second, nil); !errors.Is(err, ErrNilCallback) {
		t.Errorf("Dial with nil callback: %v", err)
	}
}

// TestWriteErrorClosesAfterTheCallback makes a Write fail (EPIPE: the socket's sending half
// was shut down behind the engine's back): Write returns the error, a second Write returns it
// again, and OnClose comes once with it after the callback, never from inside Write. It also
// proves EPIPE does not kill the process with SIGPIPE.
func TestWriteErrorClosesAfterTheCallback(t *testing.T) {
	var inCallback, reentrant atomic.Bool
	closed := make(chan error, 4)
	writeErrs := make(chan [2]error, 1)
	conns := make(chan engine.Conn, 1)
	h := &funcHandler{
		data: func(c engine.Conn) {
			c.Discard(len(c.Peek()))
			conns <- c
		},
		close: func(c engine.Conn, err error) {
			if inCallback.Load() {
				reentrant.Store(true)
			}
			closed <- err
		},
	}
	_, addr := startEcho(t, h, 1)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("x"))
	sc := <-conns
	sc.Loop().Execute(func() {
		inCallback.Store(true)
		defer inCallback.Store(false)
		unix.Shutdown(sc.Fd(), unix.SHUT_WR)
		writeErrs <- [2]error{sc.Write([]byte("a")), sc.Write([]byte("b"))}
	})
	errs := <-writeErrs
	if !errors.Is(errs[0], unix.EPIPE) || !errors.Is(errs[1], unix.EPIPE) {
		t.Fatalf("writes after the socket was shut down: %v, %v; want EPIPE twice", errs[0], errs[1])
	}
	select {
	case err := <-closed:
		if !errors.Is(err, unix.EPIPE) {
			t.Errorf("OnClose error %v, want the EPIPE of the write", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no OnClose after a failed write")
	}
	if reentrant.Load() {
		t.Error("OnClose was called from inside the callback that wrote")
	}
	select {
	case err := <-closed:
		t.Errorf("second OnClose: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
}
