package http1

import "testing"

func BenchmarkAppendRequestHead(b *testing.B) {
	r := mustParseRequest(b, writerRequestHead)
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(writerRequestHead)))
	for b.Loop() {
		dst = AppendRequestHead(dst[:0], r, &writerRequestOptions)
	}
}

func BenchmarkAppendRequestHeadNoOptions(b *testing.B) {
	r := mustParseRequest(b, writerRequestHead)
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(writerRequestHead)))
	for b.Loop() {
		dst = AppendRequestHead(dst[:0], r, nil)
	}
}

func BenchmarkAppendResponseHead(b *testing.B) {
	r := mustParseResponse(b, writerResponseHead)
	dst := make([]byte, 0, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(writerResponseHead)))
	for b.Loop() {
		dst = AppendResponseHead(dst[:0], r, &writerResponseOptions)
	}
}

func BenchmarkAppendErrorResponse(b *testing.B) {
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendErrorResponse(dst[:0], 502, "upstream connect failed", true)
	}
	b.SetBytes(int64(len(dst)))
}
