package lb

import (
	"fmt"
	"math/bits"
	"time"
)

// RetryBackoff is exponential backoff with full jitter (AWS Architecture Blog,
// "Exponential Backoff and Jitter", 2015): the delay before retry attempt k is
// uniform in [0, min(Max, Base*2^k)]. Spreading retries over the whole interval
// decorrelates clients that failed together, which "equal jitter" or no jitter do
// not, and costs the fewest total calls in that study.
type RetryBackoff struct {
	Base time.Duration // delay ceiling of the first retry (attempt 0); > 0
	Max  time.Duration // cap on the ceiling; >= Base
}

// NewRetryBackoff validates base and max.
func NewRetryBackoff(base, max time.Duration) (RetryBackoff, error) {
	if base <= 0 || max < base {
		return RetryBackoff{}, fmt.Errorf("%w: backoff base %v max %v", ErrBadConfig, base, max)
	}
	return RetryBackoff{Base: base, Max: max}, nil
}

// Ceiling returns min(Max, Base*2^attempt) without overflowing.
func (b RetryBackoff) Ceiling(attempt int) time.Duration {
	if attempt < 0 {
		attempt = 0
	}
	if b.Base <= 0 {
		return 0
	}
	if attempt >= 63 || b.Base > b.Max>>uint(attempt) {
		return b.Max
	}
	return b.Base << uint(attempt)
}

// Backoff returns the delay before retry attempt (0 for the first retry), with rnd a
// uniformly random 64-bit value from the caller (Rand.Uint64): the result is
// rnd scaled into [0, Ceiling(attempt)]. Pure, so tests give exact values.
func (b RetryBackoff) Backoff(attempt int, rnd uint64) time.Duration {
	c := b.Ceiling(attempt)
	if c <= 0 {
		return 0
	}
	hi, _ := bits.Mul64(rnd, uint64(c)+1)
	return time.Duration(hi)
}
