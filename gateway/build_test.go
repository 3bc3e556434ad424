package gateway

import (
	"strconv"
	"testing"
	"time"
)

// TestTargetIDsStayAsManyAsTheAddressesInUse churns through 1,000 addresses, ten in use at a
// time, retiring each generation as a DNS change would: the IDs handed out stay bounded by
// the addresses in use plus those still in quarantine, an address back from retirement gets
// its own ID, and no ID is ever held by two addresses in use.
func TestTargetIDsStayAsManyAsTheAddressesInUse(t *testing.T) {
	var ids targetIDs
	now := time.Unix(1_700_000_000, 0)
	addr := func(gen, i int) string { return "10.0." + strconv.Itoa(gen) + "." + strconv.Itoa(i) + ":80" }
	for gen := 0; gen < 100; gen++ {
		inUse := map[string]bool{}
		held := map[int]string{}
		ids.mu.Lock()
		for i := 0; i < 10; i++ {
			a := addr(gen, i)
			id := ids.idLocked(a, now)
			if other, dup := held[id]; dup {
				t.Fatalf("generation %d: ID %d held by %s and %s", gen, id, other, a)
			}
			held[id] = a
			inUse[a] = true
		}
		ids.mu.Unlock()
		ids.retain(inUse, now)
		now = now.Add(time.Minute) // a deployment a minute: ten generations in quarantine at once
	}
	// In use 10, retired within the last 10 minutes 100, and the first reuse comes at minute 10.
	if ids.next > 10+idQuarantineGenerations*10 {
		t.Fatalf("%d IDs handed out for 10 addresses in use, want at most %d", ids.next, 10+idQuarantineGenerations*10)
	}
	back := addr(98, 3) // retired a minute ago
	ids.mu.Lock()
	var was int
	for _, r := range ids.retired {
		if r.addr == back {
			was = r.id
		}
	}
	got := ids.idLocked(back, now)
	ids.mu.Unlock()
	if got != was {
		t.Fatalf("%s came back with ID %d, want its own %d", back, got, was)
	}
}

// idQuarantineGenerations is how many one-minute generations the quarantine holds.
const idQuarantineGenerations = int(idQuarantine / time.Minute)
