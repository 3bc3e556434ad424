package lb

import (
	"math"
	"sync"
	"testing"
)

func TestWindowSlidesBucketByBucket(t *testing.T) {
	w := newWindow(1000, 10) // 10 buckets of 100
	for at := int64(0); at < 1000; at += 100 {
		w.add(at, 1)
	}
	if got := w.sum(999); got != 10 {
		t.Fatalf("sum %d, want 10", got)
	}
	if got := w.sum(1000); got != 9 {
		t.Fatalf("one bucket later sum %d, want 9", got)
	}
	if got := w.sum(1850); got != 1 {
		t.Fatalf("sum %d, want 1", got)
	}
	if got := w.sum(5000); got != 0 {
		t.Fatalf("long after sum %d, want 0", got)
	}
	w.add(5000, 3) // reuses a stale slot
	if got := w.sum(5000); got != 3 {
		t.Fatalf("after reuse sum %d, want 3", got)
	}
}

func TestWindowLaggingClockDoesNotWipeNewerCounts(t *testing.T) {
	w := newWindow(1000, 10)
	w.add(1050, 5)
	w.add(50, 1) // same slot, older epoch: counted in the newer bucket
	if got := w.sum(1050); got != 6 {
		t.Fatalf("sum %d, want 6", got)
	}
}

func TestWindowNegativeTimesAndSaturation(t *testing.T) {
	w := newWindow(1000, 10)
	w.add(-150, 2)
	w.add(-50, 1)
	if got := w.sum(-1); got != 3 {
		t.Fatalf("sum %d, want 3", got)
	}
	w.add(0, math.MaxUint32)
	w.add(0, 10)
	if got := w.sum(0); got != math.MaxUint32+3 {
		t.Fatalf("saturated sum %d", got)
	}
}

func TestWindowCountsExactlyUnderConcurrency(t *testing.T) {
	w := newWindow(1000, 10)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				w.add(int64(i%10)*100, 1)
			}
		}()
	}
	wg.Wait()
	if got := w.sum(999); got != 40000 {
		t.Fatalf("sum %d, want 40000", got)
	}
}
