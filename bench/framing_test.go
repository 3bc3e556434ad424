package bench

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// chunkConn serves fixed bytes in reads of at most step bytes, then EOF.
type chunkConn struct {
	cannedConn
	data []byte
	step int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.step, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func readerConn(data []byte, step int) *conn {
	r := newRun(context.Background(), Config{Addr: "127.0.0.1:1", Requests: []Request{{Raw: []byte("GET / HTTP/1.1\r\n\r\n")}}, Connections: 1, Pipeline: 1, Timeout: time.Second, MaxRequests: 1})
	r.base = time.Now()
	c := r.conns[0]
	c.rbuf = make([]byte, readBufSize)
	c.nc = &chunkConn{data: data, step: max(step, 1)}
	return c
}

func TestReadResponseFramesEveryBodyKindAtAnySplit(t *testing.T) {
	stream := string(respOK) + string(respChunked) + string(respInterim) + string(respMissing) +
		"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n" +
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n" + // no body (RFC 9110 §15.4.5)
		string(respEOF)
	want := []struct {
		status int
		close  bool
	}{{200, false}, {200, false}, {200, false}, {404, false}, {204, false}, {304, false}, {200, true}}
	for step := 1; step <= len(stream); step++ {
		c := readerConn([]byte(stream), step)
		for i, w := range want {
			status, closeAfter, err := c.readResponse(false)
			if err != nil || status != w.status || closeAfter != w.close {
				t.Fatalf("step %d, response %d: status %d close %v err %v; want %d %v", step, i, status, closeAfter, err, w.status, w.close)
			}
		}
	}
}

func TestReadResponseClassifiesTruncationAndGarbage(t *testing.T) {
	tests := []struct {
		name string
		data string
		want ErrorKind
	}{
		{"eof_before_head", "", ErrReset},
		{"eof_inside_head", "HTTP/1.1 200 OK\r\nContent-Le", ErrReset},
		{"eof_inside_body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", ErrReset},
		{"eof_inside_chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", ErrReset},
		{"not_http", "SSH-2.0-OpenSSH\r\n\r\n", ErrBadResponse},
		{"bad_chunk_size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", ErrBadResponse},
		{"length_and_chunked", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", ErrBadResponse},
		{"switching_protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n", ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := readerConn([]byte(tt.data), 7)
			_, _, err := c.readResponse(false)
			if err == nil {
				t.Fatal("accepted")
			}
			if got := classify(err); got != tt.want {
				t.Errorf("%v classified %v, want %v", err, got, tt.want)
			}
		})
	}
}

func TestHeadTooLargeForTheBufferIsABadResponse(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nX-Big: " + string(make([]byte, readBufSize)) + "\r\n\r\n"
	c := readerConn([]byte(big), 4096)
	_, _, err := c.readResponse(false)
	if err == nil || classify(err) != ErrBadResponse {
		t.Errorf("oversized head: %v", err)
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add([]byte(respOK), 3, false)
	f.Add([]byte(respChunked), 1, false)
	f.Add(append(append([]byte{}, respInterim...), respEOF...), 5, false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), 100, true)
	f.Fuzz(func(t *testing.T, data []byte, step int, head bool) {
		if step < 1 || step > 1<<16 {
			step = 1 + (step&0x7fffffff)%4096
		}
		c := readerConn(data, step)
		var _ net.Conn = c.nc
		// Each success consumes at least a status line; the stream is
		// finite, so this loop ends.
		for range len(data) + 1 {
			status, closeAfter, err := c.readResponse(head)
			if err != nil {
				return
			}
			if status < 200 || status > 999 {
				t.Fatalf("final status %d", status)
			}
			if closeAfter {
				return
			}
		}
		t.Fatal("more responses than bytes")
	})
}
