//go:build linux

package bench

import (
	"context"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// loopPair builds a loop engine with one closed-loop connection over a
// socketpair and returns a step that answers the batch in flight from the
// other end and lets the engine read it (which sends the next batch).
func loopPair(tb testing.TB, resp []byte, pipeline int) func() {
	tb.Helper()
	_, step := loopPairRun(tb, resp, pipeline)
	return step
}

func loopPairRun(tb testing.TB, resp []byte, pipeline int) (*Run, func()) {
	tb.Helper()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_, reqs, err := BuildRequests([]string{"http://127.0.0.1:1/"}, "GET", nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r := newRun(context.Background(), Config{Addr: "127.0.0.1:1", Requests: reqs, Connections: 1, Pipeline: pipeline, Timeout: time.Second, Duration: time.Hour, Engine: EngineLoop})
	r.base = time.Now()
	r.end = int64(time.Hour)
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		tb.Fatal(err)
	}
	e := &loopEngine{r: r, epfd: epfd, tfd: -1, efd: -1, evbuf: make([]unix.EpollEvent, 8)}
	c := &lconn{fd: sp[0], sh: r.shards[0], heapIdx: -1, batch: make([]pending, 0, pipeline), rbuf: make([]byte, readBufSize)}
	e.conns = []*lconn{c}
	e.active = 1
	tb.Cleanup(func() { e.close(); unix.Close(sp[1]) })
	e.idle(c, r.now()) // sends the first batch
	answers := make([]byte, 0, len(resp)*pipeline)
	for range pipeline {
		answers = append(answers, resp...)
	}
	drain := make([]byte, 64<<10)
	return r, func() {
		unix.Read(sp[1], drain) // the batch's requests
		if _, err := unix.Write(sp[1], answers); err != nil {
			tb.Fatal(err)
		}
		e.readAt = r.now()
		e.readable(c) // all answers in one read: completes the batch, sends the next
		if r.failed.Load() != 0 || c.bhead != 0 || len(c.batch) != pipeline {
			tb.Fatalf("exchange did not complete: errors %v, %d of %d answered", r.shards[0].errors, c.bhead, len(c.batch))
		}
	}
}

func TestLoopEngineRecordsEveryPipelinedResponse(t *testing.T) {
	for _, resp := range [][]byte{respOK, respChunked, respInterim} {
		r, step := loopPairRun(t, resp, 8)
		for range 100 {
			step()
		}
		if got := r.shards[0].status[200]; got != 800 || r.done.Load() != 800 {
			t.Errorf("%q: %d responses recorded, want 800", resp[:20], got)
		}
	}
}

// With one P the loop holds it while it waits in the kernel; other
// goroutines (Stop, progress, timers) still run when sysmon preempts it.
func TestLoopEngineStopsWithOneP(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"))
	run, err := Start(context.Background(), Config{Addr: addr, Requests: reqs, Connections: 4, Rate: 200, Duration: time.Minute, Pipeline: 1, Timeout: time.Second, Engine: EngineLoop})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if p := run.Progress(); p.Requests < 20 {
		t.Errorf("%d responses after 300ms at 200/s", p.Requests)
	}
	start := time.Now()
	run.Stop()
	res := run.Wait()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Stop took %v", took)
	}
	if res.Requests < 20 || res.ErrorTotal() != 0 {
		t.Errorf("responses %d errors %v", res.Requests, res.Errors)
	}
}

// loopWithPeer builds a loop engine whose one connection is a socketpair;
// the test plays the server on peer. The first batch of pipeline requests is
// already sent; the run allows exactly that many.
func loopWithPeer(tb testing.TB, pipeline int) (r *Run, e *loopEngine, c *lconn, peer int) {
	tb.Helper()
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatal(err)
	}
	_, reqs, _ := BuildRequests([]string{"http://127.0.0.1:1/"}, "GET", nil, nil)
	r = newRun(context.Background(), Config{Addr: "127.0.0.1:1", Requests: reqs, Connections: 1, Pipeline: pipeline, Timeout: time.Second, MaxRequests: int64(pipeline), Engine: EngineLoop})
	r.base = time.Now()
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		tb.Fatal(err)
	}
	e = &loopEngine{r: r, epfd: epfd, tfd: -1, efd: -1, evbuf: make([]unix.EpollEvent, 8)}
	c = &lconn{fd: sp[0], sh: r.shards[0], heapIdx: -1, batch: make([]pending, 0, pipeline), rbuf: make([]byte, readBufSize)}
	e.conns, e.active = []*lconn{c}, 1
	tb.Cleanup(func() { e.close(); unix.Close(sp[1]) })
	e.idle(c, r.now())
	return r, e, c, sp[1]
}

// feed plays data to the engine in writes of step bytes, then closes the
// server side; it returns once the engine saw the close.
func feed(e *loopEngine, c *lconn, peer int, data []byte, step int) {
	for len(data) > 0 && c.fd >= 0 {
		n := min(step, len(data))
		unix.Write(peer, data[:n])
		data = data[n:]
		e.readAt = e.r.now()
		e.readable(c)
	}
	unix.Shutdown(peer, unix.SHUT_WR)
	for range 4 {
		if c.fd < 0 {
			break
		}
		e.readable(c)
	}
}

func TestLoopEngineFramesEveryBodyKindAtAnySplit(t *testing.T) {
	stream := string(respOK) + string(respChunked) + string(respInterim) + string(respMissing) +
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n" +
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n" +
		string(respEOF)
	for step := 1; step <= len(stream); step += 1 + step/8 {
		r, e, c, peer := loopWithPeer(t, 7)
		feed(e, c, peer, []byte(stream), step)
		st := r.shards[0].status
		if st[200] != 4 || st[404] != 1 || st[204] != 1 || st[304] != 1 || r.failed.Load() != 0 {
			t.Fatalf("step %d: 200 x%d 404 x%d 204 x%d 304 x%d, errors %v", step, st[200], st[404], st[204], st[304], r.shards[0].errors)
		}
	}
}

func TestLoopEngineClassifiesTruncationAndGarbage(t *testing.T) {
	tests := []struct {
		name string
		data string
		want ErrorKind
	}{
		{"eof_before_head", "", ErrReset},
		{"eof_inside_head", "HTTP/1.1 200 OK\r\nContent-Le", ErrReset},
		{"eof_inside_body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", ErrReset},
		{"eof_inside_chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", ErrReset},
		{"not_http", "SSH-2.0-OpenSSH\r\n\r\n", ErrBadResponse},
		{"bad_chunk_size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ErrBadResponse},
		{"switching_protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, e, c, peer := loopWithPeer(t, 1)
			feed(e, c, peer, []byte(tt.data), 7)
			if got := r.shards[0].errors[tt.want]; got != 1 || r.done.Load() != 0 {
				t.Errorf("errors %v responses %d, want one %v", r.shards[0].errors, r.done.Load(), tt.want)
			}
		})
	}
}

func FuzzLoopEngineFraming(f *testing.F) {
	f.Add([]byte(respOK), 3, false)
	f.Add([]byte(string(respChunked)+string(respInterim)), 1, false)
	f.Add([]byte(respEOF), 5, false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), 100, true)
	f.Fuzz(func(t *testing.T, data []byte, step int, head bool) {
		if step < 1 || step > 1<<16 {
			step = 1 + (step&0x7fffffff)%4096
		}
		r, e, c, peer := loopWithPeer(t, 4)
		for i := range c.batch {
			c.batch[i].head = head
		}
		feed(e, c, peer, data, step)
		// Every request of the batch has at most one outcome.
		if n := r.done.Load() + r.failed.Load(); n > 4 {
			t.Fatalf("%d outcomes for 4 requests", n)
		}
	})
}
