package lb

import (
	"math"
	"testing"
	"time"
)

func TestBackoffCeilingDoublesAndCaps(t *testing.T) {
	b, err := NewRetryBackoff(25*time.Millisecond, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{-3, 25 * time.Millisecond},
		{0, 25 * time.Millisecond},
		{1, 50 * time.Millisecond},
		{5, 800 * time.Millisecond},
		{6, time.Second},
		{62, time.Second},
		{1000, time.Second},
	}
	for _, tc := range tests {
		if got := b.Ceiling(tc.attempt); got != tc.want {
			t.Fatalf("Ceiling(%d) = %v, want %v", tc.attempt, got, tc.want)
		}
	}
}

func TestBackoffFullJitterSpansZeroToCeiling(t *testing.T) {
	b, _ := NewRetryBackoff(100*time.Millisecond, 10*time.Second)
	if got := b.Backoff(3, 0); got != 0 {
		t.Fatalf("rnd 0: %v, want 0", got)
	}
	if got := b.Backoff(3, math.MaxUint64); got != 800*time.Millisecond {
		t.Fatalf("rnd max: %v, want the ceiling 800ms", got)
	}
	if got := b.Backoff(3, 1<<63); got != 400*time.Millisecond {
		t.Fatalf("rnd half: %v, want 400ms", got)
	}
	// Uniform: mean over many draws ≈ ceiling/2.
	r := NewRand(1)
	var sum time.Duration
	const n = 20000
	for i := 0; i < n; i++ {
		d := b.Backoff(2, r.Uint64())
		if d < 0 || d > 400*time.Millisecond {
			t.Fatalf("delay %v out of [0, 400ms]", d)
		}
		sum += d
	}
	if mean := sum / n; mean < 190*time.Millisecond || mean > 210*time.Millisecond {
		t.Fatalf("mean %v, want ≈200ms", mean)
	}
}

func TestBackoffRejectsBadConfig(t *testing.T) {
	for _, c := range [][2]time.Duration{{0, time.Second}, {-1, time.Second}, {time.Second, time.Millisecond}} {
		if _, err := NewRetryBackoff(c[0], c[1]); err == nil {
			t.Fatalf("%v accepted", c)
		}
	}
}
