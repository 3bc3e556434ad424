package lb

import "testing"

func TestSmoothWeightedMatchesNginxSequence(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		want    string
	}{
		{"nginx 5,1,1", []int{5, 1, 1}, "aabacaa" + "aabacaa"},
		{"equal weights are round robin", []int{1, 1, 1}, "abcabc"},
		{"gcd reduced 4,2", []int{4, 2}, "aba" + "aba"},
		{"weights 3,2", []int{3, 2}, "ababa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newSet(t, SetConfig{}, tc.weights...)
			b, err := NewSmoothWeighted(s)
			if err != nil {
				t.Fatal(err)
			}
			if got := pickSequence(t, b, len(tc.want), 0); got != tc.want {
				t.Fatalf("sequence %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSmoothWeightedRespectsWeightsExactlyPerPeriod(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 7, 3, 11, 1)
	b, err := NewSmoothWeighted(s)
	if err != nil {
		t.Fatal(err)
	}
	got := countPicks(t, b, 22*100, 0)
	want := map[string]int{"a": 700, "b": 300, "c": 1100, "d": 100}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("counts %v, want %v", got, want)
		}
	}
}

func TestSmoothWeightedKeepsRatioOfSurvivors(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 5, 1, 1)
	b, err := NewSmoothWeighted(s)
	if err != nil {
		t.Fatal(err)
	}
	ts[0].SetDraining(true)
	got := countPicks(t, b, 7000, 0)
	if got["a"] != 0 || !within(float64(got["b"]), 3500, 0.05) || !within(float64(got["c"]), 3500, 0.05) {
		t.Fatalf("counts %v, want a=0, b≈c≈3500", got)
	}
}

func TestSmoothWeightedRebuildsOnUpdate(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 5, 1, 1)
	b, err := NewSmoothWeighted(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ts[1:]); err != nil {
		t.Fatal(err)
	}
	got := countPicks(t, b, 100, 0)
	if got["a"] != 0 || got["b"] != 50 || got["c"] != 50 {
		t.Fatalf("after removing a: %v", got)
	}
}

func TestSmoothWeightedScalesHugePeriods(t *testing.T) {
	// 20 targets with coprime large weights: the exact period is far above
	// MaxSchedule, so weights are scaled; shares must still hold within 1%.
	weights := make([]int, 20)
	var total int
	for i := range weights {
		weights[i] = 9000 + 37*i + 1
		total += weights[i]
	}
	s, ts := newSet(t, SetConfig{}, weights...)
	b, err := NewSmoothWeighted(s)
	if err != nil {
		t.Fatal(err)
	}
	if l := len(b.table.Load().seq); l > MaxSchedule {
		t.Fatalf("schedule %d entries > %d", l, MaxSchedule)
	}
	n := 200000
	got := countPicks(t, b, n, 0)
	for i, tg := range ts {
		want := float64(n) * float64(weights[i]) / float64(total)
		if !within(float64(got[tg.Addr()]), want, 0.01) {
			t.Fatalf("%s: %d picks, want %.0f±1%%", tg.Addr(), got[tg.Addr()], want)
		}
	}
}
