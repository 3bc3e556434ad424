//go:build !race

package http1

import (
	"strings"
	"testing"
)

func TestChunkedDecodeDoesNotAllocate(t *testing.T) {
	in := []byte("5;name=\"v\"\r\nhello\r\n1a\r\n" + strings.Repeat("x", 0x1a) + "\r\n0\r\nX-Sum: 1\r\n\r\n")
	var d ChunkedDecoder
	var failed error
	allocs := testing.AllocsPerRun(200, func() {
		d.Reset()
		p := in
		for !d.Done() {
			n, _, err := d.Decode(p)
			if err != nil || n == 0 {
				failed = err
				return
			}
			p = p[n:]
		}
	})
	if failed != nil || !d.Done() {
		t.Fatalf("decode failed: %v", failed)
	}
	if allocs != 0 {
		t.Fatalf("Decode allocates %v times per message", allocs)
	}
}

func TestChunkEncoderDoesNotAllocate(t *testing.T) {
	data := []byte(strings.Repeat("y", 1000))
	dst := make([]byte, 0, 4096)
	allocs := testing.AllocsPerRun(200, func() {
		out := AppendChunkHeader(dst[:0], 12345)
		out = AppendChunk(out, data)
		_ = AppendLastChunk(out)
	})
	if allocs != 0 {
		t.Fatalf("chunk encoder allocates %v times", allocs)
	}
}
