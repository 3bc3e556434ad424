package lb

import (
	"errors"
	"testing"
	"time"
)

func TestRetryBudgetAllowsRatioOfRequestsPlusFloor(t *testing.T) {
	b, err := NewRetryBudget(RetryBudgetConfig{Ratio: 0.2, MinPerSecond: 1, Window: 10 * time.Second, Buckets: 10})
	if err != nil {
		t.Fatal(err)
	}
	// Floor: 1/s * 10s = 10 retries with no traffic at all.
	if got := b.Available(0); got != 10 {
		t.Fatalf("empty budget allows %d, want 10", got)
	}
	for i := 0; i < 100; i++ {
		b.OnRequest(0)
	}
	if got := b.Available(0); got != 30 {
		t.Fatalf("after 100 requests allows %d, want 20+10", got)
	}
	granted := 0
	for i := 0; i < 50; i++ {
		if b.TryRetry(0) {
			granted++
		}
	}
	if granted != 30 || b.Available(0) != 0 {
		t.Fatalf("granted %d (want 30), left %d", granted, b.Available(0))
	}
}

func TestRetryBudgetRefillsAsTheWindowSlides(t *testing.T) {
	b, _ := NewRetryBudget(RetryBudgetConfig{Ratio: 0.5, MinPerSecond: 0, Window: 10 * time.Second, Buckets: 10})
	for i := 0; i < 10; i++ {
		b.OnRequest(0)
	}
	for i := 0; i < 100 && b.TryRetry(0); i++ {
	}
	if got := b.Available(5 * sec); got != 0 {
		t.Fatalf("mid-window %d, want 0", got)
	}
	for i := 0; i < 10; i++ {
		b.OnRequest(5 * sec)
	}
	if got := b.Available(5 * sec); got != 5 {
		t.Fatalf("after 10 more requests %d, want 10-5", got)
	}
	// At 10s the first bucket (requests and retries at 0) has slid out.
	if got := b.Available(10 * sec); got != 5 {
		t.Fatalf("at 10s %d, want 5 (only the 5s requests count)", got)
	}
	if got := b.Available(15 * sec); got != 0 {
		t.Fatalf("at 15s %d, want 0 (window empty, no floor)", got)
	}
}

func TestRetryBudgetZeroRatioZeroFloorNeverRetries(t *testing.T) {
	b, _ := NewRetryBudget(RetryBudgetConfig{})
	b.OnRequest(0)
	if b.TryRetry(0) {
		t.Fatal("retry allowed with no budget")
	}
}

func TestRetryBudgetConfigValidation(t *testing.T) {
	for _, cfg := range []RetryBudgetConfig{{Ratio: -0.1}, {Ratio: 1.1}, {MinPerSecond: -1}, {Buckets: -2}, {Window: 5, Buckets: 10}} {
		if _, err := NewRetryBudget(cfg); !errors.Is(err, ErrBadConfig) {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
}
