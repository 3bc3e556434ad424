package lb

import (
	"testing"
	"time"
)

// FuzzBalancerInvariants drives a Set and every policy with an arbitrary sequence of
// operations (membership changes, health, drain, ejection, load, exclusions, picks)
// and checks what must always hold: Pick never panics, returns only current members
// that are not excluded and not draining, returns a non-eligible target only in
// panic mode, returns nil only when no member qualifies, and the bounded ring never
// places a request above its capacity when an under-capacity candidate exists.
func FuzzBalancerInvariants(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{0x10, 0x21, 0x32, 0x43, 0x54, 0x65, 0x76, 0x87, 0x98, 0xa9, 0xba})
	f.Add([]byte{7, 7, 7, 7, 7, 1, 1, 1, 2, 2, 2, 3, 3, 5, 5, 5, 5, 5, 5})
	f.Fuzz(runOps)
}

func runOps(t *testing.T, ops []byte) {
	{
		if len(ops) > 4096 {
			ops = ops[:4096]
		}
		pool := newTargets(t, 1, 2, 3, 1, 5, 1, 1, 2)
		s, err := NewSet(SetConfig{PanicThreshold: 40})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(pool[:5]); err != nil {
			t.Fatal(err)
		}
		rnd := NewRand(uint64(len(ops)))
		sw, _ := NewSmoothWeighted(s)
		rd, _ := NewRandom(s, rnd)
		lr, _ := NewLeastRequest(s, rnd)
		pe, _ := NewPeakEWMA(s, rnd)
		rg, _ := NewRing(s, RingConfig{VNodes: 8, LoadFactor: 0.25})
		bals := []Balancer{mustRR(t, s), sw, rd, lr, pe, rg}
		var ex Exclude
		var held []*Target
		now := int64(0)
		for i, op := range ops {
			now += int64(op) * 1000
			x := pool[int(op>>3)%len(pool)]
			switch op & 7 {
			case 0: // membership: a contiguous window of the pool
				lo := int(op>>3) % 4
				if err := s.Update(pool[lo : lo+4]); err != nil {
					t.Fatal(err)
				}
			case 1:
				x.SetHealthy(op&0x80 == 0)
			case 2:
				x.SetDraining(op&0x40 != 0)
			case 3:
				ex.Add(x)
				if op&0x80 != 0 {
					ex.Reset()
				}
			case 4:
				x.Acquire()
				held = append(held, x)
			case 5:
				if len(held) > 0 {
					held[len(held)-1].Release()
					held = held[:len(held)-1]
				}
			case 6:
				x.ObserveLatency(now, time.Duration(op)*time.Millisecond)
			case 7:
				b := bals[i%len(bals)]
				key := uint64(op) * 0x9e3779b97f4a7c15
				got := b.Pick(now, key, ex)
				checkPick(t, s, b, got, now, ex)
			}
		}
	}
}

func checkPick(t *testing.T, s *Set, b Balancer, got *Target, now int64, ex Exclude) {
	t.Helper()
	m := s.members.Load()
	p := s.panicking(m)
	any := false
	for _, x := range m.targets {
		if x.eligible(now, p) && !ex.Has(x) {
			any = true
		}
	}
	if got == nil {
		if any {
			t.Fatalf("%T returned nil with an eligible member", b)
		}
		return
	}
	member := false
	for _, x := range m.targets {
		member = member || x == got
	}
	switch {
	case !member:
		t.Fatalf("%T picked non-member %s", b, got.Addr())
	case ex.Has(got):
		t.Fatalf("%T picked excluded %s", b, got.Addr())
	case got.Draining():
		t.Fatalf("%T picked draining %s", b, got.Addr())
	case !got.eligible(now, p):
		t.Fatalf("%T picked ineligible %s (panic %v)", b, got.Addr(), p)
	}
	if r, ok := b.(*Ring); ok {
		load, w := r.loadShare(p)
		if got.Inflight() >= r.capacityOf(got, load, w) {
			for _, x := range m.targets {
				if x.eligible(now, p) && !ex.Has(x) && x.Inflight() < r.capacityOf(x, load, w) {
					t.Fatalf("ring put a request on full %s while %s had room", got.Addr(), x.Addr())
				}
			}
		}
	}
}
