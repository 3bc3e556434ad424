package bench

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"
)

// cannedConn answers every request written to it with the same response,
// in memory: it isolates the per-request work of the load loop (framing,
// parsing, recording) from the kernel.
type cannedConn struct {
	resp    []byte
	pending int
	out     []byte
	rpos    int
}

func newCannedConn(resp []byte, maxPipeline int) *cannedConn {
	return &cannedConn{resp: resp, out: make([]byte, 0, len(resp)*maxPipeline)}
}

func (c *cannedConn) Write(p []byte) (int, error) {
	c.pending += bytes.Count(p, []byte("\r\n\r\n"))
	return len(p), nil
}

func (c *cannedConn) Read(p []byte) (int, error) {
	if c.rpos == len(c.out) {
		c.out, c.rpos = c.out[:0], 0
		for ; c.pending > 0; c.pending-- {
			c.out = append(c.out, c.resp...)
		}
	}
	n := copy(p, c.out[c.rpos:])
	c.rpos += n
	return n, nil
}

func (c *cannedConn) Close() error                     { return nil }
func (c *cannedConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *cannedConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *cannedConn) SetDeadline(time.Time) error      { return nil }
func (c *cannedConn) SetReadDeadline(time.Time) error  { return nil }
func (c *cannedConn) SetWriteDeadline(time.Time) error { return nil }

var respCannedChunked = []byte("HTTP/1.1 200 OK\r\nServer: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")

func cannedExchange(tb testing.TB, resp []byte, pipeline int) (*conn, func()) {
	tb.Helper()
	_, reqs, err := BuildRequests([]string{"http://127.0.0.1:1/"}, "GET", nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	r := newRun(context.Background(), Config{Addr: "127.0.0.1:1", Requests: reqs, Connections: 1, Pipeline: pipeline, Timeout: time.Second, MaxRequests: 1})
	r.base = time.Now()
	c := r.conns[0]
	c.rbuf = make([]byte, readBufSize)
	c.nc = newCannedConn(resp, pipeline)
	k := int64(0)
	step := func() {
		c.batch = c.batch[:0]
		now := r.now()
		for range pipeline {
			c.batch = append(c.batch, pending{k: k, intended: now, measured: true})
			k++
		}
		c.exchange()
	}
	return c, step
}

func TestExchangeRecordsEveryPipelinedResponse(t *testing.T) {
	for _, resp := range [][]byte{respOK, respCannedChunked} {
		c, step := cannedExchange(t, resp, 8)
		for range 100 {
			step()
		}
		s := c.sh
		if s.status[200] != 800 || s.uncorrected.TotalCount() != 800 || c.r.failed.Load() != 0 {
			t.Errorf("status %v recorded %d failed %d, want 800 x 200", s.status, s.uncorrected.TotalCount(), c.r.failed.Load())
		}
		if s.bytesRead != int64(800*len(resp)) {
			t.Errorf("bytes read %d, want %d", s.bytesRead, 800*len(resp))
		}
	}
}

func BenchmarkExchange(b *testing.B) {
	for _, bc := range []struct {
		name     string
		resp     []byte
		pipeline int
	}{
		{"length/pipeline1", respOK, 1},
		{"length/pipeline16", respOK, 16},
		{"chunked/pipeline1", respCannedChunked, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			_, step := cannedExchange(b, bc.resp, bc.pipeline)
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.resp) * bc.pipeline))
			for b.Loop() {
				step()
			}
		})
	}
}

func BenchmarkClosedLoopLoopback(b *testing.B) {
	srv := newTestServer(b)
	addr, reqs, _ := BuildRequests([]string{srv.url("/ok")}, "GET", nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		run, err := Start(context.Background(), Config{Addr: addr, Requests: reqs, Connections: 4, Pipeline: 1, Timeout: time.Second, MaxRequests: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if res := run.Wait(); res.Requests != 1000 {
			b.Fatalf("%d responses", res.Requests)
		}
	}
}
