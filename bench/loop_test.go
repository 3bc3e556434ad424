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
