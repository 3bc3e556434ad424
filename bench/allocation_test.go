//go:build !race

package bench

import "testing"

// The per-request path (write, read, frame, parse, record) must not allocate
// in steady state, or the generator's own GC shows up in the latencies it
// measures.
func TestExchangeDoesNotAllocate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		resp     []byte
		pipeline int
	}{
		{"length", respOK, 1},
		{"length_pipelined", respOK, 16},
		{"chunked", respCannedChunked, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, step := cannedExchange(t, tc.resp, tc.pipeline)
			step() // first use creates the status map entry
			if n := testing.AllocsPerRun(1000, step); n != 0 {
				t.Errorf("%v allocations per exchange, want 0", n)
			}
		})
	}
}
