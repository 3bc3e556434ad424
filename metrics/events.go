package metrics

import (
	"sync"
	"time"
)

// Event kinds.
const (
	EventReload  = "reload"
	EventHealth  = "health"
	EventDrain   = "drain"
	EventStart   = "start"
	EventReset   = "reset"
	EventBreaker = "breaker"
	EventEject   = "eject"
)

// Event levels.
const (
	LevelInfo  = "info"
	LevelWarn  = "warn"
	LevelError = "error"
)

// Event is something an operator wants to see happen: a reload, a target turning failing or
// recovering, a drain.
type Event struct {
	Seq     uint64
	At      time.Time
	Kind    string
	Level   string
	Subject string
	Detail  string
}

// eventRing is the bounded event log. Events are rare and never come from the loops, so a
// mutex is fine.
type eventRing struct {
	mu    sync.Mutex
	slots []Event
	next  uint64
}

func (e *eventRing) init(size int) {
	e.slots = make([]Event, size)
	e.next = 1
}

// Event appends an event to the log.
func (m *Metrics) Event(kind, subject, detail, level string) {
	e := &m.events
	e.mu.Lock()
	defer e.mu.Unlock()
	seq := e.next
	e.next++
	e.slots[seq%uint64(len(e.slots))] = Event{Seq: seq, At: time.Now(), Kind: kind, Level: level, Subject: subject, Detail: detail}
}

// Events returns the events with Seq > after, oldest first, at most max of the newest
// (max <= 0: all the log holds).
func (m *Metrics) Events(after uint64, max int) []Event {
	e := &m.events
	e.mu.Lock()
	defer e.mu.Unlock()
	first := ringFirst(e.next, len(e.slots), after, max)
	if first >= e.next {
		return nil
	}
	out := make([]Event, 0, e.next-first)
	for seq := first; seq < e.next; seq++ {
		out = append(out, e.slots[seq%uint64(len(e.slots))])
	}
	return out
}

// ringFirst is the first sequence number to return from a ring of size slots whose next
// number is next: the one after after, no older than the ring still holds, and no more than
// max before next (max <= 0: no bound). A result >= next means nothing to return.
func ringFirst(next uint64, size int, after uint64, max int) uint64 {
	first := after + 1
	if oldest := next - min(next-1, uint64(size)); first < oldest {
		first = oldest
	}
	if max > 0 && first < next && next-first > uint64(max) {
		first = next - uint64(max)
	}
	return first
}
