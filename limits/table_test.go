package limits

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"
)

func newTestTable(t testing.TB, maxKeys, shards int, ps ...*Policy) *Table {
	t.Helper()
	tb, err := NewTable(TableConfig{Policies: ps, MaxKeys: maxKeys, Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// checkShards verifies the index, LRU list and entry array agree.
func checkShards(t *testing.T, tb *Table) {
	t.Helper()
	for si := range tb.shards {
		s := &tb.shards[si]
		s.mu.Lock()
		used := 0
		for pos, v := range s.slots {
			if v == 0 {
				continue
			}
			used++
			e := &s.entries[v-1]
			// Every slot between the key's home and its position is occupied,
			// or lookups would stop early.
			for p := e.hash & s.mask; p != uint64(pos); p = (p + 1) & s.mask {
				if s.slots[p] == 0 {
					t.Fatalf("shard %d: hole at %d before key %q at %d", si, p, e.key, pos)
				}
			}
			if got := s.find(e.hash, e.key); got != v-1 {
				t.Fatalf("shard %d: key %q found at %d, stored at %d", si, e.key, got, v-1)
			}
		}
		if used != len(s.entries) {
			t.Fatalf("shard %d: %d slots used for %d entries", si, used, len(s.entries))
		}
		n := 0
		for seg := range s.lists {
			l := &s.lists[seg]
			prev := int32(-1)
			cnt := 0
			for i := l.head; i >= 0; i = s.entries[i].next {
				if s.entries[i].prev != prev || int(s.entries[i].seg) != seg {
					t.Fatalf("shard %d: broken link or segment at %d", si, i)
				}
				prev = i
				cnt++
				if cnt > len(s.entries) {
					t.Fatalf("shard %d: LRU cycle", si)
				}
			}
			if l.tail != prev || l.n != cnt {
				t.Fatalf("shard %d segment %d: tail %d/%d, n %d/%d", si, seg, l.tail, prev, l.n, cnt)
			}
			n += cnt
		}
		if n != len(s.entries) {
			t.Fatalf("shard %d: LRU holds %d of %d entries", si, n, len(s.entries))
		}
		if s.lists[protected].n > s.protectedCap {
			t.Fatalf("shard %d: protected %d > %d", si, s.lists[protected].n, s.protectedCap)
		}
		s.mu.Unlock()
	}
}

func TestTableKeysAreIndependent(t *testing.T) {
	p := mustPolicy("ip", 1, time.Second, 2)
	tb := newTestTable(t, 1000, 0, p)
	for _, key := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.1|/api"} {
		for i := 0; i < 2; i++ {
			if d := tb.Allow([]byte(key), t0, 1); !d.Allowed || d.Remaining != int64(1-i) {
				t.Fatalf("%s request %d: %+v", key, i, d)
			}
		}
		if d := tb.Allow([]byte(key), t0, 1); d.Allowed || d.RetryAfter != time.Second {
			t.Fatalf("%s third request: %+v", key, d)
		}
	}
	if tb.Len() != 3 {
		t.Fatalf("Len %d", tb.Len())
	}
	checkShards(t, tb)
}

func TestTableAppliesAllWindowsPerKey(t *testing.T) {
	perSec := mustPolicy("s", 5, time.Second, 5)
	daily := mustPolicy("d", 7, 24*time.Hour, 7)
	tb := newTestTable(t, 100, 0, perSec, daily)
	key := []byte("consumer-42")
	admitted := 0
	for s := int64(0); s < 5; s++ {
		for i := 0; i < 10; i++ {
			if tb.Allow(key, t0+s*int64(time.Second), 1).Allowed {
				admitted++
			}
		}
	}
	if admitted != 7 {
		t.Fatalf("admitted %d, want 7 (5 the first second, then the daily quota)", admitted)
	}
}

func TestTableNeverHoldsMoreThanMaxKeys(t *testing.T) {
	p := mustPolicy("ip", 10, time.Second, 10)
	for _, shards := range []int{1, 4, 0} {
		tb := newTestTable(t, 256, shards, p)
		for i := 0; i < 20000; i++ {
			// Every key twice, so later keys outrank the LRU victims and churn.
			k := []byte("k" + strconv.Itoa(i))
			tb.Allow(k, t0, 1)
			tb.Allow(k, t0, 1)
		}
		st := tb.Stats()
		if st.Keys != 256 {
			t.Fatalf("shards=%d: %d keys, want 256", shards, st.Keys)
		}
		if st.Evictions == 0 {
			t.Fatalf("shards=%d: no evictions: %+v", shards, st)
		}
		checkShards(t, tb)
	}
}

func TestTableEvictsLeastRecentlyUsed(t *testing.T) {
	// The sketch and its doorkeeper hash under a per-table random seed, and in a table this
	// small a collision now and then (about 1 table in 150) changes a count by one: a table
	// where the scenario fails is retried with a fresh seed, and only 5 failures in a row
	// (a broken eviction policy, not a collision) fail the test.
	var why string
	for try := 0; try < 5; try++ {
		if why = lruScenario(t); why == "" {
			return
		}
		t.Logf("table %d: %s", try, why)
	}
	t.Fatal(why)
}

// lruScenario runs the eviction scenario on a fresh table and says what went wrong, if
// anything.
func lruScenario(t *testing.T) string {
	p := mustPolicy("ip", 10, time.Second, 10)
	tb := newTestTable(t, 3, 1, p)
	for _, k := range []string{"a", "b", "c"} {
		tb.Allow([]byte(k), t0, 1)
	}
	tb.Allow([]byte("a"), t0, 1) // a is now most recent; b is the LRU
	// d seen once ties the victim's frequency: not admitted, judged fresh.
	if d := tb.Allow([]byte("d"), t0, 1); !d.Allowed || tb.Contains([]byte("d")) {
		return fmt.Sprintf("first sight of d: %+v contains=%v", d, tb.Contains([]byte("d")))
	}
	// Seen twice it outranks b (seen once) and takes b's place.
	tb.Allow([]byte("d"), t0, 1)
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if tb.Contains([]byte(k)) != want {
			return fmt.Sprintf("contains(%s) = %v, want %v", k, !want, want)
		}
	}
	st := tb.Stats()
	if st.Evictions != 1 || st.Untracked != 1 || st.Inserts != 4 {
		return fmt.Sprintf("stats %+v", st)
	}
	checkShards(t, tb)
	return ""
}

func TestTableRandomKeyFloodDoesNotEvictHeavyHitters(t *testing.T) {
	p := mustPolicy("ip", 100, time.Second, 100)
	tb := newTestTable(t, 512, 4, p)
	heavy := make([][]byte, 64)
	for i := range heavy {
		heavy[i] = []byte(fmt.Sprintf("heavy-%d", i))
	}
	// Heavy hitters exhaust their buckets before the flood.
	for _, k := range heavy {
		tb.Allow(k, t0, 100)
		for j := 0; j < 4; j++ {
			tb.Allow(k, t0, 0)
		}
	}
	// Light keys fill the rest of the table.
	for i := 0; i < 448; i++ {
		tb.Allow([]byte(fmt.Sprintf("light-%d", i)), t0, 1)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var key [16]byte
	for i := 0; i < 200000; i++ {
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		if d := tb.Allow(key[:], t0, 1); !d.Allowed {
			t.Fatalf("a fresh flood key was refused: %+v", d)
		}
		if i%500 == 0 { // each heavy hitter keeps coming at 1/500 of the flood rate
			for _, k := range heavy {
				tb.Allow(k, t0, 0)
			}
		}
	}
	for _, k := range heavy {
		if !tb.Contains(k) {
			t.Fatalf("flood evicted heavy hitter %s; stats %+v", k, tb.Stats())
		}
		// And the heavy hitters' state survived: still exhausted.
		if d := tb.Allow(k, t0, 1); d.Allowed {
			t.Fatalf("heavy hitter %s was reset by the flood: %+v; stats %+v", k, d, tb.Stats())
		}
	}
	st := tb.Stats()
	// Probationary flood keys may replace each other once the sketch ages
	// their counts to zero, but the admission filter turns most away.
	if st.Untracked < 150000 {
		t.Fatalf("admission filter let most flood keys in: %+v", st)
	}
	checkShards(t, tb)
}

func TestTableChurnKeepsIndexConsistent(t *testing.T) {
	p := mustPolicy("ip", 10, time.Second, 10)
	tb := newTestTable(t, 64, 1, p)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 50000; i++ {
		// Zipf-like popularity so keys enter, stay and leave.
		k := []byte("key-" + strconv.Itoa(int(rng.ExpFloat64()*40)))
		tb.Allow(k, t0+int64(i)*int64(time.Millisecond), 1)
		if i%5000 == 0 {
			checkShards(t, tb)
		}
	}
	checkShards(t, tb)
	if st := tb.Stats(); st.Evictions == 0 || st.Keys != 64 {
		t.Fatalf("no churn happened: %+v", st)
	}
}

func TestTableRefusesOverlongKeysAndBadConfig(t *testing.T) {
	p := mustPolicy("ip", 10, time.Second, 10)
	tb, err := NewTable(TableConfig{Policies: []*Policy{p}, MaxKeys: 10, MaxKeyLen: 8})
	if err != nil {
		t.Fatal(err)
	}
	if d := tb.Allow([]byte("123456789"), t0, 1); d.Allowed || !errors.Is(d.Err, ErrKeyTooLong) {
		t.Fatalf("long key: %+v", d)
	}
	if d := tb.Allow([]byte("k"), t0, -1); d.Allowed || !errors.Is(d.Err, ErrNegativeCount) {
		t.Fatalf("negative n: %+v", d)
	}
	if tb.Len() != 0 {
		t.Fatalf("refused requests stored keys")
	}
	for name, cfg := range map[string]TableConfig{
		"no policies":      {MaxKeys: 10},
		"zero keys":        {Policies: []*Policy{p}},
		"shards not pow2":  {Policies: []*Policy{p}, MaxKeys: 100, Shards: 3},
		"shards > keys":    {Policies: []*Policy{p}, MaxKeys: 2, Shards: 4},
		"negative key len": {Policies: []*Policy{p}, MaxKeys: 2, MaxKeyLen: -1},
	} {
		if _, err := NewTable(cfg); !errors.Is(err, ErrTableConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestTableHotKeyUnderContentionAdmitsExactlyBurst(t *testing.T) {
	p := mustPolicy("hot", 10, time.Second, 3000)
	q := mustPolicy("day", 100000, 24*time.Hour, 100000)
	tb := newTestTable(t, 4096, 0, p, q)
	var wg sync.WaitGroup
	var mu sync.Mutex
	admitted := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			n := 0
			other := []byte("other-" + strconv.Itoa(g))
			for i := 0; i < 1000; i++ {
				if tb.Allow([]byte("hot"), t0, 1).Allowed {
					n++
				}
				tb.Allow(other, t0, 1)
			}
			mu.Lock()
			admitted += n
			mu.Unlock()
		}(g)
	}
	wg.Wait()
	if admitted != 3000 {
		t.Fatalf("admitted %d, want 3000", admitted)
	}
	if d := tb.Allow([]byte("hot"), t0, 0); d.Remaining != 0 {
		t.Fatalf("remaining %d", d.Remaining)
	}
	checkShards(t, tb)
}

func TestTableShadowPolicyCountsWithoutRefusing(t *testing.T) {
	enforce := mustPolicy("enforce", 100, time.Second, 100)
	trial := mustPolicy("trial", 1, time.Second, 2)
	trial.Shadow = true
	tb := newTestTable(t, 16, 1, enforce, trial)
	shadowed := 0
	for i := 0; i < 10; i++ {
		d := tb.Allow([]byte("k"), t0, 1)
		if !d.Allowed || d.Policy != enforce {
			t.Fatalf("request %d: %+v", i, d)
		}
		if d.Shadowed {
			shadowed++
		}
	}
	if shadowed != 8 || trial.Counts().ShadowRejected != 8 {
		t.Fatalf("shadowed %d, counted %d; want 8", shadowed, trial.Counts().ShadowRejected)
	}
	if got := AppendHeadersMulti(nil, &tb.multi, tb.Allow([]byte("other"), t0, 1)); string(got) !=
		"RateLimit-Policy: \"enforce\";q=100;w=1\r\nRateLimit: \"enforce\";r=99;t=1\r\n" {
		t.Fatalf("headers %q", got)
	}
}

func TestTableForgetResetsAKeyAndKeepsStructure(t *testing.T) {
	p := mustPolicy("ip", 1, time.Hour, 1)
	tb := newTestTable(t, 32, 1, p)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 5000; i++ {
		k := "k" + strconv.Itoa(rng.IntN(48))
		if rng.IntN(3) == 0 {
			before := tb.Contains([]byte(k))
			if got := tb.Forget([]byte(k)); got != before {
				t.Fatalf("Forget(%s) = %v, held before: %v", k, got, before)
			}
			if tb.Contains([]byte(k)) {
				t.Fatalf("%s still held after Forget", k)
			}
		} else {
			tb.Allow([]byte(k), t0, 0)
			tb.Allow([]byte(k), t0, 0)
		}
		if i%500 == 0 {
			checkShards(t, tb)
		}
	}
	checkShards(t, tb)
	tb.Allow([]byte("blocked"), t0, 1)
	tb.Allow([]byte("blocked"), t0, 1)
	if tb.Allow([]byte("blocked"), t0, 1).Allowed {
		t.Fatal("bucket not exhausted")
	}
	if !tb.Forget([]byte("blocked")) {
		t.Fatal("Forget of a held key reported false")
	}
	if !tb.Allow([]byte("blocked"), t0, 1).Allowed {
		t.Fatal("forgotten key still limited")
	}
	if tb.Forget([]byte("never-seen")) {
		t.Fatal("Forget of an unknown key reported true")
	}
}

func TestTableRepeatOffenderIsTrackedWithinAFewRequests(t *testing.T) {
	// A full table of regular clients, each seen three times. A new client
	// hammering the API is judged as fresh only until its frequency beats
	// the probation victim's; from then on its bucket limits it.
	p := mustPolicy("ip", 1, time.Minute, 5)
	tb := newTestTable(t, 1024, 0, p)
	for r := 0; r < 3; r++ {
		for i := 0; i < 1024; i++ {
			tb.Allow([]byte("client-"+strconv.Itoa(i)), t0, 0)
		}
	}
	admitted := 0
	for i := 0; i < 100; i++ {
		if tb.Allow([]byte("offender"), t0, 1).Allowed {
			admitted++
		}
	}
	t.Logf("offender admitted %d of 100 (burst 5)", admitted)
	// The sketch's estimates carry the collisions of its seeded hash, so how many requests
	// the offender needs to beat the victim varies from table to table: 0 to 5 in 3,000 runs
	// (admitted 5 to 10, 10 in 3% of them). 15 leaves room for rarer collisions and still
	// fails a table that never tracks the offender (100 admitted).
	if admitted > 5+15 {
		t.Fatalf("offender admitted %d times with burst 5; stats %+v", admitted, tb.Stats())
	}
	if !tb.Contains([]byte("offender")) {
		t.Fatal("offender never tracked")
	}
}
