package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestOpenLeavesAnIdleReusableConnection(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c, err := open(addr, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The connection is still usable: a second request is answered.
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
		t.Errorf("second response %q, %v", buf[:n], err)
	}
}

func TestOpenRejectsNon200AndClose(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		w.WriteHeader(503)
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if c, err := open(addr, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), 5*time.Second); err == nil {
		c.Close()
		t.Error("a 503 with Connection: close was accepted as an idle connection")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	if _, err := open(dead, []byte("GET / HTTP/1.1\r\n\r\n"), time.Second); err == nil {
		t.Error("dial to a closed port succeeded")
	}
}
