package bench

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runFor runs cfg against the test server and fails the test if the run does
// not end within limit.
func runFor(t *testing.T, cfg Config, limit time.Duration) *Result {
	t.Helper()
	cfg = withTestEngine(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Pipeline == 0 {
		cfg.Pipeline = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	run, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res := run.Wait()
	if ctx.Err() != nil {
		t.Fatalf("run did not finish within %v", limit)
	}
	return res
}

// withTestEngine sets the engine named by SLUICE_BENCH_ENGINE, which
// TestGoroutineEngineSuite sets to run every load test again on the
// goroutine engine.
func withTestEngine(cfg Config) Config {
	if cfg.Engine == "" {
		cfg.Engine = os.Getenv("SLUICE_BENCH_ENGINE")
	}
	return cfg
}

func mustRequests(t *testing.T, urls ...string) (string, []Request) {
	t.Helper()
	addr, reqs, err := BuildRequests(urls, "GET", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return addr, reqs
}

// timingAttempts bounds the retries of the tests that assert timing. The
// loopback of a shared machine drops packets when its CPUs are saturated
// (see /proc/net/softnet_stat) and a dropped segment costs a 1 s
// retransmission timeout, which shows up as a stall that is not the server's.
// Each attempt's assertions are strict; a defect fails every attempt.
const timingAttempts = 3

// retransmits reads the kernel's count of retransmitted TCP segments.
func retransmits() int64 {
	data, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	var names, values []string
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "Tcp: "); ok {
			if names == nil {
				names = strings.Fields(rest)
			} else {
				values = strings.Fields(rest)
			}
		}
	}
	for i, n := range names {
		if n == "RetransSegs" && i < len(values) {
			v, _ := strconv.ParseInt(values[i], 10, 64)
			return v
		}
	}
	return -1
}

// eventually runs attempt until it reports no problem, at most
// timingAttempts times, and fails with the last attempt's problems.
func eventually(t *testing.T, attempt func() []string) {
	t.Helper()
	var problems []string
	for i := 1; i <= timingAttempts; i++ {
		before := retransmits()
		problems = attempt()
		if len(problems) == 0 {
			return
		}
		t.Logf("attempt %d (%d TCP retransmissions on the machine meanwhile): %s", i, retransmits()-before, strings.Join(problems, "; "))
	}
	t.Errorf("%d attempts failed; last: %s", timingAttempts, strings.Join(problems, "; "))
}

func TestOpenLoopStallShowsInCorrectedLatencyOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("4 s of load")
	}
	eventually(t, func() (problems []string) {
		bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
		srv := newTestServer(t)
		// The 500th request (about 1 s into a 500 req/s run) pauses the
		// whole server for 1 s: every connection's answer waits.
		srv.setStall(func(seq int64) time.Duration {
			if seq == 500 {
				return time.Second
			}
			return 0
		})
		addr, reqs := mustRequests(t, srv.url("/ok"))
		res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 4, Rate: 500, Duration: 4 * time.Second}, 15*time.Second)
		srv.close()

		if res.Requests != 2000 || res.ErrorTotal() != 0 {
			bad("responses %d errors %v, want 2000 and none", res.Requests, res.Errors)
		}
		if res.RPS < 495 || res.RPS > 505 {
			bad("achieved %.2f req/s, want 500 within 1%%", res.RPS)
		}
		c, u := res.Latency.Corrected, res.Latency.Uncorrected
		t.Logf("corrected p50 %dus p90 %dus p99 %dus max %dus; uncorrected p50 %dus p99 %dus max %dus; late %d",
			c.P50, c.P90, c.P99, c.Max, u.P50, u.P99, u.Max, res.LateSends)
		// About a quarter of the requests were due during the stall: the
		// corrected distribution must show it from p90 on.
		if c.P99 < 800_000 || c.Max < 950_000 {
			bad("corrected p99 %dus max %dus: the 1 s stall is missing", c.P99, c.Max)
		}
		if c.P90 < 100_000 {
			bad("corrected p90 %dus: a quarter of the requests waited for the stall", c.P90)
		}
		// Only the 4 requests in flight when it began saw the stall from
		// their actual send: 0.2% of the run, invisible at p99.
		if u.P99 > 100_000 {
			bad("uncorrected p99 %dus: coordinated omission leaked into the uncorrected view", u.P99)
		}
		if u.Max < 950_000 {
			bad("uncorrected max %dus: the requests in flight during the stall waited 1 s", u.Max)
		}
		if res.LateSends < 400 || res.LateSends > 800 {
			bad("late sends %d, want about 500 (those due during the stall)", res.LateSends)
		}
		return problems
	})
}

func TestOpenLoopAchievesRateWithinOnePercent(t *testing.T) {
	if testing.Short() {
		t.Skip("2 s of load")
	}
	eventually(t, func() (problems []string) {
		srv := newTestServer(t)
		addr, reqs := mustRequests(t, srv.url("/ok"))
		res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 8, Rate: 2000, Duration: 2 * time.Second}, 10*time.Second)
		srv.close()
		t.Logf("rps %.2f late %d corrected p99 %dus", res.RPS, res.LateSends, res.Latency.Corrected.P99)
		if res.Requests != 4000 {
			problems = append(problems, fmt.Sprintf("responses %d, want exactly 4000", res.Requests))
		}
		if res.RPS < 1980 || res.RPS > 2020 {
			problems = append(problems, fmt.Sprintf("achieved %.2f req/s, want 2000 within 1%%", res.RPS))
		}
		return problems
	})
}

func TestOpenLoopWarmupIsNotRecorded(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"))
	res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, Rate: 1000, Warmup: 200 * time.Millisecond, MaxRequests: 300}, 10*time.Second)
	if res.Requests != 300 {
		t.Errorf("measured responses %d, want 300", res.Requests)
	}
	if got := srv.seq.Load(); got != 500 {
		t.Errorf("server saw %d requests, want 200 warmup + 300 measured", got)
	}
}

func TestClosedLoopCountsStatusesAndResetsExactly(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"), srv.url("/missing"), srv.url("/fail"), srv.url("/reset"))
	res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 3, MaxRequests: 400}, 20*time.Second)
	want := map[string]int64{"200": 100, "404": 100, "500": 100}
	for code, n := range want {
		if res.Status[code] != n {
			t.Errorf("status %s: %d, want %d", code, res.Status[code], n)
		}
	}
	if len(res.Status) != len(want) {
		t.Errorf("status codes %v, want only %v", res.Status, want)
	}
	wantErr := map[string]int64{"connect": 0, "timeout": 0, "reset": 100, "bad_response": 0, "other": 0}
	for kind, n := range wantErr {
		if res.Errors[kind] != n {
			t.Errorf("errors %s: %d, want %d (all %v)", kind, res.Errors[kind], n, res.Errors)
		}
	}
	// Every reset costs a connection: 3 initial dials plus one redial per
	// reset, except when a connection's last request was the reset (the
	// redial is lazy, done by the next request).
	if got := srv.accepted.Load(); got < 100 || got > 103 {
		t.Errorf("server accepted %d connections, want 100..103", got)
	}
}

func TestPipelinedRequestsAreAnsweredInOrder(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"), srv.url("/missing"), srv.url("/chunked"), srv.url("/fail"), srv.url("/interim"))
	res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, Pipeline: 7, MaxRequests: 1000}, 20*time.Second)
	want := map[string]int64{"200": 600, "404": 200, "500": 200}
	for code, n := range want {
		if res.Status[code] != n {
			t.Errorf("status %s: %d, want %d (all %v, errors %v)", code, res.Status[code], n, res.Status, res.Errors)
		}
	}
	if res.ErrorTotal() != 0 {
		t.Errorf("errors %v, want none", res.Errors)
	}
	if got := srv.accepted.Load(); got != 2 {
		t.Errorf("server accepted %d connections, want 2 kept alive", got)
	}
}

func TestResponsesEndingTheConnectionAreCountedAndRedialled(t *testing.T) {
	for _, path := range []string{"/close", "/eof"} {
		t.Run(path, func(t *testing.T) {
			srv := newTestServer(t)
			addr, reqs := mustRequests(t, srv.url(path))
			res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, MaxRequests: 50}, 20*time.Second)
			if res.Status["200"] != 50 || res.ErrorTotal() != 0 {
				t.Errorf("status %v errors %v, want 50 x 200 and no error", res.Status, res.Errors)
			}
			// One connection per request, plus initial dials a connection
			// never got to use before the count ran out.
			if got := srv.accepted.Load(); got < 50 || got > 52 {
				t.Errorf("server accepted %d connections, want one per request (50..52)", got)
			}
		})
	}
}

func TestHeadResponsesHaveNoBody(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs, err := BuildRequests([]string{srv.url("/ok")}, "HEAD", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The test server answers HEAD with a body-less head whose
	// Content-Length describes the GET body; reading 5 body bytes would
	// swallow the next response and fail the run.
	res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 1, Pipeline: 4, MaxRequests: 40}, 10*time.Second)
	if res.Status["200"] != 40 || res.ErrorTotal() != 0 {
		t.Errorf("status %v errors %v", res.Status, res.Errors)
	}
}

func TestErrorsAreClassifiedByKind(t *testing.T) {
	t.Run("connect", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens: every dial is refused
		_, reqs := mustRequests(t, "http://"+addr+"/")
		res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, MaxRequests: 25}, 10*time.Second)
		if res.Errors["connect"] != 25 || res.Requests != 0 || res.ErrorTotal() != 25 {
			t.Errorf("errors %v responses %d, want 25 connect errors", res.Errors, res.Requests)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		srv := newTestServer(t)
		addr, reqs := mustRequests(t, srv.url("/hang"))
		res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, MaxRequests: 4, Timeout: 100 * time.Millisecond}, 10*time.Second)
		if res.Errors["timeout"] != 4 || res.ErrorTotal() != 4 {
			t.Errorf("errors %v, want 4 timeouts", res.Errors)
		}
	})
	t.Run("bad_response", func(t *testing.T) {
		srv := newTestServer(t)
		addr, reqs := mustRequests(t, srv.url("/garbage"))
		res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 1, MaxRequests: 3}, 10*time.Second)
		if res.Errors["bad_response"] != 3 || res.ErrorTotal() != 3 {
			t.Errorf("errors %v, want 3 bad responses", res.Errors)
		}
	})
	t.Run("pipelined_after_reset", func(t *testing.T) {
		// A reset fails the request it answers and everything pipelined
		// behind it; the requests answered before it still count.
		srv := newTestServer(t)
		addr, reqs := mustRequests(t, srv.url("/ok"), srv.url("/reset"), srv.url("/ok"), srv.url("/ok"))
		res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 1, Pipeline: 4, MaxRequests: 40}, 10*time.Second)
		if res.Status["200"] != 10 || res.Errors["reset"] != 30 {
			t.Errorf("status %v errors %v, want 10 x 200 and 30 resets", res.Status, res.Errors)
		}
	})
}

func TestClosedLoopStopsAtDuration(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"))
	start := time.Now()
	res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, Duration: 300 * time.Millisecond}, 10*time.Second)
	took := time.Since(start)
	// The bound leaves room for one TCP retransmission (this machine's
	// loopback drops packets under load; the first RTO is 1 s): a loop that
	// ignored the duration would run into runFor's 10 s limit instead.
	if took > 3*time.Second {
		t.Errorf("run took %v for a 300ms duration", took)
	}
	if res.Requests == 0 || res.ElapsedSeconds < 0.29 || res.ElapsedSeconds > took.Seconds() {
		t.Errorf("responses %d over %.3fs (run took %v)", res.Requests, res.ElapsedSeconds, took)
	}
	if got := srv.seq.Load(); got != res.Requests {
		t.Errorf("server answered %d requests, result has %d: in-flight requests at the end must complete and count", got, res.Requests)
	}
	if res.Status["200"] != res.Requests || res.Latency.Uncorrected.Count != res.Requests {
		t.Errorf("histogram %d, statuses %v, responses %d disagree", res.Latency.Uncorrected.Count, res.Status, res.Requests)
	}
}

func TestStopAbandonsTheRunPromptly(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/hang"))
	var dials atomic.Int64
	cfg := Config{Addr: addr, Requests: reqs, Connections: 3, Duration: time.Minute, Timeout: time.Minute, Pipeline: 1,
		Dial: func(ctx context.Context, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		}}
	run, err := Start(context.Background(), withTestEngine(cfg))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	run.Stop()
	res := run.Wait()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Stop took %v", took)
	}
	if res.ErrorTotal() != 0 || res.Requests != 0 {
		t.Errorf("abandoned requests were counted: %v %d", res.Errors, res.Requests)
	}
	if dials.Load() != 3 {
		t.Errorf("dials %d, want 3", dials.Load())
	}
}

func TestClosedLoopWarmupIsNotRecorded(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"), srv.url("/missing"))
	const warmup = 400 * time.Millisecond
	start := time.Now()
	res := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, Warmup: warmup, MaxRequests: 200}, 10*time.Second)
	took := time.Since(start)
	if res.Requests != 200 || res.Status["200"] != 100 || res.Status["404"] != 100 {
		t.Errorf("measured %d responses %v, want 100 x 200 and 100 x 404", res.Requests, res.Status)
	}
	if got := srv.seq.Load(); got <= 200 {
		t.Errorf("server saw %d requests: the warmup sent none", got)
	}
	// The measured time starts when the warmup ends.
	if limit := (took - warmup).Seconds(); res.ElapsedSeconds > limit {
		t.Errorf("elapsed %.3fs of a %v run: the warmup is included", res.ElapsedSeconds, took)
	}
}
