package metrics

import (
	"bytes"
	"sort"
	"sync"
)

// topKeys estimates the most rejected keys (the refusing limit's key in readable form, else the
// client address, of requests answered 429) with the
// space-saving algorithm (Metwally et al., 2005) over a fixed number of slots: memory stays
// bounded however many distinct clients are refused, and a heavy hitter is never evicted by a
// crowd of one-off keys. It is only touched on rejections, and a busy lock drops the sample.
const topSlots = 32

type topSlot struct {
	key   [tailClientLen]byte
	n     uint8
	count uint64
}

type topKeys struct {
	mu    sync.Mutex
	slots [topSlots]topSlot
	used  int
}

func (t *topKeys) add(key []byte) {
	if len(key) == 0 || !t.mu.TryLock() {
		return
	}
	defer t.mu.Unlock()
	if len(key) > tailClientLen {
		key = key[:tailClientLen]
	}
	minI := 0
	for i := 0; i < t.used; i++ {
		s := &t.slots[i]
		if bytes.Equal(s.key[:s.n], key) {
			s.count++
			return
		}
		if s.count < t.slots[minI].count {
			minI = i
		}
	}
	i := t.used
	base := uint64(0)
	if t.used < topSlots {
		t.used++
	} else {
		i = minI
		base = t.slots[minI].count // space-saving: the newcomer inherits the evicted count
	}
	s := &t.slots[i]
	s.n = uint8(copy(s.key[:], key))
	s.count = base + 1
}

// KeyCount is a rejected key and its (over-)estimated count.
type KeyCount struct {
	Key   string
	Count uint64
}

// TopRejected returns up to n keys most often refused with 429, most first.
func (m *Metrics) TopRejected(n int) []KeyCount {
	t := &m.top
	t.mu.Lock()
	out := make([]KeyCount, 0, t.used)
	for i := 0; i < t.used; i++ {
		out = append(out, KeyCount{Key: string(t.slots[i].key[:t.slots[i].n]), Count: t.slots[i].count})
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}
