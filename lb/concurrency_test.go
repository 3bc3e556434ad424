package lb

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestPickDuringMembershipSwaps runs picks on several goroutines (standing in for
// event loops) while the membership is swapped and targets change health. Every
// pick must return a target of some published membership and the in-flight totals
// must come back to zero. Run with -race.
func TestPickDuringMembershipSwaps(t *testing.T) {
	s, ts := newSet(t, SetConfig{PanicThreshold: 30}, equalWeights(12)...)
	rnd := NewRand(5)
	sw, _ := NewSmoothWeighted(s)
	rd, _ := NewRandom(s, rnd)
	lr, _ := NewLeastRequest(s, rnd)
	pe, _ := NewPeakEWMA(s, rnd)
	rg, _ := NewRing(s, RingConfig{LoadFactor: 0.25})
	bals := []Balancer{mustRR(t, s), sw, rd, lr, pe, rg}
	known := map[*Target]bool{}
	for _, x := range ts {
		known[x] = true
	}
	var stop atomic.Bool
	var picks atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			now := int64(0)
			for i := 0; i < 20000 && !stop.Load(); i++ {
				now += 1000
				b := bals[(i+g)%len(bals)]
				x := b.Pick(now, uint64(i*7919), Exclude{})
				if x == nil {
					continue
				}
				if !known[x] {
					errs <- "picked an unknown target"
					return
				}
				x.Acquire()
				x.ObserveLatency(now, time.Duration(i%50)*time.Microsecond)
				x.Release()
				picks.Add(1)
			}
		}(g)
	}
	deadline := time.Now().Add(2 * time.Second)
	for i := 0; i < 300 && time.Now().Before(deadline); i++ {
		lo := i % 4
		if err := s.Update(ts[lo : lo+8]); err != nil {
			t.Fatal(err)
		}
		ts[(i*5)%len(ts)].SetHealthy(i%3 != 0)
		ts[(i*7)%len(ts)].SetDraining(i%5 == 0)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	if picks.Load() == 0 {
		t.Fatal("no picks succeeded")
	}
	if s.Inflight() != 0 {
		t.Fatalf("set inflight %d after all releases", s.Inflight())
	}
	for _, x := range ts {
		if x.Inflight() != 0 {
			t.Fatalf("%s inflight %d", x.Addr(), x.Inflight())
		}
	}
}

// TestBreakerConcurrentProbesNeverExceedLimit: many loops asking a half-open breaker
// at once get at most HalfOpenProbes probes.
func TestBreakerConcurrentProbesNeverExceedLimit(t *testing.T) {
	var transitions atomic.Int32
	b, _ := NewBreaker(BreakerConfig{
		FailureRatio: 0.5, MinRequests: 1, OpenDuration: time.Second, HalfOpenProbes: 3,
		OnTransition: func(Transition) { transitions.Add(1) },
	})
	b.OnResult(0, true, 0)
	now := int64(time.Second)
	var granted atomic.Int32
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				if ok, probe := b.Allow(now); ok {
					if !probe {
						t.Error("half-open granted a non-probe")
					}
					granted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if granted.Load() != 3 {
		t.Fatalf("granted %d probes, want 3", granted.Load())
	}
	if transitions.Load() != 2 { // closed→open, open→half-open, each reported once
		t.Fatalf("%d transitions reported, want 2", transitions.Load())
	}
}
