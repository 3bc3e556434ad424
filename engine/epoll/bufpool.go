//go:build linux

package epoll

import "math/bits"

// bufPool recycles the per-connection inbound and outbound buffers of one loop. Buffers are
// taken only while a connection has unconsumed or unsent bytes and given back as soon as they
// drain, so an idle connection holds no buffer at all; the pool keeps the steady state
// (partial requests, short write bursts) free of allocations. It is loop-confined: no locks.
type bufPool struct {
	free  [poolClasses][][]byte
	held  int // bytes currently held in free lists
	limit int // most bytes the free lists may hold
}

const (
	minBufShift = 12 // smallest class: 4 KiB
	poolClasses = 9  // 4 KiB .. 1 MiB
)

// classOf is the size class whose buffers hold n bytes, or poolClasses when n is larger than
// the biggest pooled class.
func classOf(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	c := bits.Len(uint(n-1)) - minBufShift
	if c >= poolClasses {
		return poolClasses
	}
	return c
}

// get returns a buffer with len == cap >= n. Buffers above the largest class are allocated
// with a power-of-two capacity, so repeated growth stays amortised O(1) per byte.
func (p *bufPool) get(n int) []byte {
	c := classOf(n)
	if c < poolClasses {
		if l := len(p.free[c]); l > 0 {
			b := p.free[c][l-1]
			p.free[c][l-1] = nil
			p.free[c] = p.free[c][:l-1]
			p.held -= cap(b)
			return b[:cap(b)]
		}
		return make([]byte, 1<<(minBufShift+c))
	}
	return make([]byte, 1<<bits.Len(uint(n-1)))
}

// put gives b back. Buffers of a foreign size or beyond the pool's byte limit are left to the
// garbage collector, which bounds what a burst of large writes keeps after it drains.
func (p *bufPool) put(b []byte) {
	c := cap(b)
	if c == 0 {
		return
	}
	cl := classOf(c)
	if cl >= poolClasses || c != 1<<(minBufShift+cl) || p.held+c > p.limit {
		return
	}
	p.free[cl] = append(p.free[cl], b[:c])
	p.held += c
}
