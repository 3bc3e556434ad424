package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// scriptedTarget answers every connection with reply after reading the request head, and
// reports each request head it read.
func scriptedTarget(t *testing.T, reply string) (string, <-chan string) {
	t.Helper()
	heads := make(chan string, 16)
	up := startRawUpstream(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := br.ReadString('\n')
			head.WriteString(line)
			if err != nil || line == "\r\n" {
				break
			}
		}
		select {
		case heads <- head.String():
		default:
		}
		c.Write([]byte(reply))
	})
	return up.Addr, heads
}

func TestProbeHTTPReadsTheFinalStatus(t *testing.T) {
	for _, tc := range []struct {
		name, reply string
		status      int
		fails       bool
	}{
		{"ok", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false},
		{"unavailable", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 503, false},
		{"a redirect is an answer", "HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n", 302, false},
		{"interim answers first", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 204, false},
		{"HTTP/1.0 and a close-delimited body", "HTTP/1.0 200 OK\r\n\r\nbody until close", 200, false},
		{"malformed status line", "HTTP/1.1 2OO OK\r\n\r\n", 0, true},
		{"not HTTP at all", "SSH-2.0-OpenSSH_9.2\r\n", 0, true},
		{"a head that never ends", "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 100)+"\r\n", 200), 0, true},
		{"closed before a head", "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, heads := scriptedTarget(t, tc.reply)
			status, err := probeHTTP(addr, probeRequest(addr, "/healthz"), 2*time.Second, nil)
			if tc.fails {
				if err == nil {
					t.Fatalf("status %d, want an error", status)
				}
				return
			}
			if err != nil || status != tc.status {
				t.Fatalf("status %d, err %v; want %d", status, err, tc.status)
			}
			head := <-heads
			if !strings.HasPrefix(head, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n") || !strings.Contains(head, "Connection: close\r\n") {
				t.Fatalf("request head %q", head)
			}
		})
	}
}

func TestProbeHTTPIsBoundedByTheTimeoutAndStop(t *testing.T) {
	// A target that accepts and never answers.
	addr := startRawUpstream(t, func(c net.Conn) { io.Copy(io.Discard, c) }).Addr
	start := time.Now()
	if _, err := probeHTTP(addr, probeRequest(addr, "/"), 200*time.Millisecond, nil); err == nil {
		t.Fatal("a silent target passed")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the check took %v with a 200ms timeout", d)
	}
	stop := make(chan struct{})
	time.AfterFunc(100*time.Millisecond, func() { close(stop) })
	start = time.Now()
	if _, err := probeHTTP(addr, probeRequest(addr, "/"), time.Minute, stop); err == nil {
		t.Fatal("a stopped check passed")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stop took %v to end the check", d)
	}
	// Nothing listens: refused.
	ln2, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln2.Addr().String()
	ln2.Close()
	if _, err := probeHTTP(dead, probeRequest(dead, "/"), time.Second, nil); err == nil {
		t.Fatal("a refused connection passed")
	}
}

// BenchmarkHealthProbe is one active check on loopback, netpoll with our parser against the
// net/http client it replaced (both a fresh connection per check).
func BenchmarkHealthProbe(b *testing.B) {
	up := startHTTPUpstream(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req := probeRequest(up.Addr, "/healthz")
	b.Run("netpoll", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if st, err := probeHTTP(up.Addr, req, time.Second, nil); err != nil || st != 200 {
				b.Fatal(st, err)
			}
		}
	})
	b.Run("net-http", func(b *testing.B) {
		b.ReportAllocs()
		cl := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		for i := 0; i < b.N; i++ {
			resp, err := cl.Get("http://" + up.Addr + "/healthz")
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
		}
	})
}
