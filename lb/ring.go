package lb

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// MaxRingPoints bounds a ring (12 bytes per point).
const MaxRingPoints = 1 << 22

// DefaultVNodes is the points per unit of weight when RingConfig.VNodes is 0. With
// 160 points per target (ketama's figure) the share of keys each target owns stays
// within a few percent of its weight.
const DefaultVNodes = 160

// HashKey hashes an affinity key (client IP, header value, cookie, path) for Pick.
// xxhash64: fast, well mixed, and stable across processes and releases, so the same
// key maps to the same target on every gateway instance.
func HashKey(b []byte) uint64 { return xxhash.Sum64(b) }

// HashString is HashKey for a string, without converting it to a byte slice.
func HashString(s string) uint64 { return xxhash.Sum64String(s) }

// RingConfig configures a consistent-hash ring.
type RingConfig struct {
	// VNodes is the number of ring points per unit of target weight; 0 means
	// DefaultVNodes.
	VNodes int
	// LoadFactor is epsilon of "Consistent Hashing with Bounded Loads" (Mirrokni,
	// Thorup, Zadimoghaddam, 2016): no target takes more than
	// ceil((1+epsilon) * its weighted share of the load in flight). 0.25 is the value
	// Vimeo and HAProxy (hash-balance-factor 125) run with. 0 disables the bound
	// (plain consistent hashing).
	LoadFactor float64
}

// Ring is consistent hashing on a 64-bit key with bounded loads. Each target owns
// VNodes*weight points at xxhash(addr, i); a key goes to the owner of the first point
// at or after it, so adding one target to n moves only the keys that land on its new
// points, about 1/(n+1) of them, all to the new target.
//
// With a LoadFactor, a target already at its capacity is passed over and the walk
// continues clockwise; because total capacity exceeds the load by the factor, the
// walk ends within a few points. Under a skewed key distribution a hot key's excess
// therefore spills to its ring successors instead of overloading one target.
//
// The point table is built by NewRing and on every Set.Update, off the hot path, and
// published through an atomic pointer. Pick is a binary search plus a short walk,
// O(log n), lock-free.
type Ring struct {
	set    *Set
	vnodes int
	eps    float64
	table  atomic.Pointer[ringTable]
}

type ringTable struct {
	m      *members
	points []uint64
	owners []uint32 // owners[i] indexes m.targets
	// index[b] is the first point whose top `shift`-complement bits are >= b: the
	// hashes are uniform, so each bucket holds about one point and a lookup is a
	// table read plus a search over a handful of points instead of log2(points)
	// cache misses across the whole table.
	index []uint32
	shift uint
}

// NewRing builds a ring over s's members and keeps it current across s.Update.
func NewRing(s *Set, cfg RingConfig) (*Ring, error) {
	if s == nil {
		return nil, errNilSet
	}
	if cfg.VNodes < 0 {
		return nil, fmt.Errorf("%w: ring vnodes %d", ErrBadConfig, cfg.VNodes)
	}
	if cfg.VNodes == 0 {
		cfg.VNodes = DefaultVNodes
	}
	if cfg.LoadFactor < 0 || math.IsNaN(cfg.LoadFactor) || math.IsInf(cfg.LoadFactor, 0) {
		return nil, fmt.Errorf("%w: ring load factor %v", ErrBadConfig, cfg.LoadFactor)
	}
	r := &Ring{set: s, vnodes: cfg.VNodes, eps: cfg.LoadFactor}
	if err := s.register(r); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Ring) prepare(m *members) (func(), error) {
	tbl, err := buildRing(m, r.vnodes)
	if err != nil {
		return nil, err
	}
	return func() { r.table.Store(tbl) }, nil
}

type ringPoint struct {
	h     uint64
	owner uint32
}

func buildRing(m *members, vnodes int) (*ringTable, error) {
	// Only the ratios of the weights matter: dividing them by their greatest common divisor
	// gives the same shares with fewer points (targets of equal weight 100, as SRV answers
	// give, get the points of weight 1).
	var g int64
	for _, t := range m.targets {
		g = gcd(g, int64(t.weight))
	}
	if g < 1 {
		g = 1
	}
	total := m.totalWeight / g * int64(vnodes)
	if total > MaxRingPoints {
		return nil, fmt.Errorf("%w: %d points > %d", ErrRingTooLarge, total, MaxRingPoints)
	}
	pts := make([]ringPoint, 0, total)
	var buf []byte
	for i, t := range m.targets {
		buf = append(buf[:0], t.addr...)
		buf = append(buf, 0)
		n := int(int64(t.weight)/g) * vnodes
		for v := 0; v < n; v++ {
			// Points depend only on the address and the point number, never on the
			// target's position in the list: that is what keeps keys in place when
			// other targets join or leave.
			b := binary.LittleEndian.AppendUint32(buf, uint32(v))
			pts = append(pts, ringPoint{h: xxhash.Sum64(b), owner: uint32(i)})
		}
	}
	// Collisions are broken by address so the order does not depend on member order.
	slices.SortFunc(pts, func(a, b ringPoint) int {
		if a.h != b.h {
			if a.h < b.h {
				return -1
			}
			return 1
		}
		ab, bb := m.targets[a.owner].addr, m.targets[b.owner].addr
		switch {
		case ab < bb:
			return -1
		case ab > bb:
			return 1
		}
		return 0
	})
	tbl := &ringTable{m: m, points: make([]uint64, len(pts)), owners: make([]uint32, len(pts))}
	for i, p := range pts {
		tbl.points[i] = p.h
		tbl.owners[i] = p.owner
	}
	tbl.buildIndex()
	return tbl, nil
}

// Capacity returns the most requests in flight t may hold before Pick passes it over
// for a new request: ceil((1+epsilon) * (total+1) * weight / usable weight), where
// total+1 counts the request being placed (the paper's bound is on the load after
// placement). math.MaxInt64 when the ring has no LoadFactor.
func (r *Ring) Capacity(t *Target) int64 {
	load, w := r.loadShare(r.set.panicking(r.set.members.Load()))
	return r.capacityOf(t, load, w)
}

// loadShare returns the load to divide (in flight plus the request being placed)
// and the weight it is divided over: the usable members' weight, or every member's
// in panic mode, when the unhealthy ones take traffic too.
func (r *Ring) loadShare(p bool) (load float64, w int64) {
	w = r.set.usableWeight.Load()
	if p || w <= 0 {
		w = r.set.members.Load().totalWeight
	}
	return float64(r.set.inflight.Load() + 1), w
}

func (r *Ring) capacityOf(t *Target, load float64, w int64) int64 {
	if r.eps == 0 || w <= 0 {
		return math.MaxInt64
	}
	c := math.Ceil((1 + r.eps) * load * float64(t.weight) / float64(w))
	if c < 1 {
		c = 1
	}
	return int64(c)
}

// Pick maps key onto the ring and walks clockwise to the first eligible,
// non-excluded target under its capacity. If every eligible target is at capacity
// (only possible when exclusions or ineligible targets hold load), it returns the
// first eligible one met, so a request is never refused for load alone.
func (r *Ring) Pick(now int64, key uint64, ex Exclude) *Target {
	tbl := r.table.Load()
	if tbl == nil {
		return nil
	}
	np := len(tbl.points)
	if np == 0 {
		return nil
	}
	m := tbl.m
	p := r.set.panicking(m)
	i := tbl.search(key)
	load, w := r.loadShare(p)
	var fallback, last *Target
	for k := 0; k < np; k++ {
		t := m.targets[tbl.owners[i]]
		if i++; i == np {
			i = 0
		}
		if t == last {
			continue // consecutive points of the same target: nothing new to check
		}
		last = t
		if !t.eligible(now, p) || ex.Has(t) {
			continue
		}
		if r.eps == 0 || t.inflight.Load() < r.capacityOf(t, load, w) {
			return t
		}
		if fallback == nil {
			fallback = t
		}
	}
	return fallback
}

// Owner returns the target owning key on the ring, ignoring load, health and
// exclusions: the plain consistent-hash mapping (used to measure key movement).
func (r *Ring) Owner(key uint64) *Target {
	tbl := r.table.Load()
	if tbl == nil || len(tbl.points) == 0 {
		return nil
	}
	i := tbl.search(key)
	return tbl.m.targets[tbl.owners[i]]
}

func (tbl *ringTable) buildIndex() {
	np := len(tbl.points)
	if np == 0 {
		return
	}
	k := uint(bits.Len(uint(np)))
	if k > 22 {
		k = 22
	}
	tbl.shift = 64 - k
	tbl.index = make([]uint32, 1<<k+1)
	j := 0
	for b := range tbl.index {
		for j < np && tbl.points[j]>>tbl.shift < uint64(b) {
			j++
		}
		tbl.index[b] = uint32(j)
	}
}

// search returns the first point index >= key, wrapping to 0 past the end.
func (tbl *ringTable) search(key uint64) int {
	b := key >> tbl.shift
	lo, hi := int(tbl.index[b]), int(tbl.index[b+1])
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if tbl.points[mid] < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(tbl.points) {
		return 0
	}
	return lo
}

// lowerBound returns the first index with points[i] >= key, wrapping to 0 past the
// end (the ring closes).
func lowerBound(points []uint64, key uint64) int {
	lo, hi := 0, len(points)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if points[mid] < key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(points) {
		return 0
	}
	return lo
}

// Close stops rebuilding the ring on s.Update. A Set keeps every table-backed
// balancer built on it current, so a balancer replaced (say on a policy change in a
// reload) while its Set lives on must be closed. Pick keeps working on the last
// ring. Safe concurrently with Pick; idempotent.
func (r *Ring) Close() { r.set.unregister(r) }
