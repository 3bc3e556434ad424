package metrics

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/proxy"
)

// TailEntry is one sampled request of the live tail.
type TailEntry struct {
	Seq         uint64
	At          time.Time
	Route       string
	Upstream    string
	Target      string
	Method      string
	Path        string // the normalized path, truncated to tailPathLen bytes
	Status      int
	Duration    time.Duration
	UpstreamRTT time.Duration
	BytesIn     int64
	BytesOut    int64
	Error       string
	Client      string
	Reused      bool
	Retried     bool
}

const (
	tailPathLen   = 120
	tailMethodLen = 16
	tailClientLen = 46 // the longest textual IPv6 address
)

// tailSlot is a TailEntry stored without allocating: fixed arrays for the bytes the record
// only lends, string headers for the configured names (which live as long as their series)
// and for the error reason (a constant or a string the session keeps).
type tailSlot struct {
	seq                     uint64
	at                      int64
	route, upstream, target string
	method                  [tailMethodLen]byte
	path                    [tailPathLen]byte
	client                  [tailClientLen]byte
	ml, pl, cl              uint8
	status                  int
	dur, rtt                int64
	in, out                 int64
	err                     string
	reused, retried         bool
}

// tailRing keeps the newest sampled exchanges. Sampling is bounded two ways: one exchange in
// stride (stride follows the last second's rate so that about perSecond are kept) and a budget
// refilled each second, which errors may spend too. A writer that finds the ring locked drops
// its sample: the loops never wait for the admin side.
type tailRing struct {
	mu        sync.Mutex
	slots     []tailSlot
	next      uint64 // seq of the next entry; slot = seq % len
	perSecond int64
	seen      [maxShards]struct {
		n atomic.Uint64
		_ [56]byte // one line per loop's counter
	}
	stride  atomic.Uint64
	budget  atomic.Int64
	dropped atomic.Uint64
}

func (t *tailRing) init(size, perSecond int) {
	t.slots = make([]tailSlot, size)
	t.next = 1
	t.perSecond = int64(perSecond)
	t.stride.Store(1)
	t.budget.Store(int64(perSecond))
}

// refill sets the stride for the coming second from the last one's rate.
func (t *tailRing) refill(rps float64) {
	s := uint64(math.Ceil(rps / float64(t.perSecond)))
	t.stride.Store(max(s, 1))
	t.budget.Store(t.perSecond)
}

func (t *tailRing) offer(r *proxy.Record, rs *routeSeries, ts *targetSeries, d int64, shard int) {
	n := t.seen[shard].n.Add(1) // each loop takes every stride-th of its own exchanges
	if n%t.stride.Load() != 0 && r.Status < 500 {
		return
	}
	if t.budget.Load() <= 0 || t.budget.Add(-1) < 0 {
		return
	}
	if !t.mu.TryLock() {
		t.dropped.Add(1)
		return
	}
	seq := t.next
	t.next++
	s := &t.slots[seq%uint64(len(t.slots))]
	s.seq = seq
	s.at = time.Now().UnixNano()
	s.route = rs.name
	s.upstream, s.target = "", ""
	if ts != nil {
		s.upstream, s.target = ts.upstream, ts.addr
	}
	s.ml = uint8(copy(s.method[:], r.Method))
	s.pl = uint8(copy(s.path[:], r.Path))
	s.cl = uint8(copy(s.client[:], r.ClientIP))
	s.status = r.Status
	s.dur, s.rtt = d, r.UpstreamRTT
	s.in, s.out = r.BytesIn, r.BytesOut
	s.err = r.Error
	s.reused, s.retried = r.Reused, r.Retried
	t.mu.Unlock()
}

// Tail returns the sampled exchanges with Seq > after, oldest first, at most max of the
// newest (max <= 0: all the ring holds).
func (m *Metrics) Tail(after uint64, max int) []TailEntry {
	t := &m.tail
	t.mu.Lock()
	defer t.mu.Unlock()
	first := ringFirst(t.next, len(t.slots), after, max)
	if first >= t.next {
		return nil
	}
	out := make([]TailEntry, 0, t.next-first)
	for seq := first; seq < t.next; seq++ {
		s := &t.slots[seq%uint64(len(t.slots))]
		out = append(out, TailEntry{
			Seq: s.seq, At: time.Unix(0, s.at), Route: s.route, Upstream: s.upstream, Target: s.target,
			Method: string(s.method[:s.ml]), Path: string(s.path[:s.pl]), Status: s.status,
			Duration: time.Duration(s.dur), UpstreamRTT: time.Duration(s.rtt), BytesIn: s.in, BytesOut: s.out,
			Error: s.err, Client: string(s.client[:s.cl]), Reused: s.reused, Retried: s.retried,
		})
	}
	return out
}

// TailDropped counts samples dropped because the ring was busy.
func (m *Metrics) TailDropped() uint64 { return m.tail.dropped.Load() }
