package lb

import (
	"errors"
	"testing"
	"time"
)

const sec = int64(time.Second)

func newDetector(tb testing.TB, s *Set, cfg OutlierConfig) *OutlierDetector {
	tb.Helper()
	d, err := NewOutlierDetector(s, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func fail(d *OutlierDetector, now int64, t *Target, o Outcome, n int) (ejected bool) {
	for i := 0; i < n; i++ {
		ejected = d.OnResult(now, t, o) || ejected
	}
	return ejected
}

func TestOutlierEjectsAfterConsecutive5xx(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, equalWeights(10)...)
	d := newDetector(t, s, OutlierConfig{Consecutive5xx: 5})
	if fail(d, 0, ts[0], Failure5xx, 4) {
		t.Fatal("ejected after 4")
	}
	d.OnResult(0, ts[0], Success) // breaks the streak
	if fail(d, 0, ts[0], Failure5xx, 4) {
		t.Fatal("streak not reset by a success")
	}
	if !d.OnResult(0, ts[0], Failure5xx) {
		t.Fatal("not ejected after 5 in a row")
	}
	if !ts[0].Ejected(1) || ts[0].Available(1) {
		t.Fatal("ejected target still available")
	}
	if s.Usable() != 9 {
		t.Fatalf("usable %d, want 9", s.Usable())
	}
	if got := countPicks(t, mustRR(t, s), 90, 1); got["a"] != 0 {
		t.Fatalf("ejected target picked %d times", got["a"])
	}
}

func TestOutlierConnectFailuresHaveTheirOwnThreshold(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, equalWeights(10)...)
	d := newDetector(t, s, OutlierConfig{Consecutive5xx: 5, ConsecutiveConnectFailures: 2, MaxEjectionPercent: 50})
	if fail(d, 0, ts[0], ConnectFailure, 1) {
		t.Fatal("ejected after one connect failure")
	}
	if !d.OnResult(0, ts[0], ConnectFailure) {
		t.Fatal("not ejected after 2 connect failures")
	}
	// A 5xx interrupts a connect-failure streak but continues the 5xx streak.
	fail(d, 0, ts[1], ConnectFailure, 1)
	fail(d, 0, ts[1], Failure5xx, 1)
	if fail(d, 0, ts[1], ConnectFailure, 1) {
		t.Fatal("connect streak survived a 5xx")
	}
	if !fail(d, 0, ts[1], Failure5xx, 2) {
		t.Fatal("5 failures of mixed kinds in a row did not eject")
	}
}

func TestOutlierEjectionTimeGrowsAndIsCapped(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, equalWeights(10)...)
	d := newDetector(t, s, OutlierConfig{
		Consecutive5xx:   1,
		BaseEjectionTime: 10 * time.Second,
		MaxEjectionTime:  25 * time.Second,
		Interval:         time.Hour, // no multiplier decay in this test
	})
	x := ts[0]
	now := int64(0)
	for i, want := range []int64{10, 20, 25, 25} {
		if !d.OnResult(now, x, Failure5xx) {
			t.Fatalf("ejection %d did not happen", i+1)
		}
		if got := x.ejectedUntil.Load() - now; got != want*sec {
			t.Fatalf("ejection %d lasts %ds, want %ds", i+1, got/sec, want)
		}
		if d.Sweep(now+want*sec-1) != 0 || !x.Ejected(now+want*sec-1) {
			t.Fatalf("ejection %d ended early", i+1)
		}
		now += want * sec
		if d.Sweep(now) != 1 || x.Ejected(now) || !x.Available(now) {
			t.Fatalf("ejection %d not ended by Sweep at its deadline", i+1)
		}
	}
	if x.TimesEjected() != 4 {
		t.Fatalf("times ejected %d", x.TimesEjected())
	}
}

func TestOutlierMultiplierDecaysWhileHealthy(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, equalWeights(10)...)
	d := newDetector(t, s, OutlierConfig{Consecutive5xx: 1, BaseEjectionTime: 10 * time.Second, Interval: 10 * time.Second})
	x := ts[0]
	d.OnResult(0, x, Failure5xx)
	d.Sweep(10 * sec) // returns
	d.OnResult(10*sec, x, Failure5xx)
	d.Sweep(30 * sec) // returns after 20s
	if x.TimesEjected() != 2 {
		t.Fatalf("times %d", x.TimesEjected())
	}
	d.Sweep(40 * sec)
	d.Sweep(50 * sec)
	if x.TimesEjected() != 0 {
		t.Fatalf("after two healthy intervals times = %d, want 0", x.TimesEjected())
	}
	d.OnResult(50*sec, x, Failure5xx)
	if got := x.ejectedUntil.Load() - 50*sec; got != 10*sec {
		t.Fatalf("after decay the ejection lasts %ds, want the base 10s", got/sec)
	}
}

func TestOutlierMaxEjectionPercent(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, equalWeights(10)...)
	d := newDetector(t, s, OutlierConfig{Consecutive5xx: 1, MaxEjectionPercent: 20})
	ejected := 0
	for _, x := range ts {
		if d.OnResult(0, x, Failure5xx) {
			ejected++
		}
	}
	if ejected != 2 {
		t.Fatalf("ejected %d of 10 with a 20%% cap, want 2", ejected)
	}
	// A tiny cap still allows one ejection.
	s2, ts2 := newSet(t, SetConfig{}, 1, 1, 1)
	d2 := newDetector(t, s2, OutlierConfig{Consecutive5xx: 1, MaxEjectionPercent: 1})
	if !d2.OnResult(0, ts2[0], Failure5xx) || d2.OnResult(0, ts2[1], Failure5xx) {
		t.Fatal("1% cap: want exactly one ejection")
	}
}

func TestOutlierIgnoresTargetsOfOtherSets(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1, 1)
	_, other := newSet(t, SetConfig{}, 1)
	d := newDetector(t, s, OutlierConfig{Consecutive5xx: 1})
	if d.OnResult(0, other[0], Failure5xx) {
		t.Fatal("ejected a target of another set")
	}
}

func TestOutlierConfigValidation(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1)
	for _, cfg := range []OutlierConfig{
		{Consecutive5xx: -1},
		{BaseEjectionTime: 10 * time.Second, MaxEjectionTime: time.Second},
		{MaxEjectionPercent: 101},
		{Interval: -1},
	} {
		if _, err := NewOutlierDetector(s, cfg); !errors.Is(err, ErrBadConfig) {
			t.Fatalf("%+v: %v", cfg, err)
		}
	}
}
