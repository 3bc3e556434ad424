package routing

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestRadixAgreesWithNaiveMatching inserts random paths over a small
// alphabet (so labels share prefixes and split often) and checks every walk
// against a direct comparison with each inserted path.
func TestRadixAgreesWithNaiveMatching(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randPath := func() string {
		var b strings.Builder
		b.WriteByte('/')
		for n := rng.IntN(8); n > 0; n-- {
			b.WriteByte("ab/"[rng.IntN(3)])
		}
		return b.String()
	}
	for round := 0; round < 50; round++ {
		var root radixNode
		exact := map[string]*Route{}
		prefixes := map[string]*Route{}
		for i := 0; i < 40; i++ {
			p := randPath()
			r := &Route{index: i, pattern: p}
			if rng.IntN(2) == 0 {
				if exact[p] == nil {
					exact[p] = r
					root.insert(p, r, false)
				}
			} else if prefixes[p] == nil {
				prefixes[p] = r
				root.insert(p, r, true)
			}
		}
		tree := freeze(&root)
		for q := 0; q < 200; q++ {
			path := []byte(randPath())
			ex, deepest := tree.walk(path)
			var gotExact *Route
			if ex >= 0 {
				if rs := tree.exactRoutes(ex); len(rs) > 0 {
					gotExact = rs[0]
				}
			}
			if gotExact != exact[string(path)] {
				t.Fatalf("round %d: exact for %q = %v, want %v", round, path, gotExact, exact[string(path)])
			}
			// Every byte prefix of path that is a prefix route, longest
			// first, must come out of the prefixUp chain.
			var want []string
			for l := len(path); l > 0; l-- {
				if prefixes[string(path[:l])] != nil {
					want = append(want, string(path[:l]))
				}
			}
			var got []string
			for n := deepest; n >= 0; n = tree.nodes[n].prefixUp {
				for _, r := range tree.prefixRoutes(n) {
					got = append(got, r.pattern)
				}
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Fatalf("round %d: prefixes of %q = %q, want %q", round, path, got, want)
			}
		}
	}
}
