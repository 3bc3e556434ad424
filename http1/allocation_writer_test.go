//go:build !race

package http1

import "testing"

func TestAppendRequestHeadDoesNotAllocate(t *testing.T) {
	r := mustParseRequest(t, writerRequestHead)
	dst := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		dst = AppendRequestHead(dst[:0], r, &writerRequestOptions)
	})
	if allocs != 0 {
		t.Fatalf("AppendRequestHead allocates %v times", allocs)
	}
}

func TestAppendResponseHeadDoesNotAllocate(t *testing.T) {
	r := mustParseResponse(t, writerResponseHead)
	dst := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		dst = AppendResponseHead(dst[:0], r, &writerResponseOptions)
	})
	if allocs != 0 {
		t.Fatalf("AppendResponseHead allocates %v times", allocs)
	}
}

func TestAppendErrorResponseDoesNotAllocate(t *testing.T) {
	dst := make([]byte, 0, 1024)
	for _, status := range []int{400, 404, 413, 431, 499, 502, 503, 504} {
		allocs := testing.AllocsPerRun(200, func() {
			dst = AppendErrorResponse(dst[:0], status, "upstream connect failed", true)
		})
		if allocs != 0 {
			t.Fatalf("AppendErrorResponse(%d) allocates %v times", status, allocs)
		}
	}
}

func TestStatusTextDoesNotAllocate(t *testing.T) {
	var s string
	allocs := testing.AllocsPerRun(200, func() { s = StatusText(503) })
	if allocs != 0 || s == "" {
		t.Fatalf("StatusText allocates %v times", allocs)
	}
}
