package gateway

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// tlsKeepAliveClient sends GETs over one TLS connection and reads each fixed-size answer into
// a reused buffer, so that what allocates is the gateway, not the client.
type tlsKeepAliveClient struct {
	c    *tls.Conn
	req  []byte
	resp []byte
	buf  []byte
}

func newTLSKeepAliveClient(tb testing.TB, f *tlsFixture) *tlsKeepAliveClient {
	c, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{RootCAs: f.ca.pool, ServerName: "gw.test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	k := &tlsKeepAliveClient{c: c, req: []byte("GET /bench HTTP/1.1\r\nHost: gw.test\r\n\r\n"), buf: make([]byte, 4096)}
	// Learn the answer's exact length from the first exchange.
	k.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(k.req); err != nil {
		tb.Fatal(err)
	}
	n, err := c.Read(k.buf)
	if err != nil || !bytes.Contains(k.buf[:n], []byte("\r\n\r\nok")) {
		tb.Fatalf("first answer: %v %q", err, k.buf[:n])
	}
	k.resp = append([]byte(nil), k.buf[:n]...)
	k.c.SetDeadline(time.Time{})
	return k
}

// do runs one exchange; the answer's X-Request-ID differs per request but not its length.
func (k *tlsKeepAliveClient) do(tb testing.TB) {
	if _, err := k.c.Write(k.req); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(k.c, k.buf[:len(k.resp)]); err != nil {
		tb.Fatal(err)
	}
}

// okUpstream answers every request head with a fixed 200 "ok", allocating nothing per
// request, so that allocation counts are the gateway's.
func okUpstream(tb testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 8192)
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
						if _, err := c.Write(answer); err != nil {
							return
						}
						have = copy(buf, buf[i+4:have])
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// BenchmarkTLSKeepAliveRequest is one request and answer over a keep-alive TLS connection
// through the stream driver (the net/http upstream is in the numbers too).
func BenchmarkTLSKeepAliveRequest(b *testing.B) {
	f := startTLSGateway(b, "", oneUpstream("", okUpstream(b)), nil)
	k := newTLSKeepAliveClient(b, f)
	b.ReportAllocs()
	b.SetBytes(int64(len(k.req) + len(k.resp)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.do(b)
	}
}
