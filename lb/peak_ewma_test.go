package lb

import (
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

func TestPeakEWMAAvoidsSlowTarget(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1, 1)
	now := int64(1e12)
	ts[0].ObserveLatency(now, 2*time.Millisecond)
	ts[1].ObserveLatency(now, 200*time.Millisecond)
	ts[2].ObserveLatency(now, 3*time.Millisecond)
	b, _ := NewPeakEWMA(s, NewRand(11))
	got := countPicks(t, b, 3000, now)
	if got["b"] != 0 {
		t.Fatalf("slow target picked %d times: %v", got["b"], got)
	}
}

func TestPeakEWMAReactsToAPeakAtOnce(t *testing.T) {
	s, ts := newSet(t, SetConfig{EWMATau: 10 * time.Second}, 1)
	_ = s
	x := ts[0]
	now := int64(0)
	for i := 0; i < 100; i++ {
		now += 10 * ms
		x.ObserveLatency(now, time.Millisecond)
	}
	x.ObserveLatency(now, 500*time.Millisecond)
	if got := x.EWMA(now, 10*time.Second, 0); got != 500*time.Millisecond {
		t.Fatalf("after a 500ms peak the estimate is %v, want 500ms", got)
	}
	// A fast sample right after barely moves it: recovery is gradual.
	now += 10 * ms
	x.ObserveLatency(now, time.Millisecond)
	if got := x.EWMA(now, 10*time.Second, 0); got < 490*time.Millisecond {
		t.Fatalf("one fast sample 10ms later dropped the estimate to %v", got)
	}
}

func TestPeakEWMADecaysSoAnIdleSlowTargetIsRetried(t *testing.T) {
	s, ts := newSet(t, SetConfig{EWMATau: time.Second}, 1, 1)
	b, _ := NewPeakEWMA(s, NewRand(2))
	ts[0].ObserveLatency(0, 100*time.Millisecond)
	ts[1].ObserveLatency(5*int64(time.Second), 5*time.Millisecond)
	now := 5 * int64(time.Second)
	// a: 100ms * e^-5 ≈ 0.67ms now, cheaper than b's fresh 5ms.
	if got := b.Pick(now, 0, Exclude{}); got != ts[0] {
		t.Fatalf("picked %s; a's decayed cost %.0f vs b %.0f", got.Addr(), b.Cost(now, ts[0]), b.Cost(now, ts[1]))
	}
	if got := b.Pick(int64(time.Second)/10, 0, Exclude{}); got != ts[1] {
		t.Fatalf("before decay picked %s, want b", got.Addr())
	}
}

func TestPeakEWMACostGrowsWithInflight(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1)
	b, _ := NewPeakEWMA(s, NewRand(2))
	ts[0].ObserveLatency(0, 10*time.Millisecond)
	ts[1].ObserveLatency(0, 30*time.Millisecond)
	for i := 0; i < 3; i++ {
		ts[0].Acquire() // 10ms * 4 = 40 > 30ms * 1
	}
	if got := b.Pick(0, 0, Exclude{}); got != ts[1] {
		t.Fatalf("picked %s, want b (a's cost %.0f, b's %.0f)", got.Addr(), b.Cost(0, ts[0]), b.Cost(0, ts[1]))
	}
}

func TestPeakEWMAUsesDefaultRTTBeforeFirstSample(t *testing.T) {
	s, ts := newSet(t, SetConfig{DefaultRTT: 50 * time.Millisecond}, 1, 1)
	b, _ := NewPeakEWMA(s, NewRand(2))
	ts[1].ObserveLatency(0, 20*time.Millisecond)
	if c := b.Cost(0, ts[0]); c != float64(50*time.Millisecond) {
		t.Fatalf("unsampled cost %v, want 50ms", c)
	}
	if got := b.Pick(0, 0, Exclude{}); got != ts[1] {
		t.Fatalf("picked %s, want the sampled faster b", got.Addr())
	}
}

func TestPeakEWMASpreadsEvenlyOverEqualTargets(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, equalWeights(4)...)
	for _, x := range ts {
		x.ObserveLatency(0, 5*time.Millisecond)
	}
	b, _ := NewPeakEWMA(s, NewRand(8))
	got := countPicks(t, b, 8000, 0)
	for _, x := range ts {
		if !within(float64(got[x.Addr()]), 2000, 0.1) {
			t.Fatalf("counts %v, want ≈2000 each", got)
		}
	}
}
