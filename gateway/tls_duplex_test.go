package gateway

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestTLSFullDuplexEchoDoesNotStall: an upstream that echoes the body while still reading it
// needs its answer drained while the gateway is still writing the request to it. With writes
// that block the session, both sides fill their socket buffers and stall; the stream driver's
// queued writes keep both directions moving.
func TestTLSFullDuplexEchoDoesNotStall(t *testing.T) {
	const size = 32 << 20
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				req, err := http.ReadRequest(br)
				if err != nil {
					return
				}
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", req.ContentLength)
				io.Copy(c, req.Body) // echo while reading: full duplex, no buffering
			}()
		}
	}()
	f := startTLSGateway(t, "", oneUpstream("    response_timeout: 60s\n    read_timeout: 60s\n", ln.Addr().String()), nil)
	c, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{RootCAs: f.ca.pool, ServerName: "gw.test"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	go func() {
		io.WriteString(c, "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(size)+"\r\n\r\n")
		buf := make([]byte, 64<<10)
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil || n != size {
		t.Fatalf("echoed %d of %d bytes: %v after %v", n, size, err, time.Since(start))
	}
	t.Logf("32 MiB full-duplex echo in %v", time.Since(start))
}
