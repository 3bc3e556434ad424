package lb

import "testing"

func TestRandomFollowsWeights(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1, 2, 7)
	b, err := NewRandom(s, NewRand(42))
	if err != nil {
		t.Fatal(err)
	}
	n := 100000
	got := countPicks(t, b, n, 0)
	for addr, w := range map[string]float64{"a": 0.1, "b": 0.2, "c": 0.7} {
		if !within(float64(got[addr]), w*float64(n), 0.03) {
			t.Fatalf("%s: %d picks, want %.0f±3%% (all %v)", addr, got[addr], w*float64(n), got)
		}
	}
}

func TestRandomIsReproducibleForASeed(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1, 1, 1, 1)
	b1, _ := NewRandom(s, NewRand(7))
	b2, _ := NewRandom(s, NewRand(7))
	if x, y := pickSequence(t, b1, 50, 0), pickSequence(t, b2, 50, 0); x != y {
		t.Fatalf("same seed, different sequences %q %q", x, y)
	}
}

func TestRandomSkipsEjectedAndFallsBack(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	for _, x := range ts[:9] {
		x.SetHealthy(false)
	}
	b, _ := NewRandom(s, NewRand(1))
	got := countPicks(t, b, 1000, 0)
	if got[ts[9].Addr()] != 1000 {
		t.Fatalf("only %s is healthy, got %v", ts[9].Addr(), got)
	}
}

func TestRandomRejectsNilRand(t *testing.T) {
	s, _ := newSet(t, SetConfig{}, 1)
	if _, err := NewRandom(s, nil); err == nil {
		t.Fatal("nil Rand accepted")
	}
}
