package gateway

import (
	"bytes"
	"io"
	"net"
	"testing"

	"github.com/sluice-gw/sluice/http1"
)

// fastUpstream answers every request head with a fixed response, allocating nothing per request.
func fastUpstream(t testing.TB) *rawServer {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n")
	return startRawUpstream(t, func(c net.Conn) {
		buf := make([]byte, 64<<10)
		have := 0
		for {
			n, err := c.Read(buf[have:])
			if err != nil {
				return
			}
			have += n
			for {
				i := bytes.Index(buf[:have], []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
				have = copy(buf, buf[i+4:have])
			}
		}
	})
}

// roundTripper sends one fixed request and reads one response with the project's parser.
type roundTripper struct {
	c    net.Conn
	req  []byte
	buf  []byte
	have int
	resp http1.Response
}

func newRoundTripper(t testing.TB, addr string) *roundTripper {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &roundTripper{
		c:   c,
		req: []byte("GET /api/v1/users/42?fields=name HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: bench\r\nAccept: application/json\r\n\r\n"),
		buf: make([]byte, 64<<10),
	}
}

func (rt *roundTripper) do() error {
	if _, err := rt.c.Write(rt.req); err != nil {
		return err
	}
	for {
		rt.resp.Reset()
		n, err := http1.ParseResponse(rt.buf[:rt.have], &rt.resp)
		if err == nil {
			total := n + int(rt.resp.ContentLength())
			if rt.have >= total {
				rt.have = copy(rt.buf, rt.buf[total:rt.have])
				if rt.resp.Status() != 200 {
					return io.ErrUnexpectedEOF
				}
				return nil
			}
		} else if err != http1.ErrNeedMore {
			return err
		}
		m, err := rt.c.Read(rt.buf[rt.have:])
		if err != nil {
			return err
		}
		rt.have += m
	}
}

// BenchmarkProxyRequest is one keep-alive request through the whole gateway over loopback:
// client -> engine -> session -> pooled upstream -> client, on each backend.
func BenchmarkProxyRequest(b *testing.B) {
	for _, engine := range backends() {
		b.Run(engine, func(b *testing.B) {
			up := fastUpstream(b)
			_, addr := startGateway(b, engine, oneUpstream("", up.Addr))
			rt := newRoundTripper(b, addr)
			for i := 0; i < 100; i++ { // warm the pools and buffers
				if err := rt.do(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := rt.do(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
