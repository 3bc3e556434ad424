package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"

	"github.com/valyala/fasthttp"
)

// Heads measured against net/http and fasthttp. The browser request is what Chrome sends for a
// page load (503 bytes), the API request what a mobile client sends to a JSON API (150 bytes),
// the response a typical JSON API answer (303 bytes).
var (
	benchBrowserRequest = []byte("GET /wiki/Special:Search?search=http+parser&go=Go HTTP/1.1\r\n" +
		"Host: en.wikipedia.org\r\n" +
		"Connection: keep-alive\r\n" +
		"sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n" +
		"Upgrade-Insecure-Requests: 1\r\n" +
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n" +
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n" +
		"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
		"Accept-Language: en-US,en;q=0.9\r\n" +
		"\r\n")
	benchAPIRequest = []byte("POST /v1/orders HTTP/1.1\r\n" +
		"Host: api.example.com\r\n" +
		"Content-Type: application/json\r\n" +
		"Authorization: Bearer 4f9c2e1a7b\r\n" +
		"Accept: */*\r\n" +
		"Content-Length: 42\r\n" +
		"\r\n")
	benchResponse = []byte("HTTP/1.1 200 OK\r\n" +
		"Date: Thu, 26 Nov 2026 11:00:00 GMT\r\n" +
		"Content-Type: application/json; charset=utf-8\r\n" +
		"Content-Length: 1234\r\n" +
		"Connection: keep-alive\r\n" +
		"Cache-Control: private, max-age=0, must-revalidate\r\n" +
		"ETag: \"33a64df551425fcc55e4d42a148795d9f25f89d4\"\r\n" +
		"X-Request-Id: 9b2c7f4e-51a3-4d8e-a0c4-7e1f2b3c4d5e\r\n" +
		"\r\n")
)

func benchSluiceRequest(b *testing.B, head []byte) {
	var r Request
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(head, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func benchNetHTTPRequest(b *testing.B, head []byte) {
	br := bytes.NewReader(head)
	rd := bufio.NewReader(br)
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(head)
		rd.Reset(br)
		if _, err := http.ReadRequest(rd); err != nil {
			b.Fatal(err)
		}
	}
}

func benchFastHTTPRequest(b *testing.B, head []byte) {
	var h fasthttp.RequestHeader
	br := bytes.NewReader(head)
	rd := bufio.NewReader(br)
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		br.Reset(head)
		rd.Reset(br)
		h.Reset()
		if err := h.Read(rd); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequestBrowser(b *testing.B) {
	b.Run("sluice", func(b *testing.B) { benchSluiceRequest(b, benchBrowserRequest) })
	b.Run("nethttp", func(b *testing.B) { benchNetHTTPRequest(b, benchBrowserRequest) })
	b.Run("fasthttp", func(b *testing.B) { benchFastHTTPRequest(b, benchBrowserRequest) })
}

func BenchmarkParseRequestAPI(b *testing.B) {
	b.Run("sluice", func(b *testing.B) { benchSluiceRequest(b, benchAPIRequest) })
	b.Run("nethttp", func(b *testing.B) { benchNetHTTPRequest(b, benchAPIRequest) })
	b.Run("fasthttp", func(b *testing.B) { benchFastHTTPRequest(b, benchAPIRequest) })
}

func BenchmarkParseResponse(b *testing.B) {
	head := benchResponse
	b.Run("sluice", func(b *testing.B) {
		var r Response
		b.SetBytes(int64(len(head)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseResponse(head, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("nethttp", func(b *testing.B) {
		br := bytes.NewReader(head)
		rd := bufio.NewReader(br)
		b.SetBytes(int64(len(head)))
		b.ReportAllocs()
		for b.Loop() {
			br.Reset(head)
			rd.Reset(br)
			if _, err := http.ReadResponse(rd, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fasthttp", func(b *testing.B) {
		var h fasthttp.ResponseHeader
		br := bytes.NewReader(head)
		rd := bufio.NewReader(br)
		b.SetBytes(int64(len(head)))
		b.ReportAllocs()
		for b.Loop() {
			br.Reset(head)
			rd.Reset(br)
			h.Reset()
			if err := h.Read(rd); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkParseRequestByteByByte measures the drip-fed worst case: the head arrives one byte
// per read, so the cost of resuming dominates.
func BenchmarkParseRequestByteByByte(b *testing.B) {
	head := benchBrowserRequest
	var r Request
	b.SetBytes(int64(len(head)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset()
		for k := 1; k <= len(head); k++ {
			if _, err := ParseRequest(head[:k], &r); err != nil && err != ErrNeedMore {
				b.Fatal(err)
			}
		}
	}
}
