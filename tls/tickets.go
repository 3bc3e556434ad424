package tlsterm

import (
	"crypto/rand"
	"crypto/tls"
	"sync"
)

// ticketKeys is the rotating list of session ticket keys: the first encrypts new tickets, all
// of them decrypt, so a ticket stays usable for keep × the rotation period and no longer
// (forward secrecy of resumed sessions is bounded by that window, RFC 8446 8.1 and C.4).
type ticketKeys struct {
	mu   sync.Mutex
	keys [][32]byte
	keep int
	cfgs []*tls.Config // configurations that use these keys (current and in-flight reloads)
}

func newTicketKeys(keep int) *ticketKeys {
	if keep < 2 {
		keep = 2
	}
	t := &ticketKeys{keep: keep}
	t.rotateLocked()
	return t
}

// rotate puts a fresh random key first and drops the oldest beyond keep.
func (t *ticketKeys) rotate() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rotateLocked()
	for _, c := range t.cfgs {
		c.SetSessionTicketKeys(t.keys)
	}
}

func (t *ticketKeys) rotateLocked() {
	var k [32]byte
	_, _ = rand.Read(k[:]) // since Go 1.24 it never returns an error (a broken source is fatal)
	t.keys = append([][32]byte{k}, t.keys...)
	if len(t.keys) > t.keep {
		t.keys = t.keys[:t.keep]
	}
}

// use makes c encrypt and decrypt tickets with these keys from now on; it replaces any
// configuration used before (a reload builds a new tls.Config).
func (t *ticketKeys) use(c *tls.Config) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c.SetSessionTicketKeys(t.keys)
	t.cfgs = append(t.cfgs[:0], c)
}

func (t *ticketKeys) current() [32]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.keys[0]
}
