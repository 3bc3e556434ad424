package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Config describes one load run. The zero value is not usable: Addr,
// Requests and Connections are required, and Duration or MaxRequests must
// bound the run.
type Config struct {
	Addr        string    // host:port every connection dials
	Requests    []Request // rotated through, request i uses Requests[i%len]
	Connections int
	// Rate > 0 selects the open-loop model: request k is due at
	// start + k/Rate, whether or not earlier answers arrived.
	Rate        float64
	Duration    time.Duration // measured phase, after Warmup; 0: until MaxRequests
	MaxRequests int64         // measured requests; 0: until Duration
	Warmup      time.Duration // load applied but not recorded
	Pipeline    int           // requests written together per connection (1 = no pipelining)
	Timeout     time.Duration // connect and per-response timeout
	// Engine selects how connections are driven: "loop" (the default: one
	// goroutine, its own epoll set; cheaper when the load leaves the process
	// idle between requests) or "goroutines" (one goroutine per connection
	// over net.Conn).
	Engine string
	// Targets names the requests in reports (URLs or the request file).
	Targets []string
	// Dial replaces net.Dialer when set (tests use it to count connections).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
}

// Validate reports the first problem that makes the configuration unusable.
func (c *Config) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("no target address")
	case len(c.Requests) == 0:
		return errors.New("no request to send")
	case c.Connections < 1:
		return fmt.Errorf("connections must be at least 1, got %d", c.Connections)
	case c.Connections > 1_000_000:
		return fmt.Errorf("connections must be at most 1000000, got %d", c.Connections)
	case c.Rate < 0:
		return fmt.Errorf("rate must not be negative, got %g", c.Rate)
	case c.Duration < 0 || c.Warmup < 0 || c.MaxRequests < 0:
		return errors.New("duration, warmup and requests must not be negative")
	case c.Duration == 0 && c.MaxRequests == 0:
		return errors.New("set a duration or a request count to bound the run")
	case c.Pipeline < 1 || c.Pipeline > 1024:
		return fmt.Errorf("pipeline must be in 1..1024, got %d", c.Pipeline)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout must be positive, got %v", c.Timeout)
	case c.Engine != "" && c.Engine != EngineGoroutines && c.Engine != EngineLoop:
		return fmt.Errorf("engine must be %q or %q, got %q", EngineGoroutines, EngineLoop, c.Engine)
	}
	return nil
}

// Load engines, see Config.Engine.
const (
	EngineGoroutines = "goroutines"
	EngineLoop       = "loop"
)

// ErrorKind classifies a failed request.
type ErrorKind int

const (
	ErrConnect     ErrorKind = iota // dial failed or timed out
	ErrTimeout                      // no complete response within Timeout
	ErrReset                        // connection reset or closed before the response ended
	ErrBadResponse                  // the bytes were not a valid HTTP/1.1 response
	ErrOther                        // any other I/O error
	numErrorKinds
)

var errorKindNames = [numErrorKinds]string{"connect", "timeout", "reset", "bad_response", "other"}

func (k ErrorKind) String() string { return errorKindNames[k] }

// Latencies are recorded in microseconds from 1 µs to 1 h with three
// significant digits: every recorded value is exact to 0.1%. Longer values are
// clamped to the highest trackable value.
const (
	histLowest  = 1
	histHighest = int64(time.Hour / time.Microsecond)
	histDigits  = 3
	// lateAfter is how far behind its intended time a send may start before
	// it counts as late in the open-loop model.
	lateAfter = time.Millisecond
)

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

func recordUS(h *hdrhistogram.Histogram, ns int64) {
	us := ns / 1000
	if us < 0 {
		us = 0
	}
	if us > histHighest {
		us = histHighest
	}
	_ = h.RecordValue(us) // cannot fail: the value is clamped into range
}

// shard is one lock domain of recorded results. Connections are spread over
// a few shards so recording never contends much and a progress snapshot only
// locks briefly.
type shard struct {
	mu sync.Mutex
	// corrected is only recorded in the open loop: in the closed loop the
	// intended time is the send time and the result copies uncorrected.
	corrected   *hdrhistogram.Histogram
	uncorrected *hdrhistogram.Histogram
	// status counts responses by code; http1 guarantees 100..999.
	status       [1000]int64
	errors       [numErrorKinds]int64
	late         int64
	bytesRead    int64
	bytesWritten int64
	lastDone     int64 // ns since Run.base of the latest recorded completion
	_            [64]byte
}

// Run is a load run in progress. Progress may be called from any goroutine;
// Wait from one.
type Run struct {
	cfg          Config
	ctx          context.Context
	cancel       context.CancelFunc
	base         time.Time
	started      time.Time
	measureStart int64 // ns since base
	end          int64 // ns since base; 0 = no time bound
	warmupCount  int64 // open loop: requests scheduled in the warmup
	open         bool
	claimed      atomic.Int64
	done         atomic.Int64 // measured responses
	failed       atomic.Int64 // measured errors
	shards       []*shard
	conns        []*conn
	wg           sync.WaitGroup
	loop         *loopEngine   // set when Config.Engine is EngineLoop
	finished     chan struct{} // closed when every connection loop returned

	progMu   sync.Mutex
	progLast int64
	progDone int64
	progPrev [][]int64 // per shard: histogram counts at the previous Progress
}

// Start validates cfg, dials the connections and starts the load. The run
// stops when its time or count bound is reached or ctx is cancelled.
func Start(ctx context.Context, cfg Config) (*Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Dial == nil {
		d := &net.Dialer{Timeout: cfg.Timeout}
		cfg.Dial = func(ctx context.Context, addr string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		}
	}
	r := newRun(ctx, cfg)
	// Dial everything before the clock starts so connection setup is not
	// part of the measured phase; failures are retried (and counted) by the
	// connection loops.
	var dialWG sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range r.conns {
		dialWG.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; dialWG.Done() }()
			_ = c.dial()
		}()
	}
	dialWG.Wait()
	if err := r.ctx.Err(); err != nil {
		r.closeAll()
		return nil, err
	}
	if cfg.Engine == EngineLoop || cfg.Engine == "" {
		dialed := make([]net.Conn, len(r.conns))
		for i, c := range r.conns {
			dialed[i] = c.nc
		}
		e, err := newLoopEngine(r, dialed)
		if err != nil {
			r.cancel()
			return nil, err
		}
		r.loop, r.conns = e, nil
	}

	r.base = time.Now()
	r.started = r.base
	if r.open {
		r.warmupCount = int64(float64(cfg.Warmup) * cfg.Rate / 1e9)
		r.measureStart = r.intended(r.warmupCount)
	} else {
		r.measureStart = int64(cfg.Warmup)
	}
	if cfg.Duration > 0 {
		r.end = r.measureStart + int64(cfg.Duration)
	}
	if r.loop != nil {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.loop.run()
		}()
	} else {
		for _, c := range r.conns {
			r.wg.Add(1)
			go c.loop()
		}
		go r.watchdog()
	}
	go func() {
		r.wg.Wait()
		close(r.finished)
	}()
	go func() {
		<-r.ctx.Done()
		r.closeAll()
	}()
	return r, nil
}

// newRun builds the run's shards and connections without dialing.
func newRun(ctx context.Context, cfg Config) *Run {
	r := &Run{cfg: cfg, open: cfg.Rate > 0, finished: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(ctx)
	nshards := min(cfg.Connections, 4*runtime.GOMAXPROCS(0))
	for range nshards {
		r.shards = append(r.shards, &shard{corrected: newHistogram(), uncorrected: newHistogram()})
	}
	r.conns = make([]*conn, cfg.Connections)
	for i := range r.conns {
		r.conns[i] = newConn(r, i, r.shards[i%nshards])
	}
	return r
}

// intended is the open-loop send time of request k, in ns since base.
func (r *Run) intended(k int64) int64 {
	return int64(float64(k) * 1e9 / r.cfg.Rate)
}

func (r *Run) now() int64 { return int64(time.Since(r.base)) }

func (r *Run) closeAll() {
	if r.loop != nil {
		r.loop.wake()
	}
	for _, c := range r.conns {
		c.shutdown()
	}
}

// watchdog enforces Timeout on requests in flight. One sweeping goroutine
// replaces a per-request SetDeadline: rearming two runtime timers per
// exchange cost the load loops ~5% of their CPU. A timeout is detected within
// a tenth of Timeout (1 ms to 100 ms).
func (r *Run) watchdog() {
	period := min(max(r.cfg.Timeout/10, time.Millisecond), 100*time.Millisecond)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-r.finished:
			return
		case <-r.ctx.Done():
			return
		case <-t.C:
			now := r.now()
			for _, c := range r.conns {
				if since := c.busySince.Load(); since != 0 && now-since >= int64(r.cfg.Timeout) {
					c.expire(since)
				}
			}
		}
	}
}

// Stop ends the run early; requests in flight are abandoned uncounted.
func (r *Run) Stop() { r.cancel() }

// Wait blocks until every connection finished and returns the result.
func (r *Run) Wait() *Result {
	<-r.finished
	r.cancel()
	return r.result()
}

// Done is closed when the run has ended.
func (r *Run) Done() <-chan struct{} { return r.finished }

// Progress is a live view of a run.
type Progress struct {
	Elapsed  time.Duration // since the start, warmup included
	Warmup   bool          // still in the warmup phase
	Requests int64         // measured responses so far
	Errors   int64         // measured errors so far
	RPS      float64       // responses per second since the previous call
	P50, P99 time.Duration // over the responses since the previous call
}

// Progress returns counts so far and rate and latency over the interval since
// the previous call.
func (r *Run) Progress() Progress {
	r.progMu.Lock()
	defer r.progMu.Unlock()
	now := r.now()
	// The interval's latencies are the cumulative histograms minus their
	// counts at the previous call: the load loops record each value once.
	h := newHistogram()
	if r.progPrev == nil {
		r.progPrev = make([][]int64, len(r.shards))
	}
	for i, s := range r.shards {
		s.mu.Lock()
		snap := s.uncorrected.Export()
		if r.open {
			snap = s.corrected.Export()
		}
		s.mu.Unlock()
		cur := snap.Counts // Export copies: ours to keep
		interval := make([]int64, len(cur))
		prev := r.progPrev[i]
		for j := range cur {
			interval[j] = cur[j]
			if j < len(prev) {
				interval[j] -= prev[j]
			}
		}
		r.progPrev[i] = cur
		snap.Counts = interval
		h.Merge(hdrhistogram.Import(snap))
	}
	done := r.done.Load()
	p := Progress{
		Elapsed:  time.Duration(now),
		Warmup:   now < r.measureStart,
		Requests: done,
		Errors:   r.failed.Load(),
		P50:      time.Duration(h.ValueAtPercentile(50)) * time.Microsecond,
		P99:      time.Duration(h.ValueAtPercentile(99)) * time.Microsecond,
	}
	if dt := now - r.progLast; dt > 0 {
		p.RPS = float64(done-r.progDone) * 1e9 / float64(dt)
	}
	r.progLast, r.progDone = now, done
	return p
}

func (r *Run) result() *Result {
	res := newResult()
	res.Started = r.started.UTC()
	res.Model = "closed"
	if r.open {
		res.Model = "open"
	}
	res.Config = RunConfig{
		Targets: r.cfg.Targets, Connections: r.cfg.Connections, Rate: r.cfg.Rate,
		DurationSeconds: r.cfg.Duration.Seconds(), MaxRequests: r.cfg.MaxRequests,
		WarmupSeconds: r.cfg.Warmup.Seconds(), Pipeline: r.cfg.Pipeline,
		TimeoutSeconds: r.cfg.Timeout.Seconds(),
	}
	if res.Config.Targets == nil {
		res.Config.Targets = []string{r.cfg.Addr}
	}
	last := int64(0)
	for _, s := range r.shards {
		s.mu.Lock()
		if r.open {
			res.corrected.Merge(s.corrected)
		} else {
			res.corrected.Merge(s.uncorrected)
		}
		res.uncorrected.Merge(s.uncorrected)
		for code, n := range s.status {
			if n > 0 {
				res.Status[strconv.Itoa(code)] += n
			}
		}
		for k, n := range s.errors {
			res.Errors[ErrorKind(k).String()] += n
		}
		res.LateSends += s.late
		res.BytesRead += s.bytesRead
		res.BytesWritten += s.bytesWritten
		last = max(last, s.lastDone)
		s.mu.Unlock()
	}
	if last > r.measureStart {
		res.ElapsedSeconds = float64(last-r.measureStart) / 1e9
	}
	res.finish()
	return res
}
