package http1_test

import (
	"fmt"

	"github.com/sluice-gw/sluice/http1"
)

// A proxy forwarding a chunked body: every consumed byte is forwarded verbatim, the decoded data
// is what the body holds, and the bytes after the message stay for the next request.
func ExampleChunkedDecoder() {
	in := []byte("5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\nGET /next HTTP/1.1\r\n")
	var d http1.ChunkedDecoder
	var forwarded, body []byte
	for !d.Done() {
		n, data, err := d.Decode(in)
		if err != nil {
			fmt.Println("close the connection:", err)
			return
		}
		if n == 0 {
			break // read more input
		}
		forwarded = append(forwarded, in[:n]...)
		body = append(body, data...)
		in = in[n:]
	}
	fmt.Printf("body %q, trailers %v, forwarded %d bytes, left %q\n", body, d.HasTrailers(), len(forwarded), in)
	// Output: body "hello world", trailers true, forwarded 43 bytes, left "GET /next HTTP/1.1\r\n"
}

func ExampleAppendChunk() {
	var out []byte
	out = http1.AppendChunk(out, []byte("hello"))
	out = http1.AppendChunk(out, []byte(" world, chunked"))
	out = http1.AppendLastChunk(out)
	fmt.Printf("%q\n", out)
	// Output: "5\r\nhello\r\nf\r\n world, chunked\r\n0\r\n\r\n"
}
