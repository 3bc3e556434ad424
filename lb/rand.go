package lb

import (
	"math/bits"
	"sync/atomic"
)

// Rand is the randomness source of the random, least-request and peak-EWMA
// balancers. It is splitmix64 over an atomic counter: each Uint64 is one atomic add
// and a few multiplies, so it is safe to share between event loops without a lock,
// and a single goroutine drawing from a seeded Rand sees the same sequence every run,
// which is what makes the distribution tests exact.
//
// The zero value is usable (seed 0). The counter is the only state; callers that
// want per-loop streams give each loop its own balancer or Rand.
type Rand struct {
	state atomic.Uint64
}

// NewRand returns a Rand seeded with seed.
func NewRand(seed uint64) *Rand {
	r := &Rand{}
	r.state.Store(seed)
	return r
}

// Seed resets the stream. Safe concurrently, but concurrent draws then interleave.
func (r *Rand) Seed(seed uint64) { r.state.Store(seed) }

// Uint64 returns the next pseudo-random value. Safe for concurrent use.
func (r *Rand) Uint64() uint64 {
	return mix64(r.state.Add(0x9e3779b97f4a7c15))
}

// Intn returns a value in [0, n) using Lemire's multiply-shift, which has no
// division and a bias below n/2^64. n must be > 0.
func (r *Rand) Intn(n int) int {
	hi, _ := bits.Mul64(r.Uint64(), uint64(n))
	return int(hi)
}

// mix64 is the splitmix64 finaliser.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
