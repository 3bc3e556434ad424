package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func startServe(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c, resp)
		}
	}()
	return ln.Addr().String()
}

func TestServeAnswersPipelinedRequestsAndSkipsBodies(t *testing.T) {
	addr := startServe(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	// The POST body looks like a request: it must be skipped, not answered.
	reqs := "GET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /b HTTP/1.1\r\nHost: x\r\ncontent-length: 28\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n" +
		"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	if _, err := io.WriteString(c, reqs); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	for i := range 3 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != "ok" {
			t.Fatalf("response %d: %d %q", i, resp.StatusCode, body)
		}
	}
	// Connection: close on the third request ends the connection.
	if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("after the close request: %d bytes, %v; want EOF", n, err)
	}
}

func TestHeaderLookupIgnoresCase(t *testing.T) {
	head := []byte("GET / HTTP/1.1\r\nCONTENT-LENGTH:  12 \r\nconnection: Close\r\n")
	if n := contentLength(head); n != 12 {
		t.Errorf("content length %d, want 12", n)
	}
	if !hasConnectionClose(head) {
		t.Error("Connection: Close not seen")
	}
	if contentLength([]byte("GET / HTTP/1.1\r\nX-Content-Length: 5\r\n")) != 0 {
		t.Error("X-Content-Length taken for Content-Length")
	}
}
