//go:build !race

package http1

import "testing"

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
