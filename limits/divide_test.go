package limits

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestDividerMatchesHardwareDivision(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	ds := []uint64{1, 2, 3, 7, 10, 1000, 333333334, 1 << 32, (1 << 32) + 1, 1<<63 - 1, 1 << 63, math.MaxUint64}
	for i := 0; i < 200; i++ {
		ds = append(ds, rng.Uint64()>>(rng.Uint32()%64)|1, rng.Uint64()>>(rng.Uint32()%64)+1)
	}
	for _, d := range ds {
		v := newDivider(d)
		ns := []uint64{0, 1, d - 1, d, d + 1, 2*d - 1, 2 * d, math.MaxUint64, math.MaxUint64 - 1, math.MaxInt64}
		for j := 0; j < 500; j++ {
			ns = append(ns, rng.Uint64()>>(rng.Uint32()%64))
		}
		for _, n := range ns {
			if got, want := v.div(n), n/d; got != want {
				t.Fatalf("%d / %d = %d, want %d", n, d, got, want)
			}
		}
	}
}

func FuzzDivider(f *testing.F) {
	f.Add(uint64(7), uint64(100))
	f.Add(uint64(math.MaxUint64), uint64(math.MaxUint64))
	f.Fuzz(func(t *testing.T, d, n uint64) {
		if d == 0 {
			return
		}
		if got, want := newDivider(d).div(n), n/d; got != want {
			t.Fatalf("%d / %d = %d, want %d", n, d, got, want)
		}
	})
}
