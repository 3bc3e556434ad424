//go:build linux && !race

package bench

import "testing"

// The loop engine's per-request path (send, read, frame, record, next send)
// must not allocate either.
func TestLoopEngineExchangeDoesNotAllocate(t *testing.T) {
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
			step := loopPair(t, tc.resp, tc.pipeline)
			step()
			if n := testing.AllocsPerRun(1000, step); n != 0 {
				t.Errorf("%v allocations per exchange, want 0", n)
			}
		})
	}
}

func BenchmarkLoopEngineExchange(b *testing.B) {
	for _, bc := range []struct {
		name     string
		resp     []byte
		pipeline int
	}{
		{"length/pipeline1", respOK, 1},
		{"length/pipeline16", respOK, 16},
		{"chunked/pipeline1", respCannedChunked, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			step := loopPair(b, bc.resp, bc.pipeline)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.resp) * bc.pipeline))
			for b.Loop() {
				step()
			}
		})
	}
}
