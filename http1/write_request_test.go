package http1

import (
	"fmt"
	"strings"
	"testing"
)

func mustParseRequest(t testing.TB, head string) *Request {
	t.Helper()
	r := new(Request)
	if _, err := ParseRequest([]byte(head), r); err != nil {
		t.Fatalf("ParseRequest(%q): %v", head, err)
	}
	return r
}

func TestAppendRequestHeadRewrites(t *testing.T) {
	edits := &HeaderEdits{
		Remove: [][]byte{[]byte("x-internal")},
		Set:    []Field{{[]byte("X-Route"), []byte("users")}},
		Add:    []Field{{[]byte("X-Added"), []byte("1")}},
	}
	tests := []struct {
		name string
		in   string
		o    *RequestOptions
		want string
	}{
		{
			"sends http/1.1 and keeps the origin-form target",
			"GET /a/b?c=d HTTP/1.0\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
			nil,
			"GET /a/b?c=d HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n",
		},
		{
			"turns absolute-form into origin-form with the target's authority as host",
			"GET http://example.com/p?q=1 HTTP/1.1\r\nHost: other.example\r\n\r\n",
			nil,
			"GET /p?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n",
		},
		{
			"gives absolute-form with an empty path the path slash",
			"GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n",
			nil,
			"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		},
		{
			"keeps an empty query",
			"GET /p? HTTP/1.1\r\nHost: a\r\n\r\n",
			nil,
			"GET /p? HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"replaces the path and keeps the query",
			"GET /api/v1/users?id=7 HTTP/1.1\r\nHost: a\r\n\r\n",
			&RequestOptions{Path: []byte("/users")},
			"GET /users?id=7 HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"percent-encodes what a path option may not hold",
			"GET /x?id=7 HTTP/1.1\r\nHost: a\r\n\r\n",
			&RequestOptions{Path: []byte("/a b?c#d\r\n")},
			"GET /a%20b%3Fc%23d%0D%0A?id=7 HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"adds the leading slash a path option lacks",
			"GET /x HTTP/1.1\r\nHost: a\r\n\r\n",
			&RequestOptions{Path: []byte("y")},
			"GET /y HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"keeps the target and host of connect and drops its framing",
			"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nContent-Length: 5\r\n\r\n",
			&RequestOptions{Path: []byte("/ignored"), Host: []byte("ignored")},
			"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		},
		{
			"keeps the asterisk-form target",
			"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
			&RequestOptions{Path: []byte("/ignored")},
			"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"replaces host and writes it first",
			"GET / HTTP/1.1\r\nAccept: */*\r\nHost: public.example\r\n\r\n",
			&RequestOptions{Host: []byte("backend:9000")},
			"GET / HTTP/1.1\r\nHost: backend:9000\r\nAccept: */*\r\n\r\n",
		},
		{
			"sends an empty host for an http/1.0 request without one",
			"GET / HTTP/1.0\r\n\r\n",
			nil,
			"GET / HTTP/1.1\r\nHost: \r\n\r\n",
		},
		{
			"drops hop-by-hop fields and keeps trailer",
			"POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n" +
				"Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\nProxy-Authorization: Basic eA==\r\n" +
				"Trailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n",
			nil,
			"POST / HTTP/1.1\r\nHost: a\r\nTrailer: X-Sum\r\nTransfer-Encoding: chunked\r\n\r\n",
		},
		{
			"drops fields named in connection options in any case",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Secret: s\r\nConnection: close, x-SECRET\r\nConnection: X-Other\r\n" +
				"X-Other: o\r\nX-Kept: k\r\n\r\n",
			nil,
			"GET / HTTP/1.1\r\nHost: a\r\nX-Kept: k\r\n\r\n",
		},
		{
			"keeps upgrade when tunnelling",
			"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n",
			&RequestOptions{Upgrade: true},
			"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\nConnection: upgrade\r\n\r\n",
		},
		{
			"drops upgrade when not tunnelling",
			"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			nil,
			"GET /ws HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"sends no connection upgrade for a request that does not ask",
			"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n",
			&RequestOptions{Upgrade: true},
			"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"writes content-length in canonical form",
			"POST / HTTP/1.1\r\nContent-Length: 007\r\nHost: a\r\n\r\n",
			nil,
			"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7\r\n\r\n",
		},
		{
			"joins transfer codings into one line",
			"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: , chunked\r\n\r\n",
			nil,
			"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		},
		{
			"appends the client to the received forwarded chain",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2\r\nAccept: */*\r\nx-forwarded-for: 3.3.3.3\r\n\r\n",
			&RequestOptions{ClientIP: []byte("10.0.0.1")},
			"GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.1\r\nForwarded: for=10.0.0.1;host=\"a\"\r\n\r\n",
		},
		{
			"keeps the received chain without a client address",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n",
			nil,
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n",
		},
		{
			"replaces forwarded fields of an untrusted peer",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Host: evil\r\nX-Forwarded-Proto: https\r\n" +
				"Forwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Forwarded: other\r\n\r\n",
			&RequestOptions{ClientIP: []byte("10.0.0.1"), ReplaceForwarded: true, Proto: []byte("http")},
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded: other\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nForwarded: for=10.0.0.1;proto=http;host=\"a\"\r\n\r\n",
		},
		{
			"keeps the forwarded proto of a trusted peer and adds the host",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\n\r\n",
			&RequestOptions{Proto: []byte("http")},
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: a\r\n\r\n",
		},
		{
			"appends an RFC 7239 element, an IPv6 node quoted and bracketed",
			"GET / HTTP/1.1\r\nHost: a.example:8080\r\nForwarded: for=192.0.2.60;proto=https\r\n\r\n",
			&RequestOptions{ClientIP: []byte("2001:db8::1"), Proto: []byte("http")},
			"GET / HTTP/1.1\r\nHost: a.example:8080\r\nForwarded: for=192.0.2.60;proto=https\r\nX-Forwarded-For: 2001:db8::1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a.example:8080\r\nForwarded: for=\"[2001:db8::1]\";proto=http;host=\"a.example:8080\"\r\n\r\n",
		},
		{
			"keeps the forwarded host of a trusted peer",
			"GET / HTTP/1.1\r\nHost: inner\r\nX-Forwarded-Host: outer.example\r\n\r\n",
			&RequestOptions{Proto: []byte("http"), Host: []byte("backend")},
			"GET / HTTP/1.1\r\nHost: backend\r\nX-Forwarded-Host: outer.example\r\nX-Forwarded-Proto: http\r\n\r\n",
		},
		{
			"drops a forwarded chain named in connection but still adds the client",
			"GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
			&RequestOptions{ClientIP: []byte("10.0.0.1")},
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.0.0.1\r\nForwarded: for=10.0.0.1;host=\"a\"\r\n\r\n",
		},
		{
			"appends via with the received version after received via",
			"GET / HTTP/1.0\r\nHost: a\r\nVia: 1.1 edge\r\n\r\n",
			&RequestOptions{Via: []byte("sluice")},
			"GET / HTTP/1.1\r\nHost: a\r\nVia: 1.1 edge\r\nVia: 1.0 sluice\r\n\r\n",
		},
		{
			"applies remove set and add case-insensitively",
			"GET / HTTP/1.1\r\nHost: a\r\nX-INTERNAL: 1\r\nx-route: client\r\nX-Added: 0\r\n\r\n",
			&RequestOptions{Edits: edits},
			"GET / HTTP/1.1\r\nHost: a\r\nX-Added: 0\r\nX-Route: users\r\nX-Added: 1\r\n\r\n",
		},
		{
			"skips edits of fields the proxy manages",
			"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			&RequestOptions{Edits: &HeaderEdits{
				Set: []Field{{[]byte("Host"), []byte("b")}, {[]byte("Content-Length"), []byte("5")}, {[]byte("Via"), []byte("x")}},
				Add: []Field{{[]byte("Transfer-Encoding"), []byte("chunked")}, {[]byte("Bad Name"), []byte("v")}},
			}},
			"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		},
		{
			"replaces client-sent extra fields",
			"GET / HTTP/1.1\r\nHost: a\r\nX-Request-ID: forged\r\n\r\n",
			&RequestOptions{ExtraFields: []Field{{[]byte("X-Request-Id"), []byte("abc123")}}},
			"GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc123\r\n\r\n",
		},
		{
			"drops control bytes from option values",
			"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
			&RequestOptions{ExtraFields: []Field{{[]byte("X-Id"), []byte("a\r\nEvil: 1")}}, ClientIP: []byte("1.2.3.4\r\n")},
			"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nForwarded: for=1.2.3.4;host=\"a\"\r\nX-Id: aEvil: 1\r\n\r\n",
		},
		{
			"keeps the received spelling of copied fields",
			"GET / HTTP/1.1\r\nHost: a\r\nx-mixed-CASE:\tv  w \r\nEmpty:\r\n\r\n",
			nil,
			"GET / HTTP/1.1\r\nHost: a\r\nx-mixed-CASE:\tv  w\r\nEmpty:\r\n\r\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustParseRequest(t, tt.in)
			got := string(AppendRequestHead([]byte("prefix"), r, tt.o))
			if got != "prefix"+tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, "prefix"+tt.want)
			}
			var back Request
			n, err := ParseRequest([]byte(tt.want), &back)
			if err != nil || n != len(tt.want) {
				t.Fatalf("output does not re-parse: n=%d err=%v", n, err)
			}
			if string(back.Method()) != string(r.Method()) || back.Framing() != r.Framing() {
				t.Fatalf("re-parse changed method or framing: %q %v", back.Method(), back.Framing())
			}
		})
	}
}

func TestAppendRequestHeadDropsFieldsNamedByManyConnectionOptions(t *testing.T) {
	// More options than connOptions holds on the stack: the rescan path must agree.
	var conn, fields strings.Builder
	for i := range 40 {
		fmt.Fprintf(&conn, "X-H%d, ", i)
		fmt.Fprintf(&fields, "X-H%d: v\r\n", i)
	}
	in := "GET / HTTP/1.1\r\nHost: a\r\nConnection: " + conn.String() + "close\r\n" + fields.String() + "X-Kept: k\r\n\r\n"
	r := mustParseRequest(t, in)
	got := string(AppendRequestHead(nil, r, nil))
	if want := "GET / HTTP/1.1\r\nHost: a\r\nX-Kept: k\r\n\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestHeaderEditsValidateRejectsManagedAndMalformedFields(t *testing.T) {
	tests := []struct {
		name  string
		edits HeaderEdits
		ok    bool
	}{
		{"ordinary edits", HeaderEdits{Remove: [][]byte{[]byte("X-A")}, Set: []Field{{[]byte("X-B"), []byte("v w")}}, Add: []Field{{[]byte("X-C"), nil}}}, true},
		{"remove of a generated chain", HeaderEdits{Remove: [][]byte{[]byte("X-Forwarded-For")}}, true},
		{"remove of host", HeaderEdits{Remove: [][]byte{[]byte("host")}}, false},
		{"set of content-length", HeaderEdits{Set: []Field{{[]byte("Content-Length"), []byte("1")}}}, false},
		{"add of transfer-encoding", HeaderEdits{Add: []Field{{[]byte("transfer-encoding"), []byte("chunked")}}}, false},
		{"set of connection", HeaderEdits{Set: []Field{{[]byte("Connection"), []byte("close")}}}, false},
		{"set of via", HeaderEdits{Set: []Field{{[]byte("Via"), []byte("x")}}}, false},
		{"add of x-forwarded-for", HeaderEdits{Add: []Field{{[]byte("X-Forwarded-For"), []byte("1.1.1.1")}}}, false},
		{"name with space", HeaderEdits{Set: []Field{{[]byte("X A"), []byte("v")}}}, false},
		{"empty name", HeaderEdits{Remove: [][]byte{{}}}, false},
		{"value with crlf", HeaderEdits{Add: []Field{{[]byte("X-A"), []byte("v\r\nX-B: w")}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.edits.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "http1: ") {
				t.Fatalf("error %q lacks the package prefix", err)
			}
		})
	}
	var none *HeaderEdits
	if err := none.Validate(); err != nil {
		t.Fatalf("nil edits: %v", err)
	}
}

func TestRequestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		o    RequestOptions
		ok   bool
	}{
		{"typical", RequestOptions{Path: []byte("/v1/x"), Host: []byte("backend:80"), Via: []byte("sluice"), Proto: []byte("https")}, true},
		{"relative path", RequestOptions{Path: []byte("v1")}, false},
		{"empty path", RequestOptions{Path: []byte{}}, false},
		{"path with query", RequestOptions{Path: []byte("/a?b")}, false},
		{"path with space", RequestOptions{Path: []byte("/a b")}, false},
		{"bad host", RequestOptions{Host: []byte("a b")}, false},
		{"via with space", RequestOptions{Via: []byte("1.1 x")}, false},
		{"proto with crlf", RequestOptions{Proto: []byte("http\r\n")}, false},
		{"bad extra field", RequestOptions{ExtraFields: []Field{{[]byte("Host"), []byte("x")}}}, false},
		{"bad edits", RequestOptions{Edits: &HeaderEdits{Remove: [][]byte{[]byte("TE")}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.o.Validate(); (err == nil) != tt.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
