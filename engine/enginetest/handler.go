package enginetest

import (
	"bytes"
	"runtime"
	"strconv"

	"github.com/sluice-gw/sluice/engine"
)

// handler is an engine.Handler assembled from optional functions, one per test.
type handler struct {
	open     func(c engine.Conn)
	data     func(c engine.Conn)
	writable func(c engine.Conn)
	close    func(c engine.Conn, err error)
	tick     func(l engine.Loop, now int64)
}

func (h *handler) OnOpen(c engine.Conn) {
	if h.open != nil {
		h.open(c)
	}
}

func (h *handler) OnData(c engine.Conn) {
	if h.data != nil {
		h.data(c)
	}
}

func (h *handler) OnWritable(c engine.Conn) {
	if h.writable != nil {
		h.writable(c)
	}
}

func (h *handler) OnClose(c engine.Conn, err error) {
	if h.close != nil {
		h.close(c, err)
	}
}

func (h *handler) OnTick(l engine.Loop, now int64) {
	if h.tick != nil {
		h.tick(l, now)
	}
}

// echo writes back everything buffered and consumes it.
func echo(c engine.Conn) {
	p := c.Peek()
	if len(p) == 0 {
		return
	}
	if err := c.Write(p); err != nil {
		return
	}
	c.Discard(len(p))
}

// line returns the first '\n'-terminated line buffered (without the '\n'), or ok == false.
func line(c engine.Conn) (s string, n int, ok bool) {
	p := c.Peek()
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return "", 0, false
	}
	return string(p[:i]), i + 1, true
}

// goid is the current goroutine's id, parsed from its stack header ("goroutine 17 [...").
// Only tests use it: to prove that a callback ran on the loop's goroutine.
func goid() uint64 {
	var b [64]byte
	n := runtime.Stack(b[:], false)
	f := bytes.Fields(b[:n])
	if len(f) < 2 {
		return 0
	}
	id, _ := strconv.ParseUint(string(f[1]), 10, 64)
	return id
}

// pattern fills p with a byte sequence that depends on the offset, so reordered, lost or
// duplicated bytes are detected.
func pattern(p []byte, off int) {
	for i := range p {
		x := uint32(off + i)
		p[i] = byte(x ^ x>>8 ^ x>>16)
	}
}
