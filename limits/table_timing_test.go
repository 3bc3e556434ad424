package limits

import (
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

const benchKeys = 1 << 20

var (
	benchKeysOnce sync.Once
	benchKeySet   [][]byte
	benchOrder    []uint32 // a random visiting order, so lookups miss cache
)

func keySet() ([][]byte, []uint32) {
	benchKeysOnce.Do(func() {
		benchKeySet = make([][]byte, benchKeys)
		for i := range benchKeySet {
			benchKeySet[i] = []byte("10." + strconv.Itoa(i>>16) + "." + strconv.Itoa(i>>8&255) + "." + strconv.Itoa(i&255) + "|/v1/orders")
		}
		benchOrder = make([]uint32, benchKeys)
		for i := range benchOrder {
			benchOrder[i] = uint32(i)
		}
		rng := rand.New(rand.NewPCG(7, 7))
		rng.Shuffle(len(benchOrder), func(i, j int) { benchOrder[i], benchOrder[j] = benchOrder[j], benchOrder[i] })
	})
	return benchKeySet, benchOrder
}

// Over 1M distinct keys, all resident: the cost of finding a key's state
// among many (hashing, a cache miss or two) plus the decision.

func BenchmarkTableAllow1MKeys(b *testing.B) {
	keys, order := keySet()
	tb := newTestTable(b, benchKeys, 0, mustPolicy("ip", 100, time.Second, 200))
	for _, k := range keys {
		tb.Allow(k, t0, 1)
	}
	var seq atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1 << 18)
		now := t0
		for pb.Next() {
			i++
			now += int64(time.Microsecond)
			tb.Allow(keys[order[i&(benchKeys-1)]], now, 1)
		}
	})
}

func BenchmarkXTimeRateMutexMap1MKeys(b *testing.B) {
	keys, order := keySet()
	var mu sync.Mutex
	m := make(map[string]*rate.Limiter, benchKeys)
	for _, k := range keys {
		m[string(k)] = rate.NewLimiter(100, 200)
	}
	start := time.Unix(1_000_000, 0)
	var seq atomic.Uint32
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := seq.Add(1 << 18)
		now := start
		for pb.Next() {
			i++
			now = now.Add(time.Microsecond)
			k := keys[order[i&(benchKeys-1)]]
			mu.Lock()
			lim := m[string(k)]
			mu.Unlock()
			lim.AllowN(now, 1)
		}
	})
}

func BenchmarkTableAllowHotKeyParallel(b *testing.B) {
	tb := newTestTable(b, 1024, 0, mustPolicy("hot", 1_000_000, time.Second, 1000))
	key := []byte("10.0.0.1")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		now := t0
		for pb.Next() {
			now += int64(time.Microsecond)
			tb.Allow(key, now, 1)
		}
	})
}

// Churn: 4x more keys than room, each seen twice in a row, so most calls
// look up a missing key and replace a victim.
func BenchmarkTableAllowChurn(b *testing.B) {
	keys, order := keySet()
	tb := newTestTable(b, benchKeys/4, 0, mustPolicy("ip", 100, time.Second, 200))
	b.ReportAllocs()
	b.ResetTimer()
	now := t0
	for i := 0; i < b.N; i++ {
		now += int64(time.Microsecond)
		tb.Allow(keys[order[(i/2)&(benchKeys-1)]], now, 1)
	}
}
