package limits

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math/bits"
	"sync"
)

// TableConfig configures a Table.
type TableConfig struct {
	// Policies are the windows every key gets (1..MaxWindows, validated).
	Policies []*Policy
	// MaxKeys bounds the keys held across all shards; each shard holds
	// MaxKeys/Shards, so with uneven hashing a table can turn keys away
	// slightly before MaxKeys in total. Entries, index and sketch are
	// allocated up front; an entry's key buffer on its first use, then
	// reused. About 135 bytes per key in all for keys up to 32 bytes
	// (measured at 1M keys).
	MaxKeys int
	// Shards is a power of two, at most MaxKeys. Zero picks up to 64 shards
	// with at least 64 keys each.
	Shards int
	// MaxKeyLen bounds a key's length in bytes; zero means 256.
	MaxKeyLen int
}

// Table holds per-key rate-limit state for a Multi, for keys built by the
// caller (client IP, API key, route, any concatenation of bytes).
//
// It is split into shards chosen by a seeded hash of the key (hash/maphash:
// the per-table random seed stops clients from choosing keys that collide).
// Each shard is an open-addressing (linear probing) index over a fixed array
// of entries with the key bytes stored for comparison, a segmented LRU and a
// TinyLFU frequency sketch, all under the shard's mutex; the GCRA step runs
// under the same lock, so a key's windows are charged all or nothing.
//
// Bounded memory: a shard allocates its entries, index and sketch up front
// and never grows them; the total is MaxKeys keys of at most MaxKeyLen
// bytes. When a new key arrives at a full shard, the eviction candidate is
// the least recently used key of the probation segment (keys not hit since
// they were stored, or demoted from protected), or of the protected segment
// if probation is empty. TinyLFU decides: the new key
// replaces the candidate only if the sketch estimates it was seen more
// often. So a flood of one-off keys never displaces repeat visitors: one-offs
// lose the frequency comparison, and the rare one admitted on a hash
// collision lands in probation, where only probationary keys are victims.
//
// A key that is not admitted is judged as a fresh key, which is what it is to
// the table (a first request conforms unless n exceeds the burst), and is
// counted in TableStats.Untracked. Its sketch count rises with each request,
// so a key that keeps coming back is stored once it outnumbers the victim.
// The sketch ages (halves) every 10*keys-per-shard requests, so a key needs
// to be seen at least twice in that period.
//
// Allow is safe from any goroutine and allocates nothing for a key already
// in the table, and nothing for a new key once an evicted entry's key
// buffer is large enough to be reused.
type Table struct {
	multi      Multi
	k          int
	seed       maphash.Seed
	shards     []shard
	shardShift uint
	maxKeyLen  int
}

type shard struct {
	mu      sync.Mutex
	slots   []int32 // entry index + 1; 0 is empty
	mask    uint64
	entries []entry // len grows to cap, never beyond
	tick    uint32  // counts list moves, for lazy promotion
	// Segmented LRU (W-TinyLFU's main space): new keys enter probation; a
	// hit promotes a key to protected, which holds at most protectedCap keys
	// and demotes its LRU key back to probation when full. Victims come from
	// probation first, so a key admitted on a lucky sketch estimate can only
	// displace other probationary keys, never a repeat visitor.
	lists        [2]lru
	protectedCap int
	sketch       sketch

	hits, inserts, evictions, untracked uint64

	_ [64]byte // keep neighbouring shards' locks off one cache line
}

// entry keeps everything one decision touches together: the hash checked
// before the key bytes, the window TATs, and the list links.
type entry struct {
	hash       uint64
	key        []byte
	tat        [MaxWindows]int64
	prev, next int32
	moved      uint32 // shard tick when last moved to a list's front
	seg        uint8  // probation or protected
}

const (
	probation = 0
	protected = 1
)

// lru is an intrusive doubly linked list of entry indices, most recent at
// head, -1 for none.
type lru struct {
	head, tail int32
	n          int
}

// TableStats are counters summed over shards.
type TableStats struct {
	Keys      int    // keys held now
	Hits      uint64 // lookups of a held key
	Inserts   uint64 // new keys stored (into free room or over a victim)
	Evictions uint64 // LRU victims replaced by a more frequent key
	Untracked uint64 // new keys refused admission and judged as fresh
}

// NewTable builds a table; every allocation it will ever make for state
// happens here.
func NewTable(cfg TableConfig) (*Table, error) {
	m, err := NewMulti(cfg.Policies...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTableConfig, err)
	}
	if cfg.MaxKeys <= 0 {
		return nil, fmt.Errorf("%w: MaxKeys %d must be positive", ErrTableConfig, cfg.MaxKeys)
	}
	if cfg.MaxKeyLen < 0 {
		return nil, fmt.Errorf("%w: MaxKeyLen %d must not be negative", ErrTableConfig, cfg.MaxKeyLen)
	}
	n := cfg.Shards
	if n == 0 {
		n = 64
		for n > 1 && cfg.MaxKeys/n < 64 {
			n /= 2
		}
	}
	if n < 1 || n > 1024 || n&(n-1) != 0 || n > cfg.MaxKeys {
		return nil, fmt.Errorf("%w: Shards %d must be a power of two in 1..min(1024, MaxKeys)", ErrTableConfig, cfg.Shards)
	}
	t := &Table{
		multi:     *m,
		k:         m.n,
		seed:      maphash.MakeSeed(),
		shards:    make([]shard, n),
		maxKeyLen: cfg.MaxKeyLen,
	}
	if t.maxKeyLen == 0 {
		t.maxKeyLen = 256
	}
	t.shardShift = uint(64 - bits.TrailingZeros(uint(n)))
	for i := range t.shards {
		c := cfg.MaxKeys / n
		if i < cfg.MaxKeys%n {
			c++
		}
		s := &t.shards[i]
		slots := 4
		for slots < 2*c {
			slots <<= 1
		}
		s.slots = make([]int32, slots)
		s.mask = uint64(slots - 1)
		s.entries = make([]entry, 0, c)
		s.lists[probation] = lru{head: -1, tail: -1}
		s.lists[protected] = lru{head: -1, tail: -1}
		s.protectedCap = c * 8 / 10
		s.sketch = newSketch(c)
	}
	return t, nil
}

func (t *Table) shardOf(h uint64) *shard {
	if t.shardShift == 64 {
		return &t.shards[0]
	}
	return &t.shards[h>>t.shardShift]
}

// Allow asks for n units for key at now on every window. The table does not
// retain key.
func (t *Table) Allow(key []byte, now, n int64) Decision {
	if n < 0 {
		return invalid(t.multi.policies[0], ErrNegativeCount)
	}
	if len(key) > t.maxKeyLen {
		return invalid(t.multi.policies[0], ErrKeyTooLong)
	}
	h := maphash.Bytes(t.seed, key)
	s := t.shardOf(h)
	var tats, next [MaxWindows]int64

	s.mu.Lock()
	s.sketch.add(h)
	i := s.find(h, key)
	if i < 0 {
		i = s.admit(h, key)
	} else {
		s.hits++
		s.touch(i)
	}
	if i < 0 {
		// Not admitted: judged as a fresh key, nothing stored.
		s.untracked++
		s.mu.Unlock()
		v := t.multi.decide(&tats, &next, now, n)
		return t.multi.settle(&v, &tats, now, n)
	}
	e := &s.entries[i]
	tats = e.tat
	v := t.multi.decide(&tats, &next, now, n)
	if v.changed {
		e.tat = next
	}
	s.mu.Unlock()
	return t.multi.settle(&v, &tats, now, n)
}

// find returns the entry index holding key, or -1.
func (s *shard) find(h uint64, key []byte) int32 {
	for pos := h & s.mask; ; pos = (pos + 1) & s.mask {
		v := s.slots[pos]
		if v == 0 {
			return -1
		}
		e := &s.entries[v-1]
		if e.hash == h && bytes.Equal(e.key, key) {
			return v - 1
		}
	}
}

// admit stores a key that find did not find, into free room or over the LRU
// victim if the sketch rates the key as more frequent. It returns the entry
// index with zeroed (full) windows, or -1 if the key was not admitted.
func (s *shard) admit(h uint64, key []byte) int32 {
	var i int32
	if len(s.entries) < cap(s.entries) {
		i = int32(len(s.entries))
		s.entries = s.entries[:i+1]
	} else {
		victim := s.lists[probation].tail
		if victim < 0 {
			victim = s.lists[protected].tail
		}
		if s.sketch.estimate(h) <= s.sketch.estimate(s.entries[victim].hash) {
			return -1
		}
		s.removeSlotOf(victim)
		s.unlink(victim)
		s.evictions++
		i = victim
	}
	e := &s.entries[i]
	e.hash = h
	if cap(e.key) < len(key) {
		// Round up so the buffer is likely to fit the next key that
		// reuses this entry: key lengths vary by a few bytes (IPv4 text).
		e.key = make([]byte, 0, (len(key)+31)&^31)
	}
	e.key = append(e.key[:0], key...)
	e.tat = [MaxWindows]int64{}
	pos := h & s.mask
	for s.slots[pos] != 0 {
		pos = (pos + 1) & s.mask
	}
	s.slots[pos] = i + 1
	s.pushFront(i, probation)
	s.inserts++
	return i
}

// removeSlotOf deletes entry i from the index with backward-shift deletion,
// so linear probing needs no tombstones and lookups stay short under churn.
func (s *shard) removeSlotOf(i int32) {
	pos := s.entries[i].hash & s.mask
	for s.slots[pos] != i+1 {
		pos = (pos + 1) & s.mask
	}
	for {
		s.slots[pos] = 0
		j := pos
		for {
			j = (j + 1) & s.mask
			v := s.slots[j]
			if v == 0 {
				return
			}
			home := s.entries[v-1].hash & s.mask
			// v may fill the hole at pos if its probe sequence from home
			// passes pos before reaching j.
			if (j-home)&s.mask >= (j-pos)&s.mask {
				s.slots[pos] = v
				pos = j
				break
			}
		}
	}
}

func (s *shard) unlink(i int32) {
	e := &s.entries[i]
	l := &s.lists[e.seg]
	if e.prev >= 0 {
		s.entries[e.prev].next = e.next
	} else {
		l.head = e.next
	}
	if e.next >= 0 {
		s.entries[e.next].prev = e.prev
	} else {
		l.tail = e.prev
	}
	e.prev, e.next = -1, -1
	l.n--
}

func (s *shard) pushFront(i int32, seg uint8) {
	e := &s.entries[i]
	l := &s.lists[seg]
	e.seg = seg
	e.prev, e.next = -1, l.head
	s.tick++
	e.moved = s.tick
	if l.head >= 0 {
		s.entries[l.head].prev = i
	}
	l.head = i
	if l.tail < 0 {
		l.tail = i
	}
	l.n++
}

// touch records a hit: probation keys are promoted, protected keys move to
// the front, and an overfull protected segment demotes its LRU key.
//
// Moves within protected are lazy: a key moved to the front less than a
// quarter of the shard's capacity moves ago is still within the front
// quarter of its list (every move to a front advances tick by one and pushes
// it back by at most one place), far from demotion, so it stays where it is.
// Hot keys thus skip the relinking that costs up to three cache misses on
// neighbours, and victims are still among the least recently used.
func (s *shard) touch(i int32) {
	e := &s.entries[i]
	if e.seg == protected {
		if s.tick-e.moved < uint32(cap(s.entries)/4) {
			return
		}
		if s.lists[protected].head != i {
			s.unlink(i)
			s.pushFront(i, protected)
		}
		return
	}
	if s.protectedCap == 0 {
		if s.lists[probation].head != i {
			s.unlink(i)
			s.pushFront(i, probation)
		}
		return
	}
	s.unlink(i)
	s.pushFront(i, protected)
	if s.lists[protected].n > s.protectedCap {
		d := s.lists[protected].tail
		s.unlink(d)
		s.pushFront(d, probation)
	}
}

// Stats sums the shard counters, locking each shard in turn.
func (t *Table) Stats() TableStats {
	var st TableStats
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		st.Keys += len(s.entries)
		st.Hits += s.hits
		st.Inserts += s.inserts
		st.Evictions += s.evictions
		st.Untracked += s.untracked
		s.mu.Unlock()
	}
	return st
}

// Len returns the number of keys held.
func (t *Table) Len() int { return t.Stats().Keys }

// Contains reports whether key is held, without touching its recency or
// frequency.
func (t *Table) Contains(key []byte) bool {
	h := maphash.Bytes(t.seed, key)
	s := t.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.find(h, key) >= 0
}

// Forget removes key and its state (an operator unblocking a client, or a
// consumer whose quota was reset). It reports whether the key was held.
func (t *Table) Forget(key []byte) bool {
	h := maphash.Bytes(t.seed, key)
	s := t.shardOf(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.find(h, key)
	if i < 0 {
		return false
	}
	s.remove(i)
	return true
}

// remove deletes entry i and keeps the entry array dense by moving the last
// entry into its place; the removed key's buffer stays behind the slice's
// length for the next insert to reuse.
func (s *shard) remove(i int32) {
	s.removeSlotOf(i)
	s.unlink(i)
	last := int32(len(s.entries) - 1)
	if i != last {
		moved := s.entries[last]
		pos := moved.hash & s.mask
		for s.slots[pos] != last+1 {
			pos = (pos + 1) & s.mask
		}
		s.slots[pos] = i + 1
		if moved.prev >= 0 {
			s.entries[moved.prev].next = i
		} else {
			s.lists[moved.seg].head = i
		}
		if moved.next >= 0 {
			s.entries[moved.next].prev = i
		} else {
			s.lists[moved.seg].tail = i
		}
		s.entries[i], s.entries[last] = moved, entry{key: s.entries[i].key[:0]}
	}
	s.entries = s.entries[:last]
}

// Multi returns the table's windows, for AppendHeadersMulti.
func (t *Table) Multi() *Multi { return &t.multi }

// Shards returns the number of shards.
func (t *Table) Shards() int { return len(t.shards) }
