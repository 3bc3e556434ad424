package http1

import "testing"

// Fixtures shared with allocation_writer_test.go (which race builds leave out).
const writerRequestHead = "POST /api/v1/users?limit=10 HTTP/1.1\r\n" +
	"Host: api.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n" +
	"Accept: application/json\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive, X-Hop\r\n" +
	"X-Hop: 1\r\n" +
	"X-Forwarded-For: 203.0.113.7\r\n" +
	"Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc\r\n" +
	"Content-Type: application/json\r\n" +
	"Transfer-Encoding: chunked\r\n" +
	"X-Request-ID: client-supplied\r\n\r\n"

const writerResponseHead = "HTTP/1.1 200 OK\r\n" +
	"Date: Thu, 26 Nov 2026 12:00:00 GMT\r\n" +
	"Server: origin/1.0\r\n" +
	"Content-Type: application/json\r\n" +
	"Content-Length: 1024\r\n" +
	"Cache-Control: max-age=60\r\n" +
	"Connection: keep-alive\r\n" +
	"Keep-Alive: timeout=5\r\n" +
	"X-Powered-By: php\r\n\r\n"

var writerRequestOptions = RequestOptions{
	Path:        []byte("/users"),
	Host:        []byte("users.internal:9001"),
	ClientIP:    []byte("198.51.100.4"),
	Proto:       []byte("https"),
	Via:         []byte("sluice"),
	Edits:       &HeaderEdits{Remove: [][]byte{[]byte("X-Debug")}, Set: []Field{{[]byte("X-Route"), []byte("users")}}},
	ExtraFields: []Field{{[]byte("X-Request-ID"), []byte("0123456789abcdef")}},
}

var writerResponseOptions = ResponseOptions{
	Via:         []byte("sluice"),
	Edits:       &HeaderEdits{Remove: [][]byte{[]byte("X-Powered-By")}, Set: []Field{{[]byte("Server"), []byte("sluice")}}},
	ExtraFields: []Field{{[]byte("X-Request-ID"), []byte("0123456789abcdef")}},
}

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
