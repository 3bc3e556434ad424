//go:build linux

package epoll

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/engine"
)

// echoHandler echoes complete messages of msgSize bytes (everything when msgSize is 0),
// leaving partial ones buffered; split sends each echo as head+body through Write2.
type echoHandler struct {
	msgSize int
	split   bool
	opens   atomic.Int64
	closes  atomic.Int64
}

func (h *echoHandler) OnOpen(engine.Conn) { h.opens.Add(1) }
func (h *echoHandler) OnData(c engine.Conn) {
	for {
		p := c.Peek()
		n := len(p)
		if h.msgSize > 0 {
			if n < h.msgSize {
				return
			}
			n = h.msgSize
		}
		if n == 0 {
			return
		}
		var err error
		if h.split && n > 1 {
			err = c.Write2(p[:n/2], p[n/2:n])
		} else {
			err = c.Write(p[:n])
		}
		if err != nil {
			return
		}
		c.Discard(n)
	}
}
func (h *echoHandler) OnWritable(engine.Conn)     {}
func (h *echoHandler) OnClose(engine.Conn, error) { h.closes.Add(1) }
func (h *echoHandler) OnTick(engine.Loop, int64)  {}

func startEcho(tb testing.TB, h engine.Handler, loops int) (engine.Server, string) {
	tb.Helper()
	s, err := Start(h, []string{"127.0.0.1:0"}, engine.Options{Loops: loops})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Stop() })
	return s, s.Addrs()[0].String()
}

func dialClients(tb testing.TB, addr string, n int) []net.Conn {
	tb.Helper()
	cs := make([]net.Conn, n)
	for i := range cs {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { c.Close() })
		cs[i] = c
	}
	return cs
}

// pingOnce sends msg and reads the echo into buf; parts > 1 sends msg in that many writes.
func pingOnce(c net.Conn, msg, buf []byte, parts int) error {
	step := (len(msg) + parts - 1) / parts
	for p := msg; len(p) > 0; {
		k := min(step, len(p))
		if _, err := c.Write(p[:k]); err != nil {
			return err
		}
		p = p[k:]
	}
	if _, err := io.ReadFull(c, buf); err != nil {
		return err
	}
	if !bytes.Equal(buf, msg) {
		return io.ErrUnexpectedEOF
	}
	return nil
}
