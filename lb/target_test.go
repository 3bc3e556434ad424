package lb

import (
	"math"
	"testing"
	"time"
)

// TestDecayMatchesExp checks decay's fast path for small dt/tau against math.Exp, across the
// switch to math.Exp and at its edges.
func TestDecayMatchesExp(t *testing.T) {
	tau := 10 * time.Second
	for _, dt := range []int64{1, 10, 1_000, 1_000_000, 9_999_999, 10_000_000, 10_000_001, 100_000_000, int64(tau), 5 * int64(tau)} {
		got, want := decay(dt, tau), math.Exp(-float64(dt)/float64(tau))
		if d := math.Abs(got-want) / want; d > 1e-13 {
			t.Errorf("decay(%d, %v) = %.17g, exp gives %.17g (relative error %.3g)", dt, tau, got, want, d)
		}
	}
	if decay(0, tau) != 1 || decay(-5, tau) != 1 {
		t.Error("decay of dt <= 0 is not 1")
	}
}
