package lb

import "testing"

func TestLeastRequestNeverPicksTheBusiestOfThree(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1, 1)
	for i := 0; i < 10; i++ {
		ts[1].Acquire()
	}
	b, _ := NewLeastRequest(s, NewRand(3))
	got := countPicks(t, b, 3000, 0)
	// Two distinct candidates out of three always include an idle one.
	if got["b"] != 0 {
		t.Fatalf("busy target picked %d times: %v", got["b"], got)
	}
	if !within(float64(got["a"]), 1500, 0.1) {
		t.Fatalf("idle targets unbalanced: %v", got)
	}
}

func TestLeastRequestBalancesLiveLoad(t *testing.T) {
	// Keep every pick in flight and release the oldest in FIFO order: the spread of
	// in-flight counts must stay small (P2C's max load is log log n off the mean).
	s, ts := newSet(t, SetConfig{}, equalWeights(10)...)
	b, _ := NewLeastRequest(s, NewRand(9))
	var q []*Target
	for i := 0; i < 20000; i++ {
		x := b.Pick(0, 0, Exclude{})
		x.Acquire()
		q = append(q, x)
		if len(q) > 100 {
			q[0].Release()
			q = q[1:]
		}
	}
	for _, x := range ts {
		if n := x.Inflight(); n < 6 || n > 14 {
			t.Fatalf("%s holds %d of 100 in flight over 10 targets", x.Addr(), n)
		}
	}
}

func TestLeastRequestWeighsInflightByWeight(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 4, 1)
	for i := 0; i < 2; i++ {
		ts[0].Acquire() // 3/4 per weight vs 1/1
	}
	b, _ := NewLeastRequest(s, NewRand(5))
	if got := b.Pick(0, 0, Exclude{}); got != ts[0] {
		t.Fatalf("picked %s, want a ((2+1)/4 < (0+1)/1)", got.Addr())
	}
}

func TestLeastRequestSingleCandidate(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 1, 1)
	b, _ := NewLeastRequest(s, NewRand(5))
	var ex Exclude
	ex.Add(ts[0])
	for i := 0; i < 20; i++ {
		if got := b.Pick(0, 0, ex); got != ts[1] {
			t.Fatalf("got %v, want b", got)
		}
	}
	ex.Add(ts[1])
	if got := b.Pick(0, 0, ex); got != nil {
		t.Fatalf("got %v, want nil", got.Addr())
	}
}

func TestLeastRequestLiveLoadFollowsWeights(t *testing.T) {
	s, ts := newSet(t, SetConfig{}, 3, 1, 3, 1)
	b, _ := NewLeastRequest(s, NewRand(4))
	var q []*Target
	for i := 0; i < 20000; i++ {
		x := b.Pick(0, 0, Exclude{})
		x.Acquire()
		q = append(q, x)
		if len(q) > 160 {
			q[0].Release()
			q = q[1:]
		}
	}
	// 160 in flight over weights 3:1:3:1 → 60, 20, 60, 20.
	for i, want := range []float64{60, 20, 60, 20} {
		if got := float64(ts[i].Inflight()); !within(got, want, 0.25) {
			t.Fatalf("%s holds %v in flight, want %v±25%%", ts[i].Addr(), got, want)
		}
	}
}
