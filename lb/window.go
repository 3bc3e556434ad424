package lb

import (
	"math"
	"sync/atomic"
)

// window counts events over a sliding time window kept as a ring of buckets. Each
// bucket is one atomic word: the low 32 bits of its epoch (now/width) in the high
// half, its count in the low half. An add that finds an older epoch in its bucket
// restarts it in the same CAS, so there is no separate reset step to race with and
// the counts are exact without a lock. The epoch tag wraps after 2^32 buckets (13
// years at 100ms buckets).
type window struct {
	width int64 // bucket width, ns
	slots []atomic.Uint64
}

func newWindow(span int64, buckets int) window {
	w := span / int64(buckets)
	if w < 1 {
		w = 1
	}
	return window{width: w, slots: make([]atomic.Uint64, buckets)}
}

func (w *window) epoch(now int64) int64 {
	e := now / w.width
	if now < 0 && now%w.width != 0 {
		e-- // floor, so buckets do not straddle zero
	}
	return e
}

func (w *window) slot(e int64) *atomic.Uint64 {
	i := e % int64(len(w.slots))
	if i < 0 {
		i += int64(len(w.slots))
	}
	return &w.slots[i]
}

// add counts delta events at now.
func (w *window) add(now int64, delta uint32) {
	e := w.epoch(now)
	tag := uint32(e)
	s := w.slot(e)
	for {
		v := s.Load()
		vt, c := uint32(v>>32), uint32(v)
		var nv uint64
		if c == 0 || int32(tag-vt) > 0 {
			nv = uint64(tag)<<32 | uint64(delta) // empty or stale: restart
		} else {
			// Same epoch, or a caller whose clock lags another loop's slightly: count
			// it in the newer bucket rather than wiping the newer counts.
			sum := uint64(c) + uint64(delta)
			if sum > math.MaxUint32 {
				sum = math.MaxUint32
			}
			nv = uint64(vt)<<32 | sum
		}
		if s.CompareAndSwap(v, nv) {
			return
		}
	}
}

// sum returns the events counted in the len(slots) buckets ending at now's.
func (w *window) sum(now int64) uint64 {
	tag := uint32(w.epoch(now))
	n := uint32(len(w.slots))
	var total uint64
	for i := range w.slots {
		v := w.slots[i].Load()
		if age := tag - uint32(v>>32); age < n || int32(age) < 0 {
			total += uint64(uint32(v))
		}
	}
	return total
}

// reset empties the window. Adds racing with it may survive; callers use it only on
// a state change where a count or two either way does not matter.
func (w *window) reset() {
	for i := range w.slots {
		w.slots[i].Store(0)
	}
}
