package redis

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/policy"
	"github.com/sluice-gw/sluice/proxy"
)

// Config configures a cluster-wide Limit.
type Config struct {
	// Name identifies the limit; instances share a limit by name (it is part
	// of the Redis keys) and it appears in answers' reasons.
	Name string
	// Windows are validated policies (1..limits.MaxWindows) with an emission
	// interval of at least a microsecond. Shadow on any window makes the
	// whole limit observe only.
	Windows []*limits.Policy
	Key     policy.Key
	// Address is the Redis server's host:port.
	Address string
	// Lease is how many units one round trip fetches per key: 1..the
	// smallest burst.
	Lease int64
	// FailOpen admits requests while Redis is unreachable; otherwise they
	// are answered 503.
	FailOpen bool
	// Timeout bounds each round trip and dial (default 100ms).
	Timeout time.Duration
	// MaxKeys bounds the keys with local lease state (default 65536).
	MaxKeys int
	// Prefix starts every Redis key (default "sluice:rl:").
	Prefix string
	// Now is the monotonic clock (default limits.Now).
	Now func() int64
}

// Stats are a limit's counters; safe to read from any goroutine.
type Stats struct {
	Up                       bool   // the last round trip (or ping) succeeded
	Admitted, Rejected       uint64 // decisions made on leases
	ShadowRejected           uint64 // refusals a shadow limit admitted
	FailedOpen, FailedClosed uint64 // decisions made while Redis was unreachable
	Errors                   uint64 // failed round trips and connection attempts
	Fetches                  uint64 // lease round trips that succeeded
	Keys                     int    // keys with local state
	LastError                string
}

// Limit is a cluster-wide rate limit as a proxy.Filter. Requests never wait
// on Redis; see the package documentation for the lease protocol. Close
// stops its goroutine; a Limit that is dropped without Close (a snapshot
// replaced by a reload) is closed when the garbage collector frees it.
type Limit struct {
	*state
}

type state struct {
	name     string
	key      policy.Key
	windows  []*limits.Policy
	shadow   bool
	lease    int64
	failOpen bool
	timeout  time.Duration
	prefix   string
	address  string
	now      func() int64
	script   *rueidis.Lua
	args     []string // the windows' T and capacity in microseconds
	policyHd []byte   // "RateLimit-Policy: ...\r\n", built once
	reason   string

	seed   maphash.Seed
	shards []keyShard
	perCap int

	queue chan *entry
	stop  chan struct{}
	once  sync.Once
	done  chan struct{}

	up                                      atomic.Bool
	admitted, rejected, shadowRejected      atomic.Uint64
	failedOpen, failedClosed, errs, fetches atomic.Uint64
	lastErr                                 atomic.Pointer[string]
}

type keyShard struct {
	mu sync.Mutex
	m  map[string]*entry
	_  [40]byte
}

// entry is one key's local lease state. avail is units granted minus units
// spent: negative means debt. denyUntil (monotonic ns) is set when Redis
// granted nothing, until one more unit conforms; window is then the binding
// window's index.
type entry struct {
	key       string
	avail     atomic.Int64
	denyUntil atomic.Int64
	window    atomic.Int32
	pending   atomic.Bool
}

// Errors of New.
var (
	ErrConfig = errors.New("redis limit: invalid config")
)

// New validates cfg, connects (in the background if Redis is not reachable
// yet) and starts the lease goroutine.
func New(cfg Config) (*Limit, error) {
	if len(cfg.Windows) == 0 || len(cfg.Windows) > limits.MaxWindows {
		return nil, fmt.Errorf("%w: %d windows (want 1..%d)", ErrConfig, len(cfg.Windows), limits.MaxWindows)
	}
	if len(cfg.Key.Parts) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrConfig)
	}
	if cfg.Address == "" {
		return nil, fmt.Errorf("%w: no address", ErrConfig)
	}
	s := &state{
		name: cfg.Name, key: cfg.Key, windows: cfg.Windows, lease: cfg.Lease, failOpen: cfg.FailOpen,
		timeout: cfg.Timeout, prefix: cfg.Prefix, address: cfg.Address, now: cfg.Now,
		reason: "rate limited: " + cfg.Name,
		seed:   maphash.MakeSeed(),
		queue:  make(chan *entry, 4096),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
		script: rueidis.NewLuaScript(gcraScript),
	}
	if s.timeout <= 0 {
		s.timeout = 100 * time.Millisecond
	}
	if s.prefix == "" {
		s.prefix = "sluice:rl:"
	}
	if s.now == nil {
		s.now = limits.Now
	}
	minBurst := int64(-1)
	s.policyHd = append(s.policyHd, "RateLimit-Policy: "...)
	for i, p := range cfg.Windows {
		if p == nil || p.Interval() == 0 {
			return nil, fmt.Errorf("%w: window %d: %w", ErrConfig, i, limits.ErrPolicyNotValidated)
		}
		tus := int64((p.Interval() + time.Microsecond - 1) / time.Microsecond)
		if p.Interval() < time.Microsecond {
			return nil, fmt.Errorf("%w: window %d (%v) is finer than one unit per microsecond", ErrConfig, i, p)
		}
		s.args = append(s.args, strconv.FormatInt(tus, 10), strconv.FormatInt(tus*p.EffectiveBurst(), 10))
		if minBurst < 0 || p.EffectiveBurst() < minBurst {
			minBurst = p.EffectiveBurst()
		}
		s.shadow = s.shadow || p.Shadow
		if i > 0 {
			s.policyHd = append(s.policyHd, ", "...)
		}
		s.policyHd = limits.AppendPolicyValue(s.policyHd, p)
	}
	s.policyHd = append(s.policyHd, "\r\n"...)
	if s.lease < 1 || s.lease > minBurst {
		return nil, fmt.Errorf("%w: lease %d must be in 1..%d (the smallest burst)", ErrConfig, s.lease, minBurst)
	}
	maxKeys := cfg.MaxKeys
	if maxKeys <= 0 {
		maxKeys = 1 << 16
	}
	n := 16
	for n > 1 && maxKeys/n < 16 {
		n /= 2
	}
	s.shards = make([]keyShard, n)
	s.perCap = (maxKeys + n - 1) / n
	for i := range s.shards {
		s.shards[i].m = make(map[string]*entry, min(s.perCap, 1024))
	}
	l := &Limit{state: s}
	// The first connection is tried here, so a gateway that starts with
	// Redis up never fails its first requests open or closed.
	client := s.connect(nil)
	go s.run(client)
	runtime.AddCleanup(l, func(s *state) { s.close() }, s)
	return l, nil
}

// Close stops the lease goroutine and closes the Redis connection; the
// filter then answers as if Redis were unreachable.
func (l *Limit) Close() { l.state.close() }

func (s *state) close() {
	s.once.Do(func() {
		close(s.stop)
		<-s.done
	})
}

// Name returns the configured name.
func (l *Limit) Name() string { return l.name }

// Stats returns the counters.
func (l *Limit) Stats() Stats {
	st := Stats{
		Up: l.up.Load(), Admitted: l.admitted.Load(), Rejected: l.rejected.Load(), ShadowRejected: l.shadowRejected.Load(),
		FailedOpen: l.failedOpen.Load(), FailedClosed: l.failedClosed.Load(), Errors: l.errs.Load(), Fetches: l.fetches.Load(),
	}
	if e := l.lastErr.Load(); e != nil {
		st.LastError = *e
	}
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		st.Keys += len(sh.m)
		sh.mu.Unlock()
	}
	return st
}

// OnRequest spends one unit of the key's lease, or answers.
func (l *Limit) OnRequest(c *proxy.FilterContext) proxy.Verdict {
	s := l.state
	if !s.up.Load() {
		if s.failOpen {
			s.failedOpen.Add(1)
			return proxy.Verdict{}
		}
		s.failedClosed.Add(1)
		return proxy.Verdict{Status: 503, Reason: "rate limit backend unavailable"}
	}
	key := s.key.Append(c.Scratch[:0], c)
	c.Scratch = key[:0]
	e := s.lookup(key)
	if e == nil {
		// The key is longer than any key a header may make: fail closed.
		return proxy.Verdict{Status: 431, Reason: "rate-limit key too long"}
	}
	v := e.avail.Add(-1)
	if v >= 0 {
		if v < s.lease/2+1 {
			s.want(e)
		}
		return s.admit(c)
	}
	now := s.now()
	if du := e.denyUntil.Load(); du > now {
		e.avail.Add(1)
		return s.refuse(c, du-now, int(e.window.Load()))
	}
	s.want(e)
	if v >= -s.lease {
		return s.admit(c) // on debt, paid with the next fetch
	}
	e.avail.Add(1)
	// Debt is at its bound and the fetch has not answered yet: a short wait.
	return s.refuse(c, int64(time.Second), 0)
}

func (s *state) admit(c *proxy.FilterContext) proxy.Verdict {
	s.admitted.Add(1)
	if !s.shadow {
		c.RespFields = append(c.RespFields, s.policyHd...)
	}
	return proxy.Verdict{}
}

func (s *state) refuse(c *proxy.FilterContext, retry int64, window int) proxy.Verdict {
	if s.shadow {
		s.shadowRejected.Add(1)
		return proxy.Verdict{}
	}
	s.rejected.Add(1)
	secs := (retry + int64(time.Second) - 1) / int64(time.Second)
	if secs < 1 {
		secs = 1
	}
	p := s.windows[0]
	if window >= 0 && window < len(s.windows) {
		p = s.windows[window]
	}
	// Same fields as limits.AppendHeaders for a refusal: the policies,
	// RateLimit with nothing remaining until Retry-After.
	f := append(c.Scratch[:0], s.policyHd...)
	f = append(f, "RateLimit: \""...)
	f = append(f, p.Name...)
	f = append(f, "\";r=0;t="...)
	f = strconv.AppendInt(f, secs, 10)
	f = append(f, "\r\nRetry-After: "...)
	f = strconv.AppendInt(f, secs, 10)
	f = append(f, "\r\n"...)
	c.Scratch = f[:0]
	return proxy.Verdict{Status: 429, Reason: s.reason, Fields: f}
}

// OnDone does nothing: units are spent on arrival.
func (l *Limit) OnDone(*proxy.FilterContext, int) {}

// maxKeyLen bounds a key held locally (and sent to Redis).
const maxKeyLen = 256

// lookup returns the key's entry, creating it (the one allocation, for a new
// key) and evicting an idle one when the shard is full.
func (s *state) lookup(key []byte) *entry {
	if len(key) > maxKeyLen {
		return nil
	}
	sh := &s.shards[maphash.Bytes(s.seed, key)%uint64(len(s.shards))]
	sh.mu.Lock()
	e := sh.m[string(key)]
	if e == nil {
		if len(sh.m) >= s.perCap {
			s.evictLocked(sh)
		}
		e = &entry{key: string(key), window: atomic.Int32{}}
		sh.m[e.key] = e
	}
	sh.mu.Unlock()
	return e
}

// evictLocked drops one key without a fetch in flight (map order is
// random, so this is a random idle key). Its debt is queued for payment so
// eviction never forgives units already spent.
func (s *state) evictLocked(sh *keyShard) {
	for k, e := range sh.m {
		if e.pending.Load() {
			continue
		}
		delete(sh.m, k)
		if e.avail.Load() < 0 {
			s.want(e)
		}
		return
	}
}

// want queues e for a lease fetch unless one is queued; never blocks (a full
// queue drops the wish, and the next request wishes again).
func (s *state) want(e *entry) {
	if !e.pending.CompareAndSwap(false, true) {
		return
	}
	select {
	case s.queue <- e:
	default:
		e.pending.Store(false)
	}
}

// run owns the Redis client: it fetches leases in batches and, while Redis
// is unreachable, probes it with backoff until it answers again.
func (s *state) run(client rueidis.Client) {
	defer close(s.done)
	defer func() {
		if client != nil {
			client.Close()
		}
	}()
	// While Redis is unreachable it is probed with exponential backoff,
	// from 50ms to 2s, so an outage costs little and a restart is found
	// within about two seconds.
	const minProbe, maxProbe = 50 * time.Millisecond, 2 * time.Second
	backoff := minProbe
	probe := time.NewTimer(backoff)
	defer probe.Stop()
	batch := make([]*entry, 0, 128)
	execs := make([]rueidis.LuaExec, 0, 128)
	for {
		var first *entry
		select {
		case <-s.stop:
			return
		case <-probe.C:
			if s.up.Load() {
				backoff = minProbe
			} else {
				client = s.connect(client)
				if s.up.Load() {
					backoff = minProbe
				} else {
					backoff = min(2*backoff, maxProbe)
				}
			}
			probe.Reset(backoff)
			continue
		case first = <-s.queue:
		}
		batch = append(batch[:0], first)
	drain:
		for len(batch) < cap(batch) {
			select {
			case e := <-s.queue:
				batch = append(batch, e)
			default:
				break drain
			}
		}
		if client == nil || !s.up.Load() {
			for _, e := range batch {
				e.pending.Store(false)
			}
			continue
		}
		s.fetch(client, batch, execs[:0])
	}
}

// connect makes the client if there is none and pings Redis; success marks
// Redis reachable. rueidis re-dials a broken connection by itself on the
// next command, so a restarted Redis is found again by the ping.
func (s *state) connect(client rueidis.Client) rueidis.Client {
	if client == nil {
		c, err := rueidis.NewClient(rueidis.ClientOption{
			InitAddress:      []string{s.address},
			DisableCache:     true,
			DisableRetry:     true,
			ConnWriteTimeout: s.timeout,
			Dialer:           netDialer(s.timeout),
			// Requests and replies are a few hundred bytes; rueidis's
			// default 0.5 MiB buffers per connection would be re-made on
			// every reconnection attempt during an outage.
			ReadBufferEachConn:  16 << 10,
			WriteBufferEachConn: 16 << 10,
		})
		if err != nil {
			s.fail(err)
			return nil
		}
		client = c
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	err := client.Do(ctx, client.B().Ping().Build()).Error()
	cancel()
	if err != nil {
		s.fail(err)
		return client
	}
	s.up.Store(true)
	return client
}

// fetch runs the script for every entry of batch in one pipeline.
func (s *state) fetch(client rueidis.Client, batch []*entry, execs []rueidis.LuaExec) {
	debts := make([]int64, len(batch))
	for i, e := range batch {
		keys := make([]string, len(s.windows))
		for w := range s.windows {
			keys[w] = s.prefix + "{" + s.name + "}:" + strconv.Itoa(w) + ":" + e.key
		}
		debt := max(0, -e.avail.Load())
		debts[i] = debt
		args := make([]string, 0, 2+len(s.args))
		args = append(args, strconv.FormatInt(s.lease, 10), strconv.FormatInt(debt, 10))
		args = append(args, s.args...)
		execs = append(execs, rueidis.LuaExec{Keys: keys, Args: args})
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	res := s.script.ExecMulti(ctx, client, execs...)
	cancel()
	now := s.now()
	for i, e := range batch {
		var r []int64
		var err error
		if i < len(res) {
			r, err = res[i].AsIntSlice()
		} else {
			err = errors.New("missing reply")
		}
		if err == nil && len(r) != 3 {
			err = fmt.Errorf("reply has %d values, want 3", len(r))
		}
		if err != nil {
			s.fail(err)
			e.pending.Store(false)
			continue
		}
		grant, retryUS, which := r[0], r[1], r[2]
		if grant < s.lease {
			e.denyUntil.Store(now + max(retryUS, 1)*int64(time.Microsecond))
			e.window.Store(int32(which - 1))
		} else {
			e.denyUntil.Store(0)
		}
		e.avail.Add(debts[i] + grant)
		s.fetches.Add(1)
		e.pending.Store(false)
	}
}

// fail counts a Redis error and marks Redis unreachable unless the server
// answered (a Redis error reply means it is up and the script failed).
func (s *state) fail(err error) {
	s.errs.Add(1)
	msg := err.Error()
	s.lastErr.Store(&msg)
	if _, isRedisErr := rueidis.IsRedisErr(err); !isRedisErr {
		s.up.Store(false)
	}
}
