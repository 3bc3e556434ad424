package http1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestProxyPassThroughInteroperatesWithNetHTTP plays the proxy between a raw client and a
// net/http origin on 127.0.0.1: the request head goes through AppendRequestHead, the chunked body
// through ChunkedDecoder with the consumed bytes forwarded verbatim, and the origin's chunked
// response back through ParseResponse, AppendResponseHead and ChunkedDecoder. net/http must see
// the rewritten request exactly as meant, and read the rewritten response.
func TestProxyPassThroughInteroperatesWithNetHTTP(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Trailer", "X-Origin-Sum")
		w.Header().Set("Connection", "X-Origin-Hop")
		w.Header().Set("X-Origin-Hop", "must not reach the client")
		w.Header().Set("Keep-Alive", "timeout=9")
		w.WriteHeader(201)
		fmt.Fprintf(w, "method=%s uri=%s host=%s proto=%s\n", r.Method, r.RequestURI, r.Host, r.Proto)
		fmt.Fprintf(w, "body=%q te=%v trailer=%q\n", body, r.TransferEncoding, r.Trailer.Get("X-Sum"))
		fmt.Fprintf(w, "xff=%q xfp=%q via=%q hop=%q ka=%q authz=%q\n", r.Header.Get("X-Forwarded-For"),
			r.Header.Get("X-Forwarded-Proto"), r.Header.Values("Via"), r.Header.Get("X-Hop"),
			r.Header.Get("Keep-Alive"), r.Header.Get("Proxy-Authorization"))
		w.(http.Flusher).Flush()
		io.WriteString(w, "end\n")
		w.Header().Set("X-Origin-Sum", "42")
	}))
	defer origin.Close()

	client := "POST http://public.example/in?x=1 HTTP/1.1\r\nHost: public.example\r\n" +
		"Connection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n" +
		"Proxy-Authorization: Basic eDp5\r\nX-Forwarded-For: 192.0.2.1\r\n" +
		"Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n" +
		"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\n\r\n"

	var req Request
	n, err := ParseRequest([]byte(client), &req)
	if err != nil {
		t.Fatal(err)
	}
	opts := RequestOptions{
		Path:     []byte("/v2/in"),
		Host:     []byte(strings.TrimPrefix(origin.URL, "http://")),
		ClientIP: []byte("198.51.100.4"),
		Proto:    []byte("https"),
		Via:      []byte("sluice"),
	}
	wire := AppendRequestHead(nil, &req, &opts)
	var dec ChunkedDecoder
	wire, rest := passThrough(t, &dec, wire, []byte(client[n:]))
	if len(rest) != 0 || !dec.Done() || !dec.HasTrailers() {
		t.Fatalf("request body: rest %q done %v trailers %v", rest, dec.Done(), dec.HasTrailers())
	}

	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(origin.URL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(wire); err != nil {
		t.Fatal(err)
	}

	// Read the origin's response head, then its chunked body, in whatever pieces TCP delivers.
	var buf []byte
	var resp Response
	chunk := make([]byte, 512)
	for {
		k, readErr := conn.Read(chunk)
		buf = append(buf, chunk[:k]...)
		if n, err = ParseResponse(buf, &resp); err == nil {
			break
		} else if err != ErrNeedMore {
			t.Fatalf("origin response: %v", err)
		}
		if readErr != nil {
			t.Fatalf("origin response head: %v", readErr)
		}
	}
	if resp.Framing(MethodPost) != FramingChunked {
		t.Fatalf("origin framing %v", resp.Framing(MethodPost))
	}
	out := AppendResponseHead(nil, &resp, &ResponseOptions{Via: []byte("sluice"), Close: true})
	body := buf[n:]
	dec.Reset()
	for {
		var restBody []byte
		out, restBody = passThrough(t, &dec, out, body)
		if dec.Done() {
			break
		}
		body = restBody
		k, err := conn.Read(chunk)
		if k == 0 && err != nil {
			t.Fatalf("origin body: %v", err)
		}
		body = append(body, chunk[:k]...)
	}

	got, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(out)), nil)
	if err != nil {
		t.Fatalf("net/http cannot read the rewritten response %q: %v", out, err)
	}
	text, err := io.ReadAll(got.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := "method=POST uri=/v2/in?x=1 host=" + string(opts.Host) + " proto=HTTP/1.1\n" +
		"body=\"hello world\" te=[chunked] trailer=\"abc\"\n" +
		"xff=\"192.0.2.1, 198.51.100.4\" xfp=\"https\" via=[\"1.1 sluice\"] hop=\"\" ka=\"\" authz=\"\"\n" +
		"end\n"
	if string(text) != want {
		t.Fatalf("origin saw\n%s\nwant\n%s", text, want)
	}
	if got.StatusCode != 201 || !got.Close || got.Trailer.Get("X-Origin-Sum") != "42" {
		t.Fatalf("response: status %d close %v trailer %v", got.StatusCode, got.Close, got.Trailer)
	}
	if got.Header.Get("X-Origin-Hop") != "" || got.Header.Get("Keep-Alive") != "" || got.Header.Get("Via") != "1.1 sluice" {
		t.Fatalf("response fields: %v", got.Header)
	}
}

// passThrough runs the decoder over in, appending every consumed byte to out verbatim, as a
// proxy forwards a chunked body, and returns out and the bytes not consumed.
func passThrough(t *testing.T, d *ChunkedDecoder, out, in []byte) ([]byte, []byte) {
	t.Helper()
	for len(in) > 0 && !d.Done() {
		n, _, err := d.Decode(in)
		if err != nil {
			t.Fatalf("chunked body %q: %v", in, err)
		}
		if n == 0 {
			break
		}
		out = append(out, in[:n]...)
		in = in[n:]
	}
	return out, in
}
