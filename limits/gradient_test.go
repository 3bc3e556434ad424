package limits

import (
	"errors"
	"testing"
	"time"
)

func mustGradient(t testing.TB, cfg GradientConfig) *Gradient {
	t.Helper()
	g, err := NewGradient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// feed sends one window of samples at rtt with the limiter saturated and
// returns the limit after it.
func feed(g *Gradient, now *int64, rtt time.Duration, dropped bool) int64 {
	var l int64
	limit := g.Limit()
	for i := 0; i < 10; i++ {
		*now += int64(100 * time.Millisecond)
		l = g.OnSample(rtt, *now, limit, dropped && i == 0)
	}
	return l
}

func TestGradientGrowsToMaxUnderSteadyLowLatency(t *testing.T) {
	g := mustGradient(t, GradientConfig{InitialLimit: 20, MinLimit: 5, MaxLimit: 100})
	now := t0
	prev := g.Limit()
	windows := 0
	for ; windows < 500 && prev < 100; windows++ {
		l := feed(g, &now, 10*time.Millisecond, false)
		if l < prev {
			t.Fatalf("window %d: limit fell from %d to %d at constant latency", windows, prev, l)
		}
		prev = l
	}
	if prev != 100 {
		t.Fatalf("limit %d after %d windows, want 100", prev, windows)
	}
	// +Smoothing*QueueSize = 0.8 per window: 80 windows from 20 to 100.
	if windows < 75 || windows > 110 {
		t.Fatalf("reached max after %d windows, expected about 100", windows)
	}
}

func TestGradientShrinksUnderRisingLatencyThenRecovers(t *testing.T) {
	g := mustGradient(t, GradientConfig{InitialLimit: 100, MinLimit: 5, MaxLimit: 200})
	now := t0
	for i := 0; i < 30; i++ {
		feed(g, &now, 10*time.Millisecond, false)
	}
	high := g.Limit()
	rtt := 10 * time.Millisecond
	for i := 0; i < 40; i++ {
		rtt = rtt * 11 / 10 // queueing: latency keeps rising
		feed(g, &now, rtt, false)
	}
	low := g.Limit()
	if low >= high/3 {
		t.Fatalf("limit only fell from %d to %d while latency rose %v -> %v", high, low, 10*time.Millisecond, rtt)
	}
	// Latency drops back: the limit climbs again.
	for i := 0; i < 100; i++ {
		feed(g, &now, 10*time.Millisecond, false)
	}
	if g.Limit() <= low+20 {
		t.Fatalf("limit did not recover: %d -> %d", low, g.Limit())
	}
}

func TestGradientDoesNotGrowWhenAppLimited(t *testing.T) {
	g := mustGradient(t, GradientConfig{InitialLimit: 50, MinLimit: 5, MaxLimit: 200})
	now := t0
	for i := 0; i < 50; i++ {
		for j := 0; j < 10; j++ {
			now += int64(100 * time.Millisecond)
			g.OnSample(5*time.Millisecond, now, 10, false) // 10 in flight of 50
		}
	}
	if g.Limit() != 50 {
		t.Fatalf("app-limited limit moved to %d", g.Limit())
	}
}

func TestGradientDropsCutTheLimit(t *testing.T) {
	g := mustGradient(t, GradientConfig{InitialLimit: 100, MinLimit: 5, MaxLimit: 200})
	now := t0
	for i := 0; i < 20; i++ {
		feed(g, &now, 10*time.Millisecond, false)
	}
	before := g.Limit()
	after := feed(g, &now, 10*time.Millisecond, true)
	// 0.8*L + 0.2*(0.5*L + 4) = 0.9*L + 0.8
	if want := int64(0.9*float64(before) + 0.8); after > want+1 || after < want-1 {
		t.Fatalf("after a drop %d -> %d, want about %d", before, after, want)
	}
}

func TestGradientUpdatesOncePerWindow(t *testing.T) {
	g := mustGradient(t, GradientConfig{InitialLimit: 20, MinLimit: 5, MaxLimit: 100, Window: time.Second, MinSamples: 3})
	for i := 0; i < 100; i++ {
		// 100 samples within one second: one window, no update yet.
		if l := g.OnSample(time.Millisecond, t0+int64(i)*int64(time.Millisecond), 20, false); l != 20 {
			t.Fatalf("updated inside the window at sample %d: %d", i, l)
		}
	}
	if l := g.OnSample(time.Millisecond, t0+int64(time.Second), 20, false); l != 20 {
		// 0.8*20 + 0.2*(20+4) = 20.8 -> 20
		t.Fatalf("limit %d", l)
	}
	if l := g.OnSample(time.Millisecond, t0+int64(time.Second), 20, false); l != 20 {
		t.Fatalf("second window closed with one sample: %d", l)
	}
}

func TestNewGradientRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]GradientConfig{
		"min > max":      {MinLimit: 10, MaxLimit: 5, InitialLimit: 7},
		"initial > max":  {InitialLimit: 500, MaxLimit: 100},
		"smoothing > 1":  {Smoothing: 2},
		"tolerance < 1":  {Tolerance: 0.5},
		"negative queue": {QueueSize: -1},
		"negative limit": {MinLimit: -1},
	} {
		if _, err := NewGradient(cfg); !errors.Is(err, ErrConcurrencyConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestGradientDropOnlyWindowStillCuts(t *testing.T) {
	g := mustGradient(t, GradientConfig{InitialLimit: 100, MinLimit: 5, MaxLimit: 200, MinSamples: 1})
	g.OnSample(0, t0, 100, true)
	if l := g.OnSample(0, t0+int64(time.Second), 100, true); l != 90 {
		// 0.8*100 + 0.2*(0.5*100 + 4) = 90.8
		t.Fatalf("limit %d after a window of drops, want 90", l)
	}
}
