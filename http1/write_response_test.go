package http1

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"
)

func mustParseResponse(t testing.TB, head string) *Response {
	t.Helper()
	r := new(Response)
	if _, err := ParseResponse([]byte(head), r); err != nil {
		t.Fatalf("ParseResponse(%q): %v", head, err)
	}
	return r
}

func TestAppendResponseHeadRewrites(t *testing.T) {
	tests := []struct {
		name string
		in   string
		o    *ResponseOptions
		want string
	}{
		{
			"sends http/1.1 with the received status and reason",
			"HTTP/1.0 404 Nope\r\nContent-Length: 3\r\n\r\n",
			nil,
			"HTTP/1.1 404 Nope\r\nContent-Length: 3\r\n\r\n",
		},
		{
			"fills an empty reason from the status",
			"HTTP/1.1 503 \r\nContent-Length: 0\r\n\r\n",
			nil,
			"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
		},
		{
			"drops hop-by-hop fields and proxy-authenticate",
			"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=5\r\nX-Hop: 1\r\n" +
				"Proxy-Authenticate: Basic realm=x\r\nProxy-Connection: close\r\nTE: trailers\r\nUpgrade: h2c\r\n" +
				"Trailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n",
			nil,
			"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n",
		},
		{
			"writes content-length in canonical form",
			"HTTP/1.1 200 OK\r\nContent-Length: 0012\r\nContent-Type: text/plain\r\n\r\n",
			nil,
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\n",
		},
		{
			"keeps the content-length of a not modified response",
			"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n",
			nil,
			"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 1234\r\n\r\n",
		},
		{
			"joins transfer codings of a close-delimited response",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
			&ResponseOptions{Close: true},
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nConnection: close\r\n\r\n",
		},
		{
			"chunks a close-delimited body for the client",
			"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n",
			&ResponseOptions{Chunked: true},
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n",
		},
		{
			"chunks a close-delimited body after its codings",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
			&ResponseOptions{Chunked: true},
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		},
		{
			"does not chunk a body that has a length",
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
			&ResponseOptions{Chunked: true},
			"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
		},
		{
			"does not chunk a chunked body twice",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
			&ResponseOptions{Chunked: true},
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		},
		{
			"does not chunk a body whose codings already hold chunked",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
			&ResponseOptions{Chunked: true, Close: true},
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nConnection: close\r\n\r\n",
		},
		{
			"does not chunk a response without content",
			"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
			&ResponseOptions{Chunked: true},
			"HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n",
		},
		{
			"dechunks for an http/1.0 client and closes",
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n",
			&ResponseOptions{Dechunk: true, Chunked: true, KeepAlive: true},
			"HTTP/1.1 200 OK\r\nTrailer: X-Sum\r\nConnection: close\r\n\r\n",
		},
		{
			"dechunk leaves a response with a length open",
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n",
			&ResponseOptions{Dechunk: true, KeepAlive: true},
			"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n",
		},
		{
			"adds keep-alive for http/1.0 clients",
			"HTTP/1.1 204 No Content\r\n\r\n",
			&ResponseOptions{KeepAlive: true},
			"HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n",
		},
		{
			"prefers close over keep-alive",
			"HTTP/1.1 204 No Content\r\n\r\n",
			&ResponseOptions{KeepAlive: true, Close: true},
			"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
		},
		{
			"keeps upgrade of a switching protocols response",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n\r\n",
			&ResponseOptions{Upgrade: true},
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\n\r\n",
		},
		{
			"drops upgrade when not tunnelling",
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
			nil,
			"HTTP/1.1 101 Switching Protocols\r\n\r\n",
		},
		{
			"appends via with the received version",
			"HTTP/1.0 200 OK\r\nVia: 1.1 origin-cache\r\nContent-Length: 0\r\n\r\n",
			&ResponseOptions{Via: []byte("sluice")},
			"HTTP/1.1 200 OK\r\nVia: 1.1 origin-cache\r\nContent-Length: 0\r\nVia: 1.0 sluice\r\n\r\n",
		},
		{
			"applies edits and extra fields",
			"HTTP/1.1 200 OK\r\nServer: origin/1.2\r\nX-Powered-By: php\r\nX-Request-Id: upstream\r\nContent-Length: 0\r\n\r\n",
			&ResponseOptions{
				Edits: &HeaderEdits{
					Remove: [][]byte{[]byte("x-powered-by")},
					Set:    []Field{{[]byte("Server"), []byte("sluice")}},
					Add:    []Field{{[]byte("Strict-Transport-Security"), []byte("max-age=63072000")}},
				},
				ExtraFields: []Field{{[]byte("X-Request-Id"), []byte("r1")}},
			},
			"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nServer: sluice\r\nStrict-Transport-Security: max-age=63072000\r\nX-Request-Id: r1\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParseResponse(t, tt.in)
			got := string(AppendResponseHead([]byte("prefix"), r, tt.o))
			if got != "prefix"+tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, "prefix"+tt.want)
			}
			var back Response
			if n, err := ParseResponse([]byte(tt.want), &back); err != nil || n != len(tt.want) {
				t.Fatalf("output does not re-parse: n=%d err=%v", n, err)
			}
			if back.Status() != r.Status() || back.ContentLength() != r.ContentLength() {
				t.Fatalf("re-parse changed status or length: %d %d", back.Status(), back.ContentLength())
			}
		})
	}
}

func TestAppendErrorResponseWritesCompleteResponse(t *testing.T) {
	tests := []struct {
		name   string
		status int
		reason string
		close  bool
		want   string
	}{
		{
			"bad request with close", 400, "bad header name", true,
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 33\r\n" +
				"X-Sluice-Error: bad header name\r\nConnection: close\r\n\r\n400 Bad Request: bad header name\n",
		},
		{
			"gateway timeout kept open", 504, "upstream timeout", false,
			"HTTP/1.1 504 Gateway Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 38\r\n" +
				"X-Sluice-Error: upstream timeout\r\n\r\n504 Gateway Timeout: upstream timeout\n",
		},
		{
			"status without registered text", 499, "client closed", false,
			"HTTP/1.1 499 \r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\n" +
				"X-Sluice-Error: client closed\r\n\r\n499: client closed\n",
		},
		{
			"non-error status becomes 500", 200, "x", false,
			"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 29\r\n" +
				"X-Sluice-Error: x\r\n\r\n500 Internal Server Error: x\n",
		},
		{
			"control bytes dropped from the reason", 502, "bad\r\nSet-Cookie: a=b", true,
			"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 36\r\n" +
				"X-Sluice-Error: badSet-Cookie: a=b\r\nConnection: close\r\n\r\n502 Bad Gateway: badSet-Cookie: a=b\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendErrorResponse(nil, tt.status, tt.reason, tt.close))
			if got != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
			checkWithNetHTTP(t, got, tt.close)
		})
	}
}

func TestAppendErrorResponseBoundsTheReason(t *testing.T) {
	got := string(AppendErrorResponse(nil, 400, strings.Repeat("r", 10000), true))
	if len(got) > 2*maxErrorReason+200 {
		t.Fatalf("response of %d bytes for a long reason", len(got))
	}
	checkWithNetHTTP(t, got, true)
}

// checkWithNetHTTP reads the response with net/http: the Content-Length must match the body and
// nothing may follow it.
func checkWithNetHTTP(t *testing.T, raw string, close bool) {
	t.Helper()
	br := bufio.NewReader(strings.NewReader(raw))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("net/http cannot read %q: %v", raw, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || int64(len(body)) != resp.ContentLength {
		t.Fatalf("body %q (err %v) does not match Content-Length %d", body, err, resp.ContentLength)
	}
	if resp.Close != close {
		t.Fatalf("net/http sees Close=%v, want %v", resp.Close, close)
	}
	if resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("X-Sluice-Error") == "" {
		t.Fatalf("missing fields: %v", resp.Header)
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("%d bytes after the body", len(rest))
	}
}

func TestStatusTextCoversNetHTTPCodes(t *testing.T) {
	for code := 100; code < 600; code++ {
		if (http.StatusText(code) == "") != (StatusText(code) == "") {
			t.Errorf("code %d: StatusText %q, net/http %q", code, StatusText(code), http.StatusText(code))
		}
	}
	if StatusText(0) != "" || StatusText(-1) != "" || StatusText(1000) != "" {
		t.Error("text for an invalid code")
	}
}

func TestResponseOptionsValidate(t *testing.T) {
	ok := ResponseOptions{Via: []byte("sluice"), ExtraFields: []Field{{[]byte("X-Id"), []byte("1")}}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, o := range []ResponseOptions{
		{Via: []byte("a b")},
		{ExtraFields: []Field{{[]byte("Content-Length"), []byte("1")}}},
		{Edits: &HeaderEdits{Set: []Field{{[]byte("Connection"), []byte("close")}}}},
	} {
		if o.Validate() == nil {
			t.Errorf("Validate accepted %+v", o)
		}
	}
}
