//go:build linux

package main

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// TestRelayCopiesBothWaysAndClosesThePair relays to an echo server: a message comes back
// intact through two connections per client, and when the upstream closes the client sees EOF.
func TestRelayCopiesBothWaysAndClosesThePair(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 5) // echo one 5-byte message, then close
				if _, err := io.ReadFull(c, buf); err == nil {
					c.Write(buf)
				}
			}()
		}
	}()
	s, err := start("127.0.0.1:0", up.Addr().String(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for i := 0; i < 3; i++ {
		c, err := net.DialTimeout("tcp", s.Addrs()[0].String(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(c) // the echo, then EOF once the upstream closed
		c.Close()
		if err != nil || !bytes.Equal(got, []byte("hello")) {
			t.Fatalf("client %d read %q, %v; want hello then EOF", i, got, err)
		}
	}
}
