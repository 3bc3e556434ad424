package limits

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome is the result of Concurrency.Acquire.
type Outcome uint8

const (
	// Admitted: the caller holds a slot and must Release it when done.
	Admitted Outcome = iota + 1
	// Queued: the caller waits with a Ticket until Release, SetLimit or
	// Sweep names that ticket.
	Queued
	// Rejected: no slot and no room in the queue.
	Rejected
)

func (o Outcome) String() string {
	switch o {
	case Admitted:
		return "admitted"
	case Queued:
		return "queued"
	case Rejected:
		return "rejected"
	}
	return "invalid"
}

// Ticket names a queued waiter. The zero Ticket names nobody. A ticket is a
// slot index and a generation, so a stale ticket never names a later waiter
// that reused the slot.
type Ticket uint64

// ConcurrencyConfig configures a Concurrency limiter.
type ConcurrencyConfig struct {
	// Limit is the initial number of requests allowed in flight (>= 1).
	Limit int64
	// QueueSize is how many callers may wait for a slot; 0 disables the
	// queue, so Acquire only admits or rejects.
	QueueSize int
	// QueueTimeout is how long a waiter may wait; required with a queue.
	QueueTimeout time.Duration
}

// Concurrency limits requests in flight, with an optional bounded FIFO queue
// designed for event loops: nothing blocks, and the queue hands slots over
// by returning tickets that the caller routes to the owning loop.
//
// All methods are safe from any goroutine. Without waiters, Acquire and
// Release are one CAS on the in-flight counter. With waiters they take a
// mutex that guards only the queue, whose nodes are allocated up front.
//
// Contract for a caller holding a slot (Admitted, or a Ticket returned to it
// by Release/SetLimit): call Release exactly once when done. If Release
// returns a non-zero Ticket, the slot now belongs to that waiter: resume it
// (on its loop), and it will Release in turn. A waiter's owner that goes
// away calls Cancel; if Cancel reports false the ticket has already been
// granted a slot (the grant may be in flight to the owner), and the owner
// must Release it.
type Concurrency struct {
	limit    atomic.Int64
	inflight atomic.Int64
	waiting  atomic.Int64 // live waiters in the queue; read without the lock on fast paths

	mu      sync.Mutex
	timeout int64
	nodes   []qnode
	free    int32 // free list through next
	queue   qlist // live waiters, oldest at head
	expired qlist // timed out, awaiting Sweep to report them

	admitted, queued, rejected, handed, timedOut, cancelled atomic.Uint64
}

type qnode struct {
	prev, next int32
	gen        uint32
	state      uint8
	deadline   int64
}

const (
	nodeFree uint8 = iota
	nodeWaiting
	nodeExpired
)

type qlist struct {
	head, tail int32
	n          int
}

// ConcurrencyStats are cumulative counters and current gauges.
type ConcurrencyStats struct {
	Limit, InFlight, Waiting int64
	// Admitted counts immediate admissions; Handed counts queued waiters
	// granted a slot.
	Admitted, Queued, Rejected, Handed, TimedOut, Cancelled uint64
}

// NewConcurrency builds a limiter; the queue's nodes are allocated here.
func NewConcurrency(cfg ConcurrencyConfig) (*Concurrency, error) {
	if cfg.Limit < 1 {
		return nil, fmt.Errorf("%w: limit %d must be at least 1", ErrConcurrencyConfig, cfg.Limit)
	}
	if cfg.QueueSize < 0 || cfg.QueueSize > 1<<24 {
		return nil, fmt.Errorf("%w: queue size %d out of range 0..%d", ErrConcurrencyConfig, cfg.QueueSize, 1<<24)
	}
	if cfg.QueueSize > 0 && cfg.QueueTimeout <= 0 {
		return nil, fmt.Errorf("%w: a queue needs a positive timeout", ErrConcurrencyConfig)
	}
	c := &Concurrency{
		timeout: int64(cfg.QueueTimeout),
		nodes:   make([]qnode, cfg.QueueSize),
		free:    -1,
		queue:   qlist{head: -1, tail: -1},
		expired: qlist{head: -1, tail: -1},
	}
	c.limit.Store(cfg.Limit)
	for i := len(c.nodes) - 1; i >= 0; i-- {
		c.nodes[i].next = c.free
		c.free = int32(i)
	}
	return c, nil
}

// tryTake claims a slot if one is free.
func (c *Concurrency) tryTake() bool {
	for {
		cur := c.inflight.Load()
		if cur >= c.limit.Load() {
			return false
		}
		if c.inflight.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// Acquire asks for a slot at now. Queued waiters are served first come,
// first served: while anyone waits, a new caller queues behind them.
func (c *Concurrency) Acquire(now int64) (Outcome, Ticket) {
	if c.waiting.Load() == 0 && c.tryTake() {
		c.admitted.Add(1)
		return Admitted, 0
	}
	if len(c.nodes) == 0 {
		c.rejected.Add(1)
		return Rejected, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(now)
	if c.queue.n == 0 && c.tryTake() {
		c.admitted.Add(1)
		return Admitted, 0
	}
	if c.free < 0 {
		// Timed-out waiters keep their node until Sweep reports them, so a
		// missed Sweep shows up as rejections, never as unbounded memory.
		c.rejected.Add(1)
		return Rejected, 0
	}
	i := c.free
	n := &c.nodes[i]
	c.free = n.next
	n.gen++
	n.state = nodeWaiting
	n.deadline = now + c.timeout
	c.push(&c.queue, i)
	c.waiting.Add(1)
	// A Release may have freed a slot after our lock-free attempt and before
	// it could see this waiter (it decrements in-flight, then checks
	// waiting; we incremented waiting, now check in-flight: with sequentially
	// consistent atomics at least one of us sees the other). If we are the
	// only waiter, take that slot ourselves; otherwise the older waiters'
	// turn comes first and the Release will hand the slot to the oldest.
	if c.queue.n == 1 && c.tryTake() {
		c.unlinkNode(&c.queue, i)
		c.freeNode(i)
		c.waiting.Add(-1)
		c.admitted.Add(1)
		return Admitted, 0
	}
	c.queued.Add(1)
	return Queued, Ticket(uint64(n.gen)<<32 | uint64(i+1))
}

// Release returns a slot at now. If a live waiter exists (and the limit was
// not lowered below the slots in flight), the slot passes to the oldest one
// and its ticket is returned; the caller must resume that waiter. Waiters
// whose timeout passed are not handed slots; Sweep reports them.
func (c *Concurrency) Release(now int64) (Ticket, error) {
	if c.waiting.Load() == 0 {
		for {
			cur := c.inflight.Load()
			if cur <= 0 {
				return 0, ErrReleaseWithoutAcquire
			}
			if c.inflight.CompareAndSwap(cur, cur-1) {
				break
			}
		}
		if c.waiting.Load() == 0 {
			return 0, nil
		}
		// A waiter queued while we released: hand it a slot if one is free.
		c.mu.Lock()
		t := c.grantLocked(now)
		c.mu.Unlock()
		return t, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight.Load() <= 0 {
		return 0, ErrReleaseWithoutAcquire
	}
	if c.inflight.Load() <= c.limit.Load() {
		if t := c.popLive(now); t != 0 {
			c.handed.Add(1)
			return t, nil // the slot changes hands; in-flight is unchanged
		}
	}
	c.inflight.Add(-1)
	return 0, nil
}

// grantLocked takes a free slot for the oldest live waiter, if both exist.
func (c *Concurrency) grantLocked(now int64) Ticket {
	c.expireLocked(now)
	if c.queue.n == 0 || !c.tryTake() {
		return 0
	}
	t := c.popLive(now)
	c.handed.Add(1)
	return t
}

// popLive removes and returns the oldest live waiter, moving waiters whose
// deadline passed to the expired list on the way.
func (c *Concurrency) popLive(now int64) Ticket {
	c.expireLocked(now)
	i := c.queue.head
	if i < 0 {
		return 0
	}
	n := &c.nodes[i]
	t := Ticket(uint64(n.gen)<<32 | uint64(i+1))
	c.unlinkNode(&c.queue, i)
	c.freeNode(i)
	c.waiting.Add(-1)
	return t
}

// expireLocked moves timed-out waiters from the queue's head to the expired
// list. One timeout for all waiters and a monotonic now make the queue
// ordered by deadline, so only the head needs checking.
func (c *Concurrency) expireLocked(now int64) {
	for i := c.queue.head; i >= 0 && c.nodes[i].deadline <= now; i = c.queue.head {
		c.unlinkNode(&c.queue, i)
		c.nodes[i].state = nodeExpired
		c.push(&c.expired, i)
		c.waiting.Add(-1)
	}
}

// Sweep appends the tickets of waiters whose queue timeout has passed by now
// to dst and returns it; their owners should answer them (503 or 429). Call
// it from a periodic tick. Reuse dst to stay allocation-free.
func (c *Concurrency) Sweep(now int64, dst []Ticket) []Ticket {
	if c.waiting.Load() == 0 {
		c.mu.Lock()
		empty := c.expired.n == 0
		c.mu.Unlock()
		if empty {
			return dst
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(now)
	for i := c.expired.head; i >= 0; i = c.expired.head {
		dst = append(dst, Ticket(uint64(c.nodes[i].gen)<<32|uint64(i+1)))
		c.unlinkNode(&c.expired, i)
		c.freeNode(i)
		c.timedOut.Add(1)
	}
	return dst
}

// Cancel removes a waiter whose owner went away. It reports true if the
// ticket was waiting (or had timed out but not yet been swept) and now is
// gone. False means the ticket is unknown, already reported by Sweep, or was
// already granted a slot, which its owner must then Release.
func (c *Concurrency) Cancel(t Ticket) bool {
	i := int64(uint32(t)) - 1
	gen := uint32(t >> 32)
	if i < 0 || i >= int64(len(c.nodes)) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := &c.nodes[i]
	if n.gen != gen {
		return false
	}
	switch n.state {
	case nodeWaiting:
		c.unlinkNode(&c.queue, int32(i))
		c.waiting.Add(-1)
	case nodeExpired:
		c.unlinkNode(&c.expired, int32(i))
	default:
		return false
	}
	c.freeNode(int32(i))
	c.cancelled.Add(1)
	return true
}

// SetLimit changes the limit (clamped to at least 1). Raising it hands the
// new slots to the oldest live waiters, whose tickets are appended to dst.
// Lowering it never revokes a slot: Releases stop handing slots over until
// in-flight falls below the new limit.
func (c *Concurrency) SetLimit(limit, now int64, dst []Ticket) []Ticket {
	if limit < 1 {
		limit = 1
	}
	c.limit.Store(limit)
	if c.waiting.Load() == 0 {
		return dst
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		t := c.grantLocked(now)
		if t == 0 {
			return dst
		}
		dst = append(dst, t)
	}
}

// Limit returns the current limit.
func (c *Concurrency) Limit() int64 { return c.limit.Load() }

// InFlight returns the slots held.
func (c *Concurrency) InFlight() int64 { return c.inflight.Load() }

// Stats returns the counters.
func (c *Concurrency) Stats() ConcurrencyStats {
	return ConcurrencyStats{
		Limit: c.limit.Load(), InFlight: c.inflight.Load(), Waiting: c.waiting.Load(),
		Admitted: c.admitted.Load(), Queued: c.queued.Load(), Rejected: c.rejected.Load(),
		Handed: c.handed.Load(), TimedOut: c.timedOut.Load(), Cancelled: c.cancelled.Load(),
	}
}

func (c *Concurrency) push(l *qlist, i int32) {
	n := &c.nodes[i]
	n.next, n.prev = -1, l.tail
	if l.tail >= 0 {
		c.nodes[l.tail].next = i
	} else {
		l.head = i
	}
	l.tail = i
	l.n++
}

func (c *Concurrency) unlinkNode(l *qlist, i int32) {
	n := &c.nodes[i]
	if n.prev >= 0 {
		c.nodes[n.prev].next = n.next
	} else {
		l.head = n.next
	}
	if n.next >= 0 {
		c.nodes[n.next].prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.prev, n.next = -1, -1
	l.n--
}

func (c *Concurrency) freeNode(i int32) {
	n := &c.nodes[i]
	n.state = nodeFree
	n.next = c.free
	c.free = i
}
