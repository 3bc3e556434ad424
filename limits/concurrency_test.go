package limits

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func mustConcurrency(t testing.TB, cfg ConcurrencyConfig) *Concurrency {
	t.Helper()
	c, err := NewConcurrency(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConcurrencyWithoutQueueAdmitsUpToLimit(t *testing.T) {
	c := mustConcurrency(t, ConcurrencyConfig{Limit: 2})
	for i, want := range []Outcome{Admitted, Admitted, Rejected, Rejected} {
		if got, tk := c.Acquire(t0); got != want || tk != 0 {
			t.Fatalf("acquire %d: %v %d, want %v", i, got, tk, want)
		}
	}
	if tk, err := c.Release(t0); tk != 0 || err != nil {
		t.Fatalf("release: %d %v", tk, err)
	}
	if got, _ := c.Acquire(t0); got != Admitted {
		t.Fatalf("after release: %v", got)
	}
	c.Release(t0)
	c.Release(t0)
	if _, err := c.Release(t0); !errors.Is(err, ErrReleaseWithoutAcquire) {
		t.Fatalf("double release: %v", err)
	}
	if c.InFlight() != 0 {
		t.Fatalf("in flight %d after misuse", c.InFlight())
	}
}

func TestConcurrencyQueueHandsSlotsToOldestWaiterFirst(t *testing.T) {
	c := mustConcurrency(t, ConcurrencyConfig{Limit: 1, QueueSize: 3, QueueTimeout: time.Second})
	if o, _ := c.Acquire(t0); o != Admitted {
		t.Fatal(o)
	}
	var tickets []Ticket
	for i := 0; i < 3; i++ {
		o, tk := c.Acquire(t0 + int64(i))
		if o != Queued || tk == 0 {
			t.Fatalf("waiter %d: %v %d", i, o, tk)
		}
		tickets = append(tickets, tk)
	}
	if o, _ := c.Acquire(t0); o != Rejected {
		t.Fatalf("queue full: %v", o)
	}
	if tk, _ := c.Release(t0 + 10); tk != tickets[0] {
		t.Fatalf("first handover to %d, want %d", tk, tickets[0])
	}
	if !c.Cancel(tickets[1]) {
		t.Fatal("cancel of a waiting ticket failed")
	}
	if c.Cancel(tickets[1]) || c.Cancel(tickets[0]) {
		t.Fatal("cancel succeeded for a cancelled or granted ticket")
	}
	if tk, _ := c.Release(t0 + 20); tk != tickets[2] {
		t.Fatalf("second handover to %d, want %d (the cancelled one skipped)", tk, tickets[2])
	}
	if c.InFlight() != 1 {
		t.Fatalf("in flight %d, want 1 (handovers keep the slot)", c.InFlight())
	}
	if tk, err := c.Release(t0 + 30); tk != 0 || err != nil {
		t.Fatalf("last release: %d %v", tk, err)
	}
	st := c.Stats()
	if st.InFlight != 0 || st.Waiting != 0 || st.Handed != 2 || st.Cancelled != 1 || st.Queued != 3 || st.Rejected != 1 || st.Admitted != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Nodes were recycled: the queue takes three again.
	c.Acquire(t0)
	for i := 0; i < 3; i++ {
		if o, _ := c.Acquire(t0); o != Queued {
			t.Fatalf("recycled node %d: %v", i, o)
		}
	}
}

func TestConcurrencyQueueTimeoutsAreSweptAndNeverHandedSlots(t *testing.T) {
	ms := int64(time.Millisecond)
	c := mustConcurrency(t, ConcurrencyConfig{Limit: 1, QueueSize: 4, QueueTimeout: 100 * time.Millisecond})
	c.Acquire(t0)
	_, a := c.Acquire(t0)         // deadline t0+100ms
	_, b := c.Acquire(t0 + 50*ms) // deadline t0+150ms
	_, d := c.Acquire(t0 + 90*ms) // deadline t0+190ms
	var buf []Ticket
	if buf = c.Sweep(t0+99*ms, buf[:0]); len(buf) != 0 {
		t.Fatalf("swept early: %v", buf)
	}
	if buf = c.Sweep(t0+100*ms, buf[:0]); !slices.Equal(buf, []Ticket{a}) {
		t.Fatalf("swept %v, want [%d]", buf, a)
	}
	// At 160ms b has timed out too: the released slot goes to d.
	if tk, _ := c.Release(t0 + 160*ms); tk != d {
		t.Fatalf("release handed %d, want %d", tk, d)
	}
	if buf = c.Sweep(t0+160*ms, buf[:0]); !slices.Equal(buf, []Ticket{b}) {
		t.Fatalf("swept %v, want [%d]", buf, b)
	}
	if c.Cancel(a) || c.Cancel(b) {
		t.Fatal("cancel succeeded for swept tickets")
	}
	if st := c.Stats(); st.TimedOut != 2 || st.Waiting != 0 || st.InFlight != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConcurrencyCancelOfTimedOutWaiterBeforeSweep(t *testing.T) {
	c := mustConcurrency(t, ConcurrencyConfig{Limit: 1, QueueSize: 1, QueueTimeout: time.Millisecond})
	c.Acquire(t0)
	_, a := c.Acquire(t0)
	c.Release(t0 + int64(time.Second)) // a expired: not handed the slot
	if !c.Cancel(a) {
		t.Fatal("cancel of an expired, unswept ticket failed")
	}
	if got := c.Sweep(t0+int64(time.Second), nil); len(got) != 0 {
		t.Fatalf("cancelled ticket reported: %v", got)
	}
}

func TestConcurrencySetLimitGrantsWaitersAndLoweringDrains(t *testing.T) {
	c := mustConcurrency(t, ConcurrencyConfig{Limit: 1, QueueSize: 8, QueueTimeout: time.Second})
	c.Acquire(t0)
	var waiters []Ticket
	for i := 0; i < 4; i++ {
		_, tk := c.Acquire(t0)
		waiters = append(waiters, tk)
	}
	got := c.SetLimit(3, t0, nil)
	if !slices.Equal(got, waiters[:2]) {
		t.Fatalf("raise granted %v, want %v", got, waiters[:2])
	}
	if c.InFlight() != 3 {
		t.Fatalf("in flight %d", c.InFlight())
	}
	c.SetLimit(1, t0, nil)
	// Three in flight over a limit of one: two releases must not hand over.
	for i := 0; i < 2; i++ {
		if tk, _ := c.Release(t0); tk != 0 {
			t.Fatalf("release %d handed %d while over the lowered limit", i, tk)
		}
	}
	if tk, _ := c.Release(t0); tk != waiters[2] {
		t.Fatalf("at the limit, release handed %d, want %d", tk, waiters[2])
	}
}

func TestConcurrencyUnderContentionNeverExceedsLimitOrLosesWaiters(t *testing.T) {
	const limit = 3
	c := mustConcurrency(t, ConcurrencyConfig{Limit: limit, QueueSize: 64, QueueTimeout: time.Hour})
	var holders atomic.Int64
	var peak atomic.Int64
	var wake sync.Map // Ticket -> chan struct{}
	hold := func() {
		h := holders.Add(1)
		for p := peak.Load(); h > p && !peak.CompareAndSwap(p, h); p = peak.Load() {
		}
		for j := 0; j < 20; j++ {
			runtime.Gosched() // hold the slot long enough for others to queue
		}
		holders.Add(-1)
		tk, err := c.Release(t0)
		if err != nil {
			t.Error(err)
			return
		}
		if tk != 0 {
			// Hand the slot to its owner, who may not have parked yet.
			ch, _ := wake.LoadOrStore(tk, make(chan struct{}, 1))
			ch.(chan struct{}) <- struct{}{}
		}
	}
	var served atomic.Int64
	// Hold every slot until waiters have queued, so the hand-over path runs
	// whatever the scheduler does; these slots are released like any other.
	for i := 0; i < limit; i++ {
		if o, _ := c.Acquire(t0); o != Admitted {
			t.Fatalf("setup acquire %d: %v", i, o)
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				o, tk := c.Acquire(t0)
				switch o {
				case Admitted:
				case Queued:
					ch, _ := wake.LoadOrStore(tk, make(chan struct{}, 1))
					select {
					case <-ch.(chan struct{}):
					case <-time.After(10 * time.Second):
						t.Errorf("waiter %d never woken: %+v", tk, c.Stats())
						return
					}
					wake.Delete(tk)
				case Rejected:
					continue
				}
				served.Add(1)
				hold()
			}
		}()
	}
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().Waiting == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < limit; i++ {
		tk, err := c.Release(t0)
		if err != nil {
			t.Fatal(err)
		}
		if tk != 0 {
			ch, _ := wake.LoadOrStore(tk, make(chan struct{}, 1))
			ch.(chan struct{}) <- struct{}{}
		}
	}
	wg.Wait()
	if peak.Load() > limit {
		t.Fatalf("peak holders %d > limit %d", peak.Load(), limit)
	}
	st := c.Stats()
	if st.InFlight != 0 || st.Waiting != 0 {
		t.Fatalf("leaked: %+v", st)
	}
	if st.Handed == 0 {
		t.Fatalf("the queue was never exercised: %+v", st)
	}
	if uint64(served.Load()) != st.Admitted+st.Handed-limit {
		t.Fatalf("served %d != admitted %d + handed %d", served.Load(), st.Admitted, st.Handed)
	}
}

func TestNewConcurrencyRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]ConcurrencyConfig{
		"zero limit":        {},
		"negative queue":    {Limit: 1, QueueSize: -1},
		"queue w/o timeout": {Limit: 1, QueueSize: 1},
		"huge queue":        {Limit: 1, QueueSize: 1 << 30, QueueTimeout: time.Second},
	} {
		if _, err := NewConcurrency(cfg); !errors.Is(err, ErrConcurrencyConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	c := mustConcurrency(t, ConcurrencyConfig{Limit: 1, QueueSize: 1, QueueTimeout: time.Second})
	for _, tk := range []Ticket{0, 1 << 40, Ticket(1<<32 | 5)} {
		if c.Cancel(tk) {
			t.Errorf("cancel of bogus ticket %d succeeded", tk)
		}
	}
}
