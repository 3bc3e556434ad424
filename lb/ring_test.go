package lb

import (
	"fmt"
	"math"
	"testing"
)

func newRing(tb testing.TB, s *Set, cfg RingConfig) *Ring {
	tb.Helper()
	r, err := NewRing(s, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func keyOf(i int) uint64 { return HashKey([]byte(fmt.Sprintf("client-%d", i))) }

func TestRingSameKeySameTarget(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, equalWeights(5)...)
	r := newRing(t, s, RingConfig{})
	for i := 0; i < 100; i++ {
		k := keyOf(i)
		first := r.Pick(0, k, Exclude{})
		for j := 0; j < 3; j++ {
			if got := r.Pick(0, k, Exclude{}); got != first {
				t.Fatalf("key %d: %s then %s", i, first.Addr(), got.Addr())
			}
		}
	}
}

func TestRingKeyShareFollowsWeight(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1, 1, 2)
	r := newRing(t, s, RingConfig{})
	got := map[string]int{}
	n := 100000
	for i := 0; i < n; i++ {
		got[r.Owner(keyOf(i)).Addr()]++
	}
	for addr, share := range map[string]float64{"a": 0.25, "b": 0.25, "c": 0.5} {
		if !within(float64(got[addr]), share*float64(n), 0.1) {
			t.Fatalf("%s owns %d keys, want %.0f±10%% (%v)", addr, got[addr], share*float64(n), got)
		}
	}
}

func TestRingAddingOneTargetMovesAboutOneNth(t *testing.T) {
	for _, n := range []int{4, 10, 30} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s, ts := newSet(t, SetConfig{}, equalWeights(n)...)
			r := newRing(t, s, RingConfig{})
			const keys = 50000
			before := make([]*Target, keys)
			for i := range before {
				before[i] = r.Owner(keyOf(i))
			}
			extra, _ := NewTarget("new", 1)
			if err := s.Update(append(ts[:n:n], extra)); err != nil {
				t.Fatal(err)
			}
			moved := 0
			for i := range before {
				after := r.Owner(keyOf(i))
				if after != before[i] {
					moved++
					if after != extra {
						t.Fatalf("key %d moved %s → %s, not to the new target", i, before[i].Addr(), after.Addr())
					}
				}
			}
			frac, ideal := float64(moved)/keys, 1/float64(n+1)
			if frac < 0.6*ideal || frac > 1.4*ideal {
				t.Fatalf("moved %.4f of keys, want ≈ %.4f", frac, ideal)
			}
		})
	}
}

func TestRingRemovingOneTargetMovesOnlyItsKeys(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, equalWeights(8)...)
	r := newRing(t, s, RingConfig{})
	const keys = 20000
	before := make([]*Target, keys)
	for i := range before {
		before[i] = r.Owner(keyOf(i))
	}
	gone := ts[3]
	rest := append(append([]*Target{}, ts[:3]...), ts[4:]...)
	if err := s.Update(rest); err != nil {
		t.Fatal(err)
	}
	for i := range before {
		after := r.Owner(keyOf(i))
		if before[i] != gone && after != before[i] {
			t.Fatalf("key %d moved from surviving %s to %s", i, before[i].Addr(), after.Addr())
		}
		if after == gone {
			t.Fatalf("key %d still maps to removed target", i)
		}
	}
}

// TestRingBoundedLoadHoldsUnderSkewedKeys drives a ring where half of all requests
// carry the same key and 30% more come from five others. After every placement no
// target may hold more than ceil((1+eps) * mean) in flight, the bound of Mirrokni et
// al., computed here independently of the implementation.
func TestRingBoundedLoadHoldsUnderSkewedKeys(t *testing.T) {
	for _, eps := range []float64{0.25, 0.5, 1} {
		t.Run(fmt.Sprint(eps), func(t *testing.T) {
			const n = 8
			s, ts := newSet(t, SetConfig{}, equalWeights(n)...)
			r := newRing(t, s, RingConfig{LoadFactor: eps})
			rnd := NewRand(77)
			var live []*Target
			hotSpilled := 0
			hotHome := r.Owner(keyOf(0))
			for step := 0; step < 20000; step++ {
				var k uint64
				switch x := rnd.Intn(100); {
				case x < 50:
					k = keyOf(0)
				case x < 80:
					k = keyOf(1 + x%5)
				default:
					k = rnd.Uint64()
				}
				tg := r.Pick(0, k, Exclude{})
				if tg == nil {
					t.Fatal("nil pick")
				}
				if k == keyOf(0) && tg != hotHome {
					hotSpilled++
				}
				tg.Acquire()
				live = append(live, tg)
				total := int64(0)
				for _, x := range ts {
					total += x.Inflight()
				}
				bound := int64(math.Ceil((1 + eps) * float64(total) / n))
				if tg.Inflight() > bound {
					t.Fatalf("step %d: %s holds %d > bound %d (total %d)", step, tg.Addr(), tg.Inflight(), bound, total)
				}
				// Random completions keep about 200 in flight.
				for len(live) > 200 {
					i := rnd.Intn(len(live))
					live[i].Release()
					live[i] = live[len(live)-1]
					live = live[:len(live)-1]
				}
			}
			if hotSpilled == 0 {
				t.Fatal("the hot key never spilled past its home target: the bound was not exercised")
			}
			if s.Inflight() != int64(len(live)) {
				t.Fatalf("set total %d, live %d", s.Inflight(), len(live))
			}
		})
	}
}

func TestRingWithoutLoadFactorIgnoresLoad(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, equalWeights(4)...)
	r := newRing(t, s, RingConfig{})
	k := keyOf(1)
	home := r.Pick(0, k, Exclude{})
	for i := 0; i < 1000; i++ {
		home.Acquire()
	}
	if got := r.Pick(0, k, Exclude{}); got != home {
		t.Fatalf("unbounded ring moved a key off its home under load")
	}
}

func TestRingWalksPastIneligibleAndExcluded(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, equalWeights(4)...)
	r := newRing(t, s, RingConfig{LoadFactor: 0.25})
	k := keyOf(5)
	home := r.Pick(0, k, Exclude{})
	var ex Exclude
	ex.Add(home)
	second := r.Pick(0, k, ex)
	if second == nil || second == home {
		t.Fatalf("excluded home: got %v", second)
	}
	home.SetHealthy(false)
	if got := r.Pick(0, k, Exclude{}); got != second {
		t.Fatalf("unhealthy home: got %s, want the same successor %s", got.Addr(), second.Addr())
	}
	home.SetHealthy(true)
	if got := r.Pick(0, k, Exclude{}); got != home {
		t.Fatalf("healthy again: got %s, want home %s", got.Addr(), home.Addr())
	}
}

func TestRingRejectsBadConfig(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1)
	for _, cfg := range []RingConfig{{VNodes: -1}, {LoadFactor: -0.1}, {LoadFactor: math.NaN()}, {VNodes: MaxRingPoints + 1}} {
		if _, err := NewRing(s, cfg); err == nil {
			t.Fatalf("%+v accepted", cfg)
		}
	}
}

func TestRingTooLargeUpdateLeavesOldMembership(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1)
	r := newRing(t, s, RingConfig{VNodes: 1000})
	big, _ := NewTarget("big", MaxWeight)
	if err := s.Update(append(ts[:2:2], big)); err == nil {
		t.Fatal("oversized ring accepted")
	}
	if s.Len() != 2 || r.Owner(1) == big {
		t.Fatal("failed update changed membership")
	}
}

func TestHashKeyIsStableXXHash(t *testing.T) {
	// xxhash64 of the empty input with seed 0, from the reference implementation.
	if got := HashKey(nil); got != 0xef46db3751d8e999 {
		t.Fatalf("HashKey(nil) = %#x", got)
	}
	if HashString("10.0.0.1") != HashKey([]byte("10.0.0.1")) {
		t.Fatal("HashString and HashKey disagree")
	}
	if HashKey([]byte("10.0.0.1")) == HashKey([]byte("10.0.0.2")) {
		t.Fatal("distinct keys collide")
	}
}

func TestRingIndexedSearchMatchesBinarySearch(t *testing.T) {
	for _, n := range []int{1, 3, 17, 100} {
		s, _ := newSet(t, SetConfig{}, equalWeights(n)...)
		r := newRing(t, s, RingConfig{VNodes: 7})
		tbl := r.table.Load()
		rnd := NewRand(uint64(n))
		keys := []uint64{0, 1, math.MaxUint64, tbl.points[0], tbl.points[len(tbl.points)-1], tbl.points[0] - 1, tbl.points[len(tbl.points)-1] + 1}
		for i := 0; i < 20000; i++ {
			keys = append(keys, rnd.Uint64())
		}
		for _, k := range keys {
			if got, want := tbl.search(k), lowerBound(tbl.points, k); got != want {
				t.Fatalf("n=%d key %#x: indexed %d, binary %d", n, k, got, want)
			}
		}
	}
}

// TestRingScalesWeightsByTheirCommonDivisor: only weight ratios matter, so equal weights of
// 100 (what SRV answers give) build the ring of weight 1, and 200:100 that of 2:1.
func TestRingScalesWeightsByTheirCommonDivisor(t *testing.T) {
	points := func(weights ...int) int {
		s, err := NewSet(SetConfig{})
		if err != nil {
			t.Fatal(err)
		}
		var ts []*Target
		for i, w := range weights {
			tg, err := NewTarget(fmt.Sprintf("10.0.0.%d:80", i+1), w)
			if err != nil {
				t.Fatal(err)
			}
			ts = append(ts, tg)
		}
		r, err := NewRing(s, RingConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ts); err != nil {
			t.Fatal(err)
		}
		return len(r.table.Load().points)
	}
	if a, b := points(1, 1, 1), points(100, 100, 100); a != b || a != 3*DefaultVNodes {
		t.Fatalf("weights 1,1,1: %d points; 100,100,100: %d", a, b)
	}
	if a, b := points(2, 1), points(200, 100); a != b || a != 3*DefaultVNodes {
		t.Fatalf("weights 2,1: %d points; 200,100: %d", a, b)
	}
}
