package lb

import (
	"errors"
	"testing"
	"time"
)

func TestPanicThresholdSpreadsLoadOverAllMembers(t *testing.T) {
	tests := []struct {
		name      string
		threshold int
		unhealthy int // of 10
		wantPanic bool
	}{
		{"all healthy", 50, 0, false},
		{"exactly at threshold is not panic", 50, 5, false},
		{"below threshold panics", 50, 6, true},
		{"threshold zero never panics", 0, 9, false},
		{"threshold 100 panics on one loss", 100, 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ts := newSet(t, SetConfig{PanicThreshold: tc.threshold}, equalWeights(10)...)
			for _, x := range ts[:tc.unhealthy] {
				x.SetHealthy(false)
			}
			if s.Panicking() != tc.wantPanic {
				t.Fatalf("Panicking = %v, want %v (usable %d)", s.Panicking(), tc.wantPanic, s.Usable())
			}
			got := countPicks(t, mustRR(t, s), 1000, 0)
			sick := 0
			for _, x := range ts[:tc.unhealthy] {
				sick += got[x.Addr()]
			}
			if tc.wantPanic && sick != 100*tc.unhealthy {
				t.Fatalf("panic mode: unhealthy got %d picks, want %d (%v)", sick, 100*tc.unhealthy, got)
			}
			if !tc.wantPanic && sick != 0 {
				t.Fatalf("normal mode: unhealthy got %d picks", sick)
			}
		})
	}
}

func TestPanicModeStillSkipsDraining(t *testing.T) {
	s, ts := newSet(t, SetConfig{PanicThreshold: 50}, 1, 1, 1, 1)
	ts[0].SetHealthy(false)
	ts[1].SetHealthy(false)
	ts[2].SetHealthy(false)
	ts[3].SetDraining(true)
	if !s.Panicking() {
		t.Fatal("no panic with 0 of 4 usable")
	}
	got := countPicks(t, mustRR(t, s), 300, 0)
	if got["d"] != 0 || got["a"] != 100 {
		t.Fatalf("panic picks %v: draining d must get none", got)
	}
}

func TestEveryPolicyReturnsNilWhenNothingIsEligible(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1, 1)
	for _, x := range ts {
		x.SetHealthy(false)
	}
	rnd := NewRand(1)
	sw, _ := NewSmoothWeighted(s)
	rd, _ := NewRandom(s, rnd)
	lr, _ := NewLeastRequest(s, rnd)
	pe, _ := NewPeakEWMA(s, rnd)
	rg, _ := NewRing(s, RingConfig{LoadFactor: 0.25})
	for name, b := range map[string]Balancer{"rr": mustRR(t, s), "swrr": sw, "random": rd, "least": lr, "ewma": pe, "ring": rg} {
		if got := b.Pick(0, 1, Exclude{}); got != nil {
			t.Fatalf("%s picked unhealthy %s", name, got.Addr())
		}
	}
}

func TestSetUpdateRejectsBadMembership(t *testing.T) {
	a, _ := NewTarget("x", 1)
	b, _ := NewTarget("x", 1)
	other, _ := NewSet(SetConfig{})
	foreign, _ := NewTarget("f", 1)
	if err := other.Update([]*Target{foreign}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		targets []*Target
		want    error
	}{
		{"nil target", []*Target{nil}, ErrNilTarget},
		{"duplicate address", []*Target{a, b}, ErrDuplicateTarget},
		{"same pointer twice", []*Target{a, a}, ErrDuplicateTarget},
		{"target of another set", []*Target{foreign}, ErrForeignTarget},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := NewSet(SetConfig{})
			if err := s.Update(tc.targets); !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if s.Len() != 0 {
				t.Fatal("failed update published members")
			}
		})
	}
}

func TestNewTargetAndSetValidate(t *testing.T) {
	if _, err := NewTarget("", 1); !errors.Is(err, ErrBadAddress) {
		t.Fatalf("empty addr: %v", err)
	}
	for _, w := range []int{0, -1, MaxWeight + 1} {
		if _, err := NewTarget("a", w); !errors.Is(err, ErrBadWeight) {
			t.Fatalf("weight %d: %v", w, err)
		}
	}
	for _, p := range []int{-1, 101} {
		if _, err := NewSet(SetConfig{PanicThreshold: p}); !errors.Is(err, ErrBadConfig) {
			t.Fatalf("panic %d: %v", p, err)
		}
	}
}

func TestSetBreakerOnlyBeforeAttach(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1)
	_ = s
	br, _ := NewBreaker(BreakerConfig{FailureRatio: 0.5})
	if err := ts[0].SetBreaker(br); !errors.Is(err, ErrTargetAttached) {
		t.Fatalf("err %v, want ErrTargetAttached", err)
	}
}

func TestRemovedTargetStillCountsItsInflightUntilReleased(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1)
	ts[0].Acquire()
	ts[1].Acquire()
	if err := s.Update(ts[1:]); err != nil {
		t.Fatal(err)
	}
	if s.Inflight() != 2 {
		t.Fatalf("inflight %d, want 2", s.Inflight())
	}
	ts[0].Release()
	ts[1].Release()
	if s.Inflight() != 0 {
		t.Fatalf("inflight %d after releases, want 0", s.Inflight())
	}
}

func TestExcludeAddHasAndLimit(t *testing.T) {
	ts := newTargets(t, equalWeights(MaxExclude+1)...)
	var ex Exclude
	for i, x := range ts[:MaxExclude] {
		if !ex.Add(x) {
			t.Fatalf("add %d refused", i)
		}
	}
	if !ex.Add(ts[0]) {
		t.Fatal("re-adding a present target refused")
	}
	if ex.Add(ts[MaxExclude]) {
		t.Fatal("add beyond MaxExclude accepted")
	}
	if ex.Len() != MaxExclude || !ex.Has(ts[3]) || ex.Has(ts[MaxExclude]) {
		t.Fatalf("len %d", ex.Len())
	}
	ex.Reset()
	if ex.Len() != 0 || ex.Has(ts[0]) {
		t.Fatal("reset left entries")
	}
}

func TestOpenBreakerTakesTargetOutOfPicks(t *testing.T) {
	s, _ := NewSet(SetConfig{})
	ts := newTargets(t, 1, 1)
	br, _ := NewBreaker(BreakerConfig{FailureRatio: 0.5, MinRequests: 2, OpenDuration: 1000})
	if err := ts[0].SetBreaker(br); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ts); err != nil {
		t.Fatal(err)
	}
	br.OnResult(0, true, 0)
	br.OnResult(0, true, 0)
	if br.State() != Open {
		t.Fatalf("state %v", br.State())
	}
	if got := countPicks(t, mustRR(t, s), 10, 10); got["a"] != 0 {
		t.Fatalf("open breaker target picked: %v", got)
	}
	// After OpenDuration the target is eligible again for its probe.
	if got := countPicks(t, mustRR(t, s), 10, 1000); got["a"] == 0 {
		t.Fatalf("cooled-down breaker target never picked: %v", got)
	}
}

func TestTargetStatsReflectsState(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	d, _ := NewOutlierDetector(s, OutlierConfig{Consecutive5xx: 1})
	x := ts[0]
	x.Acquire()
	x.ObserveLatency(0, 4*time.Millisecond)
	x.SetDraining(true)
	d.OnResult(0, x, Failure5xx)
	got := x.Stats(0)
	want := TargetStats{
		Addr: "a", Weight: 3, Inflight: 1, Healthy: true, Draining: true, Ejected: true,
		EjectedUntil: 30 * sec, TimesEjected: 1, EWMA: 4 * time.Millisecond, Breaker: Closed,
	}
	if got != want {
		t.Fatalf("stats %+v\nwant  %+v", got, want)
	}
	x.Release()
}

func TestClosedBalancerStopsFollowingUpdates(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1)
	sw, _ := NewSmoothWeighted(s)
	rd, _ := NewRandom(s, NewRand(1))
	rg, _ := NewRing(s, RingConfig{})
	if n := len(s.builders); n != 3 {
		t.Fatalf("%d builders registered, want 3", n)
	}
	sw.Close()
	rd.Close()
	rg.Close()
	rg.Close()
	if n := len(s.builders); n != 0 {
		t.Fatalf("%d builders after Close, want 0", n)
	}
	if err := s.Update(ts[:1]); err != nil {
		t.Fatal(err)
	}
	if len(sw.table.Load().m.targets) != 2 {
		t.Fatal("closed balancer's table was rebuilt")
	}
}
