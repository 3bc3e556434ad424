package enginetest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/engine"
)

// Starter starts a backend on addrs with handler h and options o, failing t when it cannot.
// The suite stops the server itself (once) when the test ends.
type Starter = func(t *testing.T, h engine.Handler, addrs []string, o engine.Options) engine.Server

// Run runs the whole conformance suite against the backend that start starts.
func Run(t *testing.T, start Starter) {
	tests := []struct {
		name string
		fn   func(*testing.T, Starter)
	}{
		{"ServerListsLoopsAndAddrs", testServerListsLoopsAndAddrs},
		{"EchoOverManyConnections", testEchoOverManyConnections},
		{"UnconsumedBytesAreOfferedAgainContiguously", testUnconsumedBytesAreOfferedAgain},
		{"LargeWriteIsQueuedAndFullyDelivered", testLargeWriteIsQueuedAndDelivered},
		{"PauseReadStopsOnDataAndResumes", testPauseReadStopsOnDataAndResumes},
		{"OnWritableFiresAfterHighWatermarkDrains", testOnWritableAfterDrain},
		{"DialConnectsOnTheLoop", testDialConnectsOnTheLoop},
		{"DialToRefusedPortFails", testDialRefused},
		{"DialToBlackHoleTimesOut", testDialTimeout},
		{"DialRejectsMalformedAddress", testDialMalformed},
		{"ExecuteRunsOnTheLoopGoroutine", testExecuteRunsOnTheLoop},
		{"DetachHandsOverSocketAndBufferedBytes", testDetach},
		{"DetachKeepsQueuedOutboundBytesInOrder", testDetachKeepsQueuedOutbound},
		{"CloseWriteHalfClosesAfterQueueDrains", testCloseWrite},
		{"OnCloseOncePerConnWithCause", testOnCloseOnceWithCause},
		{"StopAcceptingKeepsEstablishedConns", testStopAccepting},
		{"StopEndsEverything", testStopEndsEverything},
		{"OnTickFiresOnEveryLoop", testOnTick},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, start) })
	}
}

const (
	testLoops   = 2
	testTimeout = 10 * time.Second
)

func options() engine.Options {
	return engine.Options{Loops: testLoops, TickInterval: 20 * time.Millisecond}
}

// fixture is a running server under test.
type fixture struct {
	t     *testing.T
	srv   engine.Server
	addrs []string
	once  sync.Once
	err   error
}

// serve starts the backend on n fresh loopback addresses and stops it when the test ends.
// The suite picks the ports itself (listen on port 0, close, reuse the number) because not
// every backend can report what a ":0" listener was bound to.
func serve(t *testing.T, start Starter, h engine.Handler, o engine.Options, n int) *fixture {
	t.Helper()
	addrs := freeAddrs(t, n)
	srv := start(t, h, addrs, o)
	if srv == nil {
		t.Fatal("start returned a nil server")
	}
	f := &fixture{t: t, srv: srv, addrs: addrs}
	t.Cleanup(func() {
		if err := f.stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return f
}

// stop stops the server once, bounded in time.
func (f *fixture) stop() error {
	f.once.Do(func() {
		done := make(chan error, 1)
		go func() { done <- f.srv.Stop() }()
		select {
		case f.err = <-done:
		case <-time.After(testTimeout):
			f.err = errors.New("Stop did not return in time")
		}
	})
	return f.err
}

func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var lns []net.Listener
	var addrs []string
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	for _, ln := range lns {
		ln.Close()
	}
	return addrs
}

// dial connects a client with a deadline covering the whole test.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(testTimeout))
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes msg and reads len(msg) bytes back, expecting an echo.
func roundTrip(c net.Conn, msg []byte) error {
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return fmt.Errorf("echo of %d bytes differs", len(msg))
	}
	return nil
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// waitFor polls cond every 5ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

// onLoop runs fn on l and waits for it.
func onLoop(t *testing.T, l engine.Loop, fn func()) {
	t.Helper()
	done := make(chan struct{})
	if err := l.Execute(func() { fn(); close(done) }); err != nil {
		t.Fatalf("Execute: %v", err)
	}
	recv(t, done, "task on the loop")
}

func loopsOf(t *testing.T, f *fixture, want int) []engine.Loop {
	t.Helper()
	ls := f.srv.Loops()
	if len(ls) != want {
		t.Fatalf("Loops() has %d loops, want %d", len(ls), want)
	}
	return ls
}

func testServerListsLoopsAndAddrs(t *testing.T, start Starter) {
	f := serve(t, start, &handler{data: echo}, options(), 2)
	for i, l := range loopsOf(t, f, testLoops) {
		if l.Index() != i {
			t.Errorf("Loops()[%d].Index() = %d", i, l.Index())
		}
	}
	got := f.srv.Addrs()
	if len(got) != len(f.addrs) {
		t.Fatalf("Addrs() = %v, want %v", got, f.addrs)
	}
	for i, a := range got {
		if a.String() != f.addrs[i] {
			t.Errorf("Addrs()[%d] = %v, want %s", i, a, f.addrs[i])
		}
		c := dial(t, f.addrs[i])
		if err := roundTrip(c, []byte("ping")); err != nil {
			t.Errorf("echo on %s: %v", f.addrs[i], err)
		}
	}
}

func testEchoOverManyConnections(t *testing.T, start Starter) {
	f := serve(t, start, &handler{data: echo}, options(), 1)
	const conns, rounds = 64, 40
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", f.addrs[0], testTimeout)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(testTimeout))
			for r := 0; r < rounds; r++ {
				msg := make([]byte, 1+(i*131+r*977)%8192)
				pattern(msg, i*rounds+r)
				if err := roundTrip(c, msg); err != nil {
					errs <- fmt.Errorf("conn %d round %d: %w", i, r, err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// testUnconsumedBytesAreOfferedAgain sends lines cut into random fragments; the handler echoes
// complete lines only, so partial lines must stay buffered and be offered again, contiguous
// with what arrives next. One line is 1 MiB, so the buffer must grow.
func testUnconsumedBytesAreOfferedAgain(t *testing.T, start Starter) {
	var bad atomic.Int32
	h := &handler{data: func(c engine.Conn) {
		for {
			p := c.Peek()
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return
			}
			if !validLine(p[:i]) {
				bad.Add(1)
			}
			if c.Write(p[:i+1]) != nil {
				return
			}
			c.Discard(i + 1)
		}
	}}
	f := serve(t, start, h, options(), 1)
	c := dial(t, f.addrs[0])
	rng := rand.New(rand.NewSource(1))
	var stream bytes.Buffer
	for i := 0; i < 400; i++ {
		n := 1 + rng.Intn(3000)
		if i == 200 {
			n = 1 << 20
		}
		stream.WriteString(makeLine(i, n))
	}
	want := stream.Bytes()
	errc := make(chan error, 1)
	go func() {
		p := want
		for len(p) > 0 {
			n := 1 + rng.Intn(5000)
			if n > len(p) {
				n = len(p)
			}
			if _, err := c.Write(p[:n]); err != nil {
				errc <- err
				return
			}
			p = p[n:]
			if rng.Intn(20) == 0 {
				time.Sleep(time.Millisecond) // let the fragment arrive alone
			}
		}
		errc <- nil
	}()
	got := make([]byte, len(want))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, errc, "writer"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("lines echoed differ from lines sent")
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("handler saw %d lines that were not sent", n)
	}
}

// makeLine is "<i>:<filler>\n" with n filler bytes that depend on i.
func makeLine(i, n int) string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(i))
	b.WriteByte(':')
	for j := 0; j < n; j++ {
		b.WriteByte('a' + byte((i+j)%26))
	}
	b.WriteByte('\n')
	return b.String()
}

func validLine(p []byte) bool {
	k := bytes.IndexByte(p, ':')
	if k < 0 {
		return false
	}
	i, err := strconv.Atoi(string(p[:k]))
	if err != nil {
		return false
	}
	for j, ch := range p[k+1:] {
		if ch != 'a'+byte((i+j)%26) {
			return false
		}
	}
	return true
}

func testLargeWriteIsQueuedAndDelivered(t *testing.T, start Starter) {
	const size = 16 << 20
	payload := make([]byte, size)
	pattern(payload, 0)
	queued := make(chan int, 4)
	h := &handler{data: func(c engine.Conn) {
		for {
			s, n, ok := line(c)
			if !ok {
				return
			}
			c.Discard(n)
			switch s {
			case "BIG":
				c.Write(payload)
				queued <- c.OutboundBuffered()
			case "BIG2":
				c.Write2(payload[:1000], payload[1000:])
				queued <- c.OutboundBuffered()
			case "Q":
				c.Write([]byte(strconv.Itoa(c.OutboundBuffered()) + "\n"))
			}
		}
	}}
	f := serve(t, start, h, options(), 1)
	c := dial(t, f.addrs[0])
	br := bufio.NewReader(c)
	for _, cmd := range []string{"BIG", "BIG2"} {
		if _, err := c.Write([]byte(cmd + "\n")); err != nil {
			t.Fatal(err)
		}
		// The client reads nothing yet, so the socket cannot have taken 16 MiB.
		q := recv(t, queued, "OutboundBuffered after "+cmd)
		if q <= 0 || q > size {
			t.Fatalf("%s: OutboundBuffered right after the write = %d, want in (0, %d]", cmd, q, size)
		}
		got := make([]byte, size)
		if _, err := io.ReadFull(br, got); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		if !bytes.Equal(got, payload) {
			t.Fatalf("%s: the %d bytes delivered differ from those written", cmd, size)
		}
		c.Write([]byte("Q\n"))
		s, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if s != "0\n" {
			t.Fatalf("%s: OutboundBuffered after delivery = %q, want 0", cmd, s)
		}
	}
}

// pauseState is a paused connection's count of bytes OnData saw after the pause.
type pauseState struct{ after atomic.Int64 }

func testPauseReadStopsOnDataAndResumes(t *testing.T, start Starter) {
	paused := make(chan engine.Conn, 2)
	pauseErr := make(chan error, 2)
	h := &handler{data: func(c engine.Conn) {
		st, _ := c.Context().(*pauseState)
		if st == nil {
			s, n, ok := line(c)
			if !ok || s != "PAUSE" {
				return
			}
			c.Discard(n)
			c.SetContext(&pauseState{})
			if err := c.PauseRead(true); err != nil {
				pauseErr <- err
				return
			}
			paused <- c
			return // whatever followed the line stays buffered
		}
		st.after.Add(int64(len(c.Peek())))
		c.Discard(len(c.Peek()))
	}}
	f := serve(t, start, h, options(), 1)
	pause := func(c net.Conn) (engine.Conn, *pauseState) {
		t.Helper()
		c.Write([]byte("PAUSE\nleft"))
		select {
		case sc := <-paused:
			return sc, sc.Context().(*pauseState)
		case err := <-pauseErr:
			if errors.Is(err, engine.ErrNotSupported) {
				t.Skip("backend cannot pause reading (engine.ErrNotSupported)")
			}
			t.Fatalf("PauseRead: %v", err)
		case <-time.After(testTimeout):
			t.Fatal("no OnData for PAUSE")
		}
		panic("unreachable")
	}
	resume := func(sc engine.Conn) {
		t.Helper()
		onLoop(t, sc.Loop(), func() {
			if err := sc.PauseRead(false); err != nil {
				t.Errorf("PauseRead(false): %v", err)
			}
		})
	}

	// Bytes left buffered at the pause are offered again on resume, with nothing new sent.
	c1 := dial(t, f.addrs[0])
	sc1, st1 := pause(c1)
	time.Sleep(50 * time.Millisecond)
	if got := st1.after.Load(); got != 0 {
		t.Fatalf("OnData saw %d bytes while paused", got)
	}
	resume(sc1)
	if !waitFor(testTimeout, func() bool { return st1.after.Load() == int64(len("left")) }) {
		t.Fatalf("after resuming, OnData saw %d of the %d bytes left buffered", st1.after.Load(), len("left"))
	}

	// While paused, the kernel buffers fill and TCP flow control stops the writer: a 64 MiB
	// write must not complete within its deadline.
	c2 := dial(t, f.addrs[0])
	sc2, st2 := pause(c2)
	big := make([]byte, 64<<20)
	c2.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
	n, err := c2.Write(big)
	if err == nil {
		t.Fatalf("a %d-byte write to a paused connection completed: no backpressure", n)
	}
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("write to paused connection: %v, want a timeout", err)
	}
	if got := st2.after.Load(); got != 0 {
		t.Fatalf("OnData saw %d bytes while paused", got)
	}
	resume(sc2)
	want := int64(n + len("left"))
	if !waitFor(testTimeout, func() bool { return st2.after.Load() == want }) {
		t.Fatalf("after resuming OnData saw %d bytes, want %d", st2.after.Load(), want)
	}
}

func testOnWritableAfterDrain(t *testing.T, start Starter) {
	const size = 16 << 20
	payload := make([]byte, size)
	o := options()
	o.HighWatermark, o.LowWatermark = 64<<10, 16<<10
	queued := make(chan int, 1)
	writable := make(chan int, 16)
	h := &handler{
		data: func(c engine.Conn) {
			if s, n, ok := line(c); ok && s == "B" {
				c.Discard(n)
				c.Write(payload)
				queued <- c.OutboundBuffered()
			}
		},
		writable: func(c engine.Conn) { writable <- c.OutboundBuffered() },
	}
	f := serve(t, start, h, o, 1)
	c := dial(t, f.addrs[0])
	c.Write([]byte("B\n"))
	if q := recv(t, queued, "the burst"); q <= o.HighWatermark {
		t.Fatalf("OutboundBuffered after a %d-byte burst = %d, want above the high watermark %d", size, q, o.HighWatermark)
	}
	select {
	case q := <-writable:
		t.Fatalf("OnWritable fired with %d bytes queued before the client read anything", q)
	default:
	}
	if _, err := io.ReadFull(c, make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	if q := recv(t, writable, "OnWritable"); q >= o.LowWatermark {
		t.Fatalf("OnWritable with %d bytes queued, want below the low watermark %d", q, o.LowWatermark)
	}
}

type dialResult struct {
	c   engine.Conn
	err error
	gid uint64
}

func dialOn(t *testing.T, l engine.Loop, addr string, timeout time.Duration, onConn func(engine.Conn)) (chan dialResult, error) {
	res := make(chan dialResult, 1)
	err := l.Dial(addr, timeout, func(c engine.Conn, err error) {
		if err == nil && onConn != nil {
			onConn(c)
		}
		res <- dialResult{c, err, goid()}
	})
	return res, err
}

func loopGoroutine(t *testing.T, l engine.Loop) uint64 {
	var id uint64
	onLoop(t, l, func() { id = goid() })
	return id
}

func testDialConnectsOnTheLoop(t *testing.T, start Starter) {
	upData := make(chan []byte, 16)
	upClosed := make(chan error, 1)
	h := &handler{
		data: func(c engine.Conn) {
			if c.Context() == "upstream" {
				upData <- append([]byte(nil), c.Peek()...)
				c.Discard(len(c.Peek()))
			}
		},
		close: func(c engine.Conn, err error) {
			if c.Context() == "upstream" {
				upClosed <- err
			}
		},
	}
	f := serve(t, start, h, options(), 1)
	l := loopsOf(t, f, testLoops)[1]
	gid := loopGoroutine(t, l)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	res, err := dialOn(t, l, ln.Addr().String(), 2*time.Second, func(c engine.Conn) {
		c.SetContext("upstream")
		c.Write([]byte("hello\n"))
	})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	peer.SetDeadline(time.Now().Add(testTimeout))
	r := recv(t, res, "dial callback")
	if r.err != nil || r.c == nil {
		t.Fatalf("dial callback got (%v, %v), want a connection", r.c, r.err)
	}
	if r.gid != gid {
		t.Errorf("dial callback ran on goroutine %d, the loop is %d", r.gid, gid)
	}
	if r.c.Loop().Index() != l.Index() {
		t.Errorf("dialed conn is on loop %d, want %d", r.c.Loop().Index(), l.Index())
	}
	if ra := r.c.RemoteAddr(); ra == nil || ra.String() != ln.Addr().String() {
		t.Errorf("RemoteAddr() = %v, want %v", ra, ln.Addr())
	}
	br := bufio.NewReader(peer)
	if s, err := br.ReadString('\n'); err != nil || s != "hello\n" {
		t.Fatalf("upstream read %q, %v", s, err)
	}
	peer.Write([]byte("world\n"))
	var got []byte
	for len(got) < len("world\n") {
		got = append(got, recv(t, upData, "upstream OnData")...)
	}
	if string(got) != "world\n" {
		t.Fatalf("OnData of the dialed conn got %q", got)
	}
	onLoop(t, l, func() { r.c.Close() })
	if err := recv(t, upClosed, "OnClose of the dialed conn"); err != nil {
		t.Errorf("OnClose after a local Close: %v, want nil", err)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("upstream read after Close: %v, want EOF", err)
	}
}

func testDialRefused(t *testing.T, start Starter) {
	f := serve(t, start, &handler{}, options(), 1)
	addr := freeAddrs(t, 1)[0] // nothing listens there any more
	begin := time.Now()
	res, err := dialOn(t, loopsOf(t, f, testLoops)[0], addr, 2*time.Second, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	r := recv(t, res, "dial callback")
	if r.err == nil {
		t.Fatal("dial to a closed port succeeded")
	}
	if r.c != nil {
		t.Errorf("failed dial also returned a connection %v", r.c)
	}
	if !errors.Is(r.err, syscall.ECONNREFUSED) {
		t.Errorf("dial error %v, want ECONNREFUSED", r.err)
	}
	if d := time.Since(begin); d >= 2*time.Second {
		t.Errorf("refusal took %v, as long as the timeout", d)
	}
}

func testDialTimeout(t *testing.T, start Starter) {
	addr, release, err := blackHole()
	if err != nil {
		t.Skipf("no black-hole address on loopback: %v", err)
	}
	defer release()
	f := serve(t, start, &handler{}, options(), 1)
	const timeout = 300 * time.Millisecond
	begin := time.Now()
	res, err := dialOn(t, loopsOf(t, f, testLoops)[0], addr, timeout, nil)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	r := recv(t, res, "dial callback")
	d := time.Since(begin)
	if !errors.Is(r.err, engine.ErrDialTimeout) {
		t.Fatalf("dial to a black hole: (%v, %v), want engine.ErrDialTimeout", r.c, r.err)
	}
	if d < timeout-50*time.Millisecond || d > timeout+2*time.Second {
		t.Errorf("timeout of %v reported after %v", timeout, d)
	}
}

func testDialMalformed(t *testing.T, start Starter) {
	f := serve(t, start, &handler{}, options(), 1)
	l := loopsOf(t, f, testLoops)[0]
	for _, addr := range []string{"", "127.0.0.1", "127.0.0.1:99999", "127.0.0.1:http-nope", "[::1"} {
		res, err := dialOn(t, l, addr, time.Second, nil)
		if err != nil {
			continue // reported synchronously
		}
		if r := recv(t, res, "dial callback for "+addr); r.err == nil {
			t.Errorf("Dial(%q) succeeded", addr)
		}
	}
}

func testExecuteRunsOnTheLoop(t *testing.T, start Starter) {
	var gids [testLoops]atomic.Uint64
	h := &handler{tick: func(l engine.Loop, now int64) {
		gids[l.Index()].CompareAndSwap(0, goid())
	}}
	f := serve(t, start, h, options(), 1)
	loops := loopsOf(t, f, testLoops)
	if !waitFor(testTimeout, func() bool {
		for i := range gids {
			if gids[i].Load() == 0 {
				return false
			}
		}
		return true
	}) {
		t.Fatal("OnTick did not run on every loop")
	}
	// counters are deliberately plain ints: only the loop touches its own, which the race
	// detector checks when the suite runs with -race.
	var counters [testLoops]int
	var wrong atomic.Int32
	var wg sync.WaitGroup
	const senders, each = 8, 200
	for s := 0; s < senders; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < each; k++ {
				for i, l := range loops {
					i := i
					wg.Add(1)
					if err := l.Execute(func() {
						defer wg.Done()
						if goid() != gids[i].Load() {
							wrong.Add(1)
						}
						counters[i]++
					}); err != nil {
						wg.Done()
						t.Errorf("Execute: %v", err)
					}
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	recv(t, done, "all tasks")
	for i, l := range loops {
		var n int
		onLoop(t, l, func() { n = counters[i] })
		if n != senders*each {
			t.Errorf("loop %d ran %d tasks, want %d", i, n, senders*each)
		}
	}
	if n := wrong.Load(); n != 0 {
		t.Errorf("%d tasks ran off their loop's goroutine", n)
	}
	// A task queued from the loop runs after the current one, never inside it.
	var inside bool
	order := make(chan string, 2)
	onLoop(t, loops[0], func() {
		inside = true
		loops[0].Execute(func() {
			if inside {
				order <- "nested"
				return
			}
			order <- "after"
		})
		inside = false
	})
	if got := recv(t, order, "task queued from the loop"); got != "after" {
		t.Errorf("a task queued from the loop ran %s", got)
	}
}

type detached struct {
	nc  net.Conn
	buf []byte
	err error
}

func testDetach(t *testing.T, start Starter) {
	const hello = "DETACH\nhello"
	out := make(chan detached, 1)
	var closes atomic.Int32
	h := &handler{
		data: func(c engine.Conn) {
			if len(c.Peek()) < len(hello) {
				return
			}
			nc, buf, err := c.Detach()
			out <- detached{nc, buf, err}
		},
		close: func(engine.Conn, error) { closes.Add(1) },
	}
	f := serve(t, start, h, options(), 1)
	c := dial(t, f.addrs[0])
	c.Write([]byte(hello))
	d := recv(t, out, "Detach")
	if d.err != nil {
		t.Fatalf("Detach: %v", d.err)
	}
	defer d.nc.Close()
	if string(d.buf) != hello {
		t.Fatalf("Detach returned buffered %q, want %q", d.buf, hello)
	}
	d.nc.SetDeadline(time.Now().Add(testTimeout))
	if _, err := d.nc.Write([]byte("from-server\n")); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if s, err := br.ReadString('\n'); err != nil || s != "from-server\n" {
		t.Fatalf("client read %q, %v", s, err)
	}
	c.Write([]byte("ping\n"))
	if s, err := bufio.NewReader(d.nc).ReadString('\n'); err != nil || s != "ping\n" {
		t.Fatalf("detached conn read %q, %v", s, err)
	}
	d.nc.Close()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("client read after closing the detached conn: %v, want EOF", err)
	}
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	if n := closes.Load(); n != 0 {
		t.Errorf("OnClose called %d times for a detached conn", n)
	}
}

func testDetachKeepsQueuedOutbound(t *testing.T, start Starter) {
	const size = 8 << 20
	payload := make([]byte, size)
	pattern(payload, 7)
	out := make(chan detached, 1)
	queued := make(chan int, 1)
	h := &handler{data: func(c engine.Conn) {
		if s, n, ok := line(c); ok && s == "BIGDETACH" {
			c.Discard(n)
			c.Write(payload)
			queued <- c.OutboundBuffered()
			nc, buf, err := c.Detach()
			out <- detached{nc, buf, err}
		}
	}}
	f := serve(t, start, h, options(), 1)
	c := dial(t, f.addrs[0])
	c.Write([]byte("BIGDETACH\n"))
	if q := recv(t, queued, "the burst"); q == 0 {
		t.Fatal("the socket took 8 MiB at once; nothing was queued to test")
	}
	d := recv(t, out, "Detach")
	if errors.Is(d.err, engine.ErrNotSupported) {
		t.Skipf("backend cannot detach with queued outbound bytes: %v", d.err)
	}
	if d.err != nil {
		t.Fatalf("Detach: %v", d.err)
	}
	defer d.nc.Close()
	if len(d.buf) != 0 {
		t.Errorf("Detach returned %d buffered bytes, want none", len(d.buf))
	}
	d.nc.SetDeadline(time.Now().Add(testTimeout))
	werr := make(chan error, 1)
	go func() {
		_, err := d.nc.Write([]byte("TAIL"))
		werr <- err
	}()
	got := make([]byte, size+4)
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, werr, "write on the detached conn"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got[:size], payload) || string(got[size:]) != "TAIL" {
		t.Fatal("bytes queued before Detach were lost or reordered")
	}
}

func testCloseWrite(t *testing.T, start Starter) {
	const size = 8 << 20
	payload := make([]byte, size)
	pattern(payload, 3)
	after := make(chan []byte, 16)
	closed := make(chan error, 2)
	h := &handler{
		data: func(c engine.Conn) {
			if c.Context() == "half" {
				after <- append([]byte(nil), c.Peek()...)
				c.Discard(len(c.Peek()))
				return
			}
			s, n, ok := line(c)
			if !ok {
				return
			}
			c.Discard(n)
			switch s {
			case "HALF":
				c.Write([]byte("bye\n"))
			case "BIGHALF":
				c.Write(payload)
			default:
				return
			}
			c.SetContext("half")
			if err := c.CloseWrite(); err != nil {
				t.Errorf("CloseWrite: %v", err)
			}
			if err := c.Write([]byte("x")); err == nil {
				t.Error("Write after CloseWrite succeeded")
			}
		},
		close: func(c engine.Conn, err error) { closed <- err },
	}
	f := serve(t, start, h, options(), 1)

	c := dial(t, f.addrs[0])
	c.Write([]byte("HALF\n"))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye\n" {
		t.Fatalf("client read %q, %v before EOF", got, err)
	}
	c.Write([]byte("after"))
	var seen []byte
	for len(seen) < len("after") {
		seen = append(seen, recv(t, after, "OnData after CloseWrite")...)
	}
	if string(seen) != "after" {
		t.Fatalf("reading after CloseWrite got %q", seen)
	}
	c.Close()
	if err := recv(t, closed, "OnClose"); !errors.Is(err, io.EOF) {
		t.Errorf("OnClose after the peer closed: %v, want io.EOF", err)
	}

	c2 := dial(t, f.addrs[0])
	c2.Write([]byte("BIGHALF\n"))
	got, err = io.ReadAll(c2)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("after a queued 8 MiB write and CloseWrite the client read %d bytes (%v), want exactly the payload then EOF", len(got), err)
	}
}

func testOnCloseOnceWithCause(t *testing.T, start Starter) {
	var mu sync.Mutex
	causes := map[string][]error{}
	opened := make(chan string, 8)
	writeAfterClose := make(chan error, 1)
	h := &handler{
		open: func(c engine.Conn) { opened <- c.RemoteAddr().String() },
		data: func(c engine.Conn) {
			if s, _, ok := line(c); ok && s == "CLOSE" {
				if err := c.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				writeAfterClose <- c.Write([]byte("late"))
			}
		},
		close: func(c engine.Conn, err error) {
			mu.Lock()
			causes[c.RemoteAddr().String()] = append(causes[c.RemoteAddr().String()], err)
			mu.Unlock()
		},
	}
	f := serve(t, start, h, options(), 1)
	open := func() (net.Conn, string) {
		c := dial(t, f.addrs[0])
		key := c.LocalAddr().String()
		if got := recv(t, opened, "OnOpen"); got != key {
			t.Fatalf("OnOpen for %s, want %s", got, key)
		}
		return c, key
	}
	count := func(key string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(causes[key])
	}
	first := func(key string) error {
		mu.Lock()
		defer mu.Unlock()
		return causes[key][0]
	}

	peerClosed, kPeer := open()
	peerClosed.Close()
	localClosed, kLocal := open()
	localClosed.Write([]byte("CLOSE\n"))
	reset, kReset := open()
	reset.(*net.TCPConn).SetLinger(0) // close sends RST
	reset.Close()
	_, kStop := open()

	for _, k := range []string{kPeer, kLocal, kReset} {
		if !waitFor(testTimeout, func() bool { return count(k) > 0 }) {
			t.Fatalf("no OnClose for %s", k)
		}
	}
	if err := first(kPeer); !errors.Is(err, io.EOF) {
		t.Errorf("peer close: OnClose err %v, want io.EOF", err)
	}
	if err := first(kLocal); err != nil {
		t.Errorf("local Close: OnClose err %v, want nil", err)
	}
	if err := recv(t, writeAfterClose, "write after close"); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Write after Close: %v, want engine.ErrClosed", err)
	}
	if _, err := localClosed.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client read after the server closed: %v, want EOF", err)
	}
	if err := first(kReset); err == nil {
		t.Error("peer reset: OnClose err nil, want the reset")
	} else {
		t.Logf("peer reset reported as %v", err)
	}
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{kPeer, kLocal, kReset, kStop} {
		if n := count(k); n != 1 {
			t.Errorf("OnClose for %s called %d times, want once", k, n)
		}
	}
}

func testStopAccepting(t *testing.T, start Starter) {
	f := serve(t, start, &handler{data: echo}, options(), 1)
	old := dial(t, f.addrs[0])
	if err := roundTrip(old, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.StopAccepting(); err != nil {
		if errors.Is(err, engine.ErrNotSupported) {
			t.Skip("backend cannot stop accepting (engine.ErrNotSupported)")
		}
		t.Fatalf("StopAccepting: %v", err)
	}
	refused := waitFor(2*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", f.addrs[0], 200*time.Millisecond)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	if !refused {
		t.Fatal("new connections are still accepted after StopAccepting")
	}
	for i := 0; i < 5; i++ {
		if err := roundTrip(old, []byte("after-"+strconv.Itoa(i))); err != nil {
			t.Fatalf("established conn after StopAccepting: %v", err)
		}
	}
}

func testStopEndsEverything(t *testing.T, start Starter) {
	var closes atomic.Int32
	h := &handler{data: echo, close: func(engine.Conn, error) { closes.Add(1) }}
	f := serve(t, start, h, options(), 1)
	const n = 4
	var clients []net.Conn
	for i := 0; i < n; i++ {
		c := dial(t, f.addrs[0])
		if err := roundTrip(c, []byte("x")); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	loops := loopsOf(t, f, testLoops)
	if err := f.stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- f.srv.Wait() }()
	if err := recv(t, waited, "Wait after Stop"); err != nil {
		t.Errorf("Wait: %v", err)
	}
	for i, c := range clients {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Errorf("client %d still reads after Stop", i)
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("client %d: connection left open after Stop", i)
		}
	}
	if got := closes.Load(); got != n {
		t.Errorf("OnClose called %d times after Stop, want %d", got, n)
	}
	if err := loops[0].Execute(func() {}); err == nil {
		t.Error("Execute after Stop succeeded")
	}
	if _, err := net.DialTimeout("tcp", f.addrs[0], time.Second); err == nil {
		t.Error("listener still accepts after Stop")
	}
}

func testOnTick(t *testing.T, start Starter) {
	var mu sync.Mutex
	ticks := map[int][]int64{}
	var clockSkew atomic.Int64
	h := &handler{tick: func(l engine.Loop, now int64) {
		if d := l.Now() - now; d > int64(time.Second) || d < -int64(time.Second) {
			clockSkew.Store(d)
		}
		mu.Lock()
		ticks[l.Index()] = append(ticks[l.Index()], now)
		mu.Unlock()
	}}
	o := options()
	serve(t, start, h, o, 1)
	enough := waitFor(testTimeout, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for i := 0; i < testLoops; i++ {
			if len(ticks[i]) < 10 {
				return false
			}
		}
		return true
	})
	if !enough {
		t.Fatalf("OnTick counts per loop after %v: %v", testTimeout, ticks)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < testLoops; i++ {
		ts := ticks[i]
		for k := 1; k < len(ts); k++ {
			if ts[k] <= ts[k-1] {
				t.Fatalf("loop %d: tick clock went from %d to %d", i, ts[k-1], ts[k])
			}
		}
		// Ten ticks of 20ms must not come faster than the interval allows.
		if span := time.Duration(ts[9] - ts[0]); span < 9*o.TickInterval*8/10 {
			t.Errorf("loop %d: 10 ticks within %v, interval %v", i, span, o.TickInterval)
		}
	}
	if d := clockSkew.Load(); d != 0 {
		t.Errorf("Loop.Now() and the tick's now differ by %v", time.Duration(d))
	}
}
