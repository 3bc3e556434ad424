package fuzz

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/http1"
)

// hopByHopNames may never reach the next hop (RFC 9110 7.6.1, 11.7); Upgrade and
// Transfer-Encoding are checked separately because the writer regenerates them.
var hopByHopNames = []string{"Keep-Alive", "Proxy-Connection", "TE", "Proxy-Authorization"}

func requestOptions(flags byte, path, host []byte) *http1.RequestOptions {
	o := &http1.RequestOptions{
		Upgrade:          flags&1 != 0,
		ReplaceForwarded: flags&2 != 0,
		Edits:            &http1.HeaderEdits{Remove: [][]byte{[]byte("X-Remove")}, Set: []http1.Field{{Name: []byte("X-Set"), Value: []byte("s")}}},
	}
	if flags&4 != 0 {
		o.Via = []byte("sluice")
	}
	if flags&8 != 0 {
		o.ClientIP = []byte("10.0.0.1")
	}
	if flags&16 != 0 {
		o.Proto = []byte("https")
	}
	if flags&32 != 0 {
		o.Path = path // any bytes: the writer must encode what a path cannot hold
	}
	if flags&64 != 0 {
		o.Host = host
		if o.Validate() != nil {
			o.Host = nil // the writer's contract covers validated hosts only
		}
	}
	return o
}

// FuzzAppendRequestHead checks that whatever head ParseRequest accepts, the head written for the
// upstream re-parses to the same method, target, host and framing, in HTTP/1.1, with exactly one
// Host and no hop-by-hop fields.
func FuzzAppendRequestHead(f *testing.F) {
	for _, s := range []string{
		"GET /a?b HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET http://example.com/p?q HTTP/1.1\r\nHost: other\r\nConnection: close, X-A\r\nX-A: 1\r\n\r\n",
		"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\nTE: trailers\r\nTrailer: X-Sum\r\n\r\n",
		"PUT /x HTTP/1.0\r\nContent-Length: 007\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nProxy-Authorization: Basic eA==\r\n\r\n",
		"CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: http\r\nForwarded: for=x\r\n\r\n",
	} {
		f.Add([]byte(s), byte(0xff), []byte("/new path?#"), []byte("backend:9000"))
		f.Add([]byte(s), byte(0), []byte(""), []byte(""))
	}
	f.Fuzz(func(t *testing.T, head []byte, flags byte, path, host []byte) {
		var r http1.Request
		if _, err := http1.ParseRequest(head, &r); err != nil {
			return
		}
		o := requestOptions(flags, path, host)
		out := http1.AppendRequestHead(nil, &r, o)
		if checkAllocs {
			dst := make([]byte, 0, len(out))
			if allocs := testing.AllocsPerRun(1, func() { dst = http1.AppendRequestHead(dst[:0], &r, o) }); allocs != 0 {
				t.Fatalf("AppendRequestHead allocated %v times for %q", allocs, head)
			}
		}

		var back http1.Request
		n, err := http1.ParseRequest(out, &back)
		if err != nil || n != len(out) {
			t.Fatalf("written head does not re-parse (n=%d of %d): %v\n%q\nfrom\n%q", n, len(out), err, out, head)
		}
		if !bytes.Equal(back.Method(), r.Method()) || back.Minor() != 1 {
			t.Fatalf("method/version changed: %q 1.%d", back.Method(), back.Minor())
		}
		switch r.TargetForm() {
		case http1.FormOrigin, http1.FormAbsolute:
			if back.TargetForm() != http1.FormOrigin || !bytes.Equal(back.Query(), r.Query()) {
				t.Fatalf("target %q from %q: form %v query %q", back.Target(), r.Target(), back.TargetForm(), back.Query())
			}
			if o.Path == nil && !bytes.Equal(back.Path(), r.Path()) {
				t.Fatalf("path %q, want %q", back.Path(), r.Path())
			}
		default:
			if !bytes.Equal(back.Target(), r.Target()) {
				t.Fatalf("target %q, want %q", back.Target(), r.Target())
			}
		}
		wantHost := r.Host()
		if o.Host != nil && r.TargetForm() != http1.FormAuthority {
			wantHost = o.Host
		}
		if !bytes.Equal(back.Host(), wantHost) {
			t.Fatalf("host %q, want %q", back.Host(), wantHost)
		}
		hosts := 0
		for i := range back.NumHeaders() {
			if strings.EqualFold(string(back.Name(i)), "host") {
				hosts++
			}
		}
		if hosts != 1 {
			t.Fatalf("%d Host fields in %q", hosts, out)
		}
		if back.Framing() != r.Framing() || back.ContentLength() != r.ContentLength() && r.Framing() == http1.FramingLength {
			t.Fatalf("framing %v/%d, want %v/%d", back.Framing(), back.ContentLength(), r.Framing(), r.ContentLength())
		}
		checkNoHopByHop(t, &back.Headers, &r.Headers, o.Upgrade && r.Upgrade() != nil, r.Framing() == http1.FramingChunked, out)
		if back.Has("X-Remove") || !bytes.Equal(back.Peek("X-Set"), []byte("s")) {
			t.Fatalf("edits not applied: %q", out)
		}
	})
}

// checkNoHopByHop fails when out carries a hop-by-hop field of in.
func checkNoHopByHop(t *testing.T, out, in *http1.Headers, upgrade, chunked bool, raw []byte) {
	t.Helper()
	for _, name := range hopByHopNames {
		if out.Has(name) {
			t.Fatalf("hop-by-hop %s forwarded: %q", name, raw)
		}
	}
	if out.Has("Upgrade") != upgrade {
		t.Fatalf("Upgrade forwarded=%v, want %v: %q", out.Has("Upgrade"), upgrade, raw)
	}
	if chunked != out.Has("Transfer-Encoding") {
		t.Fatalf("Transfer-Encoding forwarded=%v, want %v: %q", out.Has("Transfer-Encoding"), chunked, raw)
	}
	for i := range out.NumHeaders() {
		name := string(out.Name(i))
		if strings.EqualFold(name, "connection") {
			if !upgrade || !strings.EqualFold(string(out.Value(i)), "upgrade") {
				t.Fatalf("Connection %q forwarded: %q", out.Value(i), raw)
			}
			continue
		}
		if strings.EqualFold(name, "upgrade") && upgrade {
			continue
		}
		if in.ConnectionHas(name) && !generated(name) {
			t.Fatalf("%s is named by Connection but forwarded: %q", name, raw)
		}
	}
}

// generated: fields the writers write from their options whatever the client sent.
func generated(name string) bool {
	for _, g := range []string{"host", "content-length", "transfer-encoding", "x-forwarded-for", "x-forwarded-proto", "via", "x-set"} {
		if strings.EqualFold(name, g) {
			return true
		}
	}
	return false
}

// FuzzAppendResponseHead checks the same for responses: the written head re-parses with the same
// status and framing fields and without hop-by-hop fields.
func FuzzAppendResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive, X-A\r\nX-A: 1\r\n\r\n",
		"HTTP/1.0 404 \r\nKeep-Alive: timeout=1\r\nProxy-Authenticate: Basic\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\nTrailer: X\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
	} {
		f.Add([]byte(s), byte(0xff))
		f.Add([]byte(s), byte(0))
	}
	f.Fuzz(func(t *testing.T, head []byte, flags byte) {
		var r http1.Response
		if _, err := http1.ParseResponse(head, &r); err != nil {
			return
		}
		o := &http1.ResponseOptions{Upgrade: flags&1 != 0, Close: flags&2 != 0, KeepAlive: flags&4 != 0,
			Chunked: flags&16 != 0, Dechunk: flags&32 != 0}
		dechunked := o.Dechunk && r.Has("Transfer-Encoding")
		if flags&8 != 0 {
			o.Via = []byte("sluice")
		}
		out := http1.AppendResponseHead(nil, &r, o)
		if checkAllocs {
			dst := make([]byte, 0, len(out))
			if allocs := testing.AllocsPerRun(1, func() { dst = http1.AppendResponseHead(dst[:0], &r, o) }); allocs != 0 {
				t.Fatalf("AppendResponseHead allocated %v times for %q", allocs, head)
			}
		}
		var back http1.Response
		n, err := http1.ParseResponse(out, &back)
		if err != nil || n != len(out) {
			t.Fatalf("written head does not re-parse (n=%d of %d): %v\n%q\nfrom\n%q", n, len(out), err, out, head)
		}
		if back.Status() != r.Status() || back.Minor() != 1 || back.ContentLength() != r.ContentLength() {
			t.Fatalf("status %d 1.%d length %d, want %d length %d", back.Status(), back.Minor(), back.ContentLength(), r.Status(), r.ContentLength())
		}
		for _, m := range []http1.Method{http1.MethodGet, http1.MethodHead} {
			want := r.Framing(m)
			switch {
			case dechunked && want != http1.FramingNone:
				want = http1.FramingClose // the proxy sends the data alone
			case o.Dechunk:
			case o.Chunked && want == http1.FramingClose && !hasChunkedCoding(&r.Headers) && r.Status() >= 200 && r.Status() != 204 && r.Status() != 304:
				want = http1.FramingChunked // re-framed by the proxy
			}
			if back.Framing(m) != want {
				t.Fatalf("framing for %v: %v, want %v: %q", m, back.Framing(m), want, out)
			}
		}
		if back.KeepAlive() == (o.Close || dechunked) {
			t.Fatalf("KeepAlive %v with Close %v: %q", back.KeepAlive(), o.Close, out)
		}
		for _, name := range []string{"Keep-Alive", "Proxy-Connection", "TE", "Proxy-Authenticate"} {
			if back.Has(name) {
				t.Fatalf("hop-by-hop %s forwarded: %q", name, out)
			}
		}
		upgrade := o.Upgrade && r.Upgrade() != nil
		if back.Has("Upgrade") != upgrade {
			t.Fatalf("Upgrade forwarded=%v, want %v: %q", back.Has("Upgrade"), upgrade, out)
		}
		for i := range back.NumHeaders() {
			name := string(back.Name(i))
			if !strings.EqualFold(name, "connection") && !strings.EqualFold(name, "upgrade") &&
				r.ConnectionHas(name) && !generated(name) {
				t.Fatalf("%s is named by Connection but forwarded: %q", name, out)
			}
		}
	})
}

// hasChunkedCoding reports whether any Transfer-Encoding line lists chunked.
func hasChunkedCoding(h *http1.Headers) bool {
	for i := range h.NumHeaders() {
		if !strings.EqualFold(string(h.Name(i)), "transfer-encoding") {
			continue
		}
		for _, c := range strings.Split(string(h.Value(i)), ",") {
			if strings.EqualFold(strings.TrimSpace(c), "chunked") {
				return true
			}
		}
	}
	return false
}
