package limits

import (
	"encoding/binary"
	"testing"
	"time"
)

// FuzzBucketMatchesLeakyBucketModel checks the CAS-word GCRA against the
// textbook leaky bucket (ITU-T I.371's continuous-state algorithm, the other
// formulation of the same rule) on arbitrary policies and request sequences
// with non-decreasing time.
func FuzzBucketMatchesLeakyBucketModel(f *testing.F) {
	f.Add(uint16(100), uint32(1000), uint16(200), []byte{0, 1, 0, 1, 10, 5, 255, 200})
	f.Add(uint16(3), uint32(1000), uint16(1), []byte{1, 1, 1, 1, 1, 1})
	f.Add(uint16(7), uint32(60000), uint16(0), []byte{0, 7, 0, 1, 100, 3})
	f.Fuzz(func(t *testing.T, rate uint16, perMillis uint32, burst uint16, ops []byte) {
		p := &Policy{Name: "f", Rate: int64(rate), Per: time.Duration(perMillis) * time.Millisecond, Burst: int64(burst)}
		if p.Validate() != nil {
			return
		}
		T, capacity := int64(p.Interval()), p.EffectiveBurst()*int64(p.Interval())
		var b Bucket
		now := t0
		var debt int64 // model: units of time owed, drains at 1ns per ns
		last := now
		for len(ops) >= 2 {
			dt, n := int64(ops[0]), int64(ops[1]%16)
			ops = ops[2:]
			now += dt * T / 4
			debt = max(0, debt-(now-last))
			last = now
			d := b.Allow(p, now, n)
			switch {
			case n > p.EffectiveBurst():
				if d.Allowed || d.Err != ErrExceedsBurst {
					t.Fatalf("n=%d > burst admitted: %+v", n, d)
				}
			case debt+n*T <= capacity:
				debt += n * T
				if !d.Allowed || d.Remaining != (capacity-debt)/T || d.Reset != time.Duration(debt) {
					t.Fatalf("model admits n=%d with debt %d: got %+v", n, debt, d)
				}
			default:
				if d.Allowed || d.RetryAfter != time.Duration(debt+n*T-capacity) || d.Remaining != (capacity-debt)/T {
					t.Fatalf("model refuses n=%d with debt %d: got %+v", n, debt, d)
				}
			}
		}
	})
}

// FuzzTableKeepsItsStructure drives a small table with arbitrary keys and
// checks the index, lists and bounds after every step.
func FuzzTableKeepsItsStructure(f *testing.F) {
	f.Add([]byte("abcabcabddddeeeeffffgggg"), uint8(1))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 1, 1, 2, 2, 3, 3}, uint8(2))
	f.Fuzz(func(t *testing.T, ops []byte, shardBits uint8) {
		shards := 1 << (shardBits % 3)
		tb, err := NewTable(TableConfig{Policies: []*Policy{mustPolicy("f", 10, time.Second, 3)}, MaxKeys: 8, Shards: shards, MaxKeyLen: 4})
		if err != nil {
			t.Fatal(err)
		}
		var key [4]byte
		for i, op := range ops {
			// Key length 1..4 from the op, so lookups compare lengths too.
			binary.LittleEndian.PutUint32(key[:], uint32(op%37)*0x01010101)
			k := key[:1+int(op>>6)]
			if op%11 == 0 {
				tb.Forget(k)
				continue
			}
			d := tb.Allow(k, t0+int64(i)*int64(time.Millisecond), int64(op%3))
			if d.Err != nil {
				t.Fatalf("unexpected error %v", d.Err)
			}
			if tb.Len() > 8 {
				t.Fatalf("%d keys", tb.Len())
			}
		}
		checkShards(t, tb)
	})
}

// FuzzMultiMatchesAllOrNothingModel checks MultiBucket against per-window
// leaky buckets combined by the documented rule: charge every enforcing
// window only if all enforcing windows conform, and a shadow window only if
// every window conforms.
func FuzzMultiMatchesAllOrNothingModel(f *testing.F) {
	f.Add(uint8(3), uint8(10), uint8(5), uint8(2), []byte{0, 1, 0, 1, 0, 1, 50, 2, 0, 3})
	f.Add(uint8(255), uint8(1), uint8(3), uint8(1), []byte{1, 1, 1, 1, 1, 1, 1, 1})
	f.Fuzz(func(t *testing.T, shadowMask, r0, r1, r2 uint8, ops []byte) {
		rates := []int64{int64(r0%50) + 1, int64(r1%50) + 1, int64(r2%50) + 1}
		pers := []time.Duration{time.Second, time.Minute, time.Hour}
		var ps []*Policy
		for i, r := range rates {
			p := mustPolicy("w"+string(rune('0'+i)), r, pers[i], r/2+1)
			p.Shadow = shadowMask&(1<<i) != 0
			ps = append(ps, p)
		}
		m := mustMulti(t, ps...)
		var b MultiBucket
		debt := make([]int64, len(ps))
		now, last := t0, t0
		for len(ops) >= 2 {
			now += int64(ops[0]) * int64(10*time.Millisecond)
			n := int64(ops[1] % 4)
			ops = ops[2:]
			enforcedOK, allOK := true, true
			for i, p := range ps {
				debt[i] = max(0, debt[i]-(now-last))
				T, capacity := p.interval, p.capacity
				ok := n <= p.burst && debt[i]+n*T <= capacity
				allOK = allOK && ok
				if !p.Shadow {
					enforcedOK = enforcedOK && ok
				}
			}
			last = now
			d := b.Allow(m, now, n)
			if d.Allowed != enforcedOK {
				t.Fatalf("allowed=%v, model %v", d.Allowed, enforcedOK)
			}
			if enforcedOK && d.Shadowed == allOK {
				t.Fatalf("shadowed=%v with all windows conforming=%v", d.Shadowed, allOK)
			}
			for i, p := range ps {
				if enforcedOK && (!p.Shadow || allOK) {
					debt[i] += n * p.interval
				}
				_, _, got := p.step(b.tat[i].Load(), now, 0)
				if want := (p.capacity - debt[i]) / p.interval; got.Remaining != want {
					t.Fatalf("window %d remaining %d, model %d", i, got.Remaining, want)
				}
			}
		}
	})
}
