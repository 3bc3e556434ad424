package bench

import (
	"bytes"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testServer is a loopback HTTP/1.1 server whose behaviour is chosen by the
// request path, so a test knows exactly which outcome each request has:
//
//	/ok /missing /fail   200, 404, 500 with a Content-Length body
//	/chunked             200 with a chunked body and a trailer
//	/close               200, then the server closes (Connection: close)
//	/eof                 200 framed by the close (no length)
//	/reset               the connection is reset (RST) instead of answered
//	/hang                never answered
//	/garbage             bytes that are not an HTTP response
//	/interim             103 Early Hints, then 200
//
// stall, when set, is consulted per request with the server-wide request
// sequence number: a non-zero duration pauses every connection's answers
// until that much time has passed.
type testServer struct {
	t        testing.TB
	ln       net.Listener
	addr     string
	seq      atomic.Int64
	accepted atomic.Int64
	stall    func(seq int64) time.Duration
	pauseMu  sync.Mutex
	pauseTo  time.Time
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

func newTestServer(t testing.TB) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{t: t, ln: ln, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return s
}

func (s *testServer) url(path string) string { return "http://" + s.addr + path }

func (s *testServer) close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *testServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go s.serve(c)
	}
}

func respond(code int, body string) []byte {
	return []byte("HTTP/1.1 " + strconv.Itoa(code) + " X\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

var (
	respOK      = respond(200, "hello")
	respMissing = respond(404, "no such thing")
	respFail    = respond(500, "")
	respChunked = []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n")
	respClose   = []byte("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
	respEOF     = []byte("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until the end")
	respInterim = []byte("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
)

func (s *testServer) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}()
	buf := make([]byte, 0, 16<<10)
	tmp := make([]byte, 16<<10)
	for {
		n, err := c.Read(tmp)
		if n == 0 && err != nil {
			return
		}
		buf = append(buf, tmp[:n]...)
		var out []byte
		for {
			end := bytes.Index(buf, []byte("\r\n\r\n"))
			if end < 0 {
				break
			}
			line, _, _ := bytes.Cut(buf, []byte("\r\n"))
			fields := bytes.Fields(line)
			head := buf[:end+4]
			if body := contentLengthOf(head); body > 0 {
				if len(buf) < end+4+body {
					break // wait for the body
				}
				end += body
			}
			buf = buf[end+4:]
			path := ""
			if len(fields) == 3 {
				path = string(fields[1])
			}
			seq := s.seq.Add(1)
			s.pause(seq)
			if len(fields) == 3 && string(fields[0]) == "HEAD" {
				// RFC 9110 §9.3.2: the head a GET would get, without body.
				out = append(out, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"...)
				continue
			}
			switch path {
			case "/ok":
				out = append(out, respOK...)
			case "/missing":
				out = append(out, respMissing...)
			case "/fail":
				out = append(out, respFail...)
			case "/chunked":
				out = append(out, respChunked...)
			case "/interim":
				out = append(out, respInterim...)
			case "/close", "/eof":
				resp := respClose
				if path == "/eof" {
					resp = respEOF
				}
				c.Write(append(out, resp...))
				return
			case "/reset":
				if len(out) > 0 {
					c.Write(out)
				}
				c.(*net.TCPConn).SetLinger(0) // close sends RST
				return
			case "/hang":
				if len(out) > 0 {
					c.Write(out)
				}
				c.Read(tmp) // until the client gives up
				return
			case "/garbage":
				c.Write(append(out, "SMTP ready\r\n\r\n"...))
				c.Read(tmp)
				return
			default:
				out = append(out, respond(400, "")...)
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// pause applies the stall hook: it may open a pause window, and waits out
// any window in force, so all connections stall together.
func (s *testServer) pause(seq int64) {
	s.pauseMu.Lock()
	if s.stall == nil {
		s.pauseMu.Unlock()
		return
	}
	if d := s.stall(seq); d > 0 {
		s.pauseTo = time.Now().Add(d)
	}
	until := s.pauseTo
	s.pauseMu.Unlock()
	if d := time.Until(until); d > 0 {
		time.Sleep(d)
	}
}

// setStall installs the stall hook (see testServer) safely while serving.
func (s *testServer) setStall(f func(seq int64) time.Duration) {
	s.pauseMu.Lock()
	s.stall = f
	s.pauseMu.Unlock()
}

func contentLengthOf(head []byte) int {
	for _, line := range bytes.Split(head, []byte("\r\n")) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && bytes.EqualFold(name, []byte("Content-Length")) {
			n, _ := strconv.Atoi(string(bytes.TrimSpace(value)))
			return n
		}
	}
	return 0
}
