package http1

import (
	"bufio"
	"bytes"
	"io"
	"net/http/httputil"
	"strings"
	"testing"
)

func benchmarkChunkedDecode(b *testing.B, in []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	var d ChunkedDecoder
	for b.Loop() {
		d.Reset()
		p := in
		for !d.Done() {
			n, _, err := d.Decode(p)
			if err != nil {
				b.Fatal(err)
			}
			p = p[n:]
		}
	}
}

func chunkedBody(chunk, count int, ext string) []byte {
	data := []byte(strings.Repeat("z", chunk))
	var out []byte
	for range count {
		out = AppendChunkHeader(out, chunk)
		out = append(out[:len(out)-2], ext...)
		out = append(out, "\r\n"...)
		out = append(out, data...)
		out = append(out, "\r\n"...)
	}
	return AppendLastChunk(out)
}

// Framing-heavy: one byte of data per chunk, the worst case for overhead.
func BenchmarkChunkedDecodeTinyChunks(b *testing.B) {
	benchmarkChunkedDecode(b, chunkedBody(1, 256, ""))
}

func BenchmarkChunkedDecode4KChunks(b *testing.B) {
	benchmarkChunkedDecode(b, chunkedBody(4096, 16, ""))
}

func BenchmarkChunkedDecodeWithExtensions(b *testing.B) {
	benchmarkChunkedDecode(b, chunkedBody(64, 64, `;sig="0123456789abcdef";n=1`))
}

func BenchmarkChunkedDecodeTrailers(b *testing.B) {
	in := append(chunkedBody(64, 4, "")[:0:0], chunkedBody(64, 4, "")...)
	in = append(in[:len(in)-2], "X-Checksum: sha256=0123456789abcdef0123456789abcdef\r\nX-Status: ok\r\n\r\n"...)
	benchmarkChunkedDecode(b, in)
}

// BenchmarkChunkedNetHTTP* decode the same bodies with net/http's chunked reader, for scale.
// It copies the data out and stops at the last-chunk line (no trailer validation).
func benchmarkChunkedNetHTTP(b *testing.B, in []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	rd := bytes.NewReader(in)
	br := bufio.NewReaderSize(rd, 64<<10)
	sink := make([]byte, 64<<10)
	for b.Loop() {
		rd.Reset(in)
		br.Reset(rd)
		cr := httputil.NewChunkedReader(br)
		for {
			_, err := cr.Read(sink)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkChunkedNetHTTPTinyChunks(b *testing.B) {
	benchmarkChunkedNetHTTP(b, chunkedBody(1, 256, ""))
}

func BenchmarkChunkedNetHTTP4KChunks(b *testing.B) {
	benchmarkChunkedNetHTTP(b, chunkedBody(4096, 16, ""))
}

func BenchmarkAppendChunk(b *testing.B) {
	data := []byte(strings.Repeat("y", 4096))
	dst := make([]byte, 0, 8192)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		dst = AppendChunk(dst[:0], data)
	}
}
