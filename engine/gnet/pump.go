package gnet

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"

	"github.com/sluice-gw/sluice/engine"
)

// gnet reads every readable socket into its own buffers and offers no way to stop, so a fast
// sender facing a slow receiver would be buffered without bound. The first PauseRead moves the
// connection's socket off gnet into "pump mode": a reader goroutine that reads only while the
// loop wants bytes (real TCP backpressure), and a writer goroutine that drains a queue, both
// handing their results to the loop with Execute. The handler keeps the same engine.Conn and
// sees the same contract; pump mode costs goroutines and copies, which is why only paused
// connections pay it.

// pumpReadCap bounds the bytes read ahead of what the loop consumed.
const pumpReadCap = 64 << 10

type pump struct {
	c  *conn
	nc net.Conn

	mu       sync.Mutex
	cond     *sync.Cond
	paused   bool
	ahead    int // bytes delivered to the loop and not yet discarded
	stopping bool

	quit chan struct{} // closed by pumpClose

	wmu   sync.Mutex
	wcond *sync.Cond
	wstop bool   // the writer's own stop flag, under wmu
	wbuf  []byte // bytes queued for the writer
	spare []byte // the writer's previous batch, reused
	// queued and full live under wmu with the queue: the loop that sees the backlog above the
	// high watermark and the writer that drains it below the low one must agree on whether
	// an OnWritable is owed. With separate atomics the writer could clear full on a stale
	// count while the loop saw the queue full again, and that OnWritable was lost: a
	// stalled stream under CPU contention.
	queued   int
	full     bool // the loop saw queued above the high watermark; OnWritable owed
	finWrite bool // shut down the write side once the queue is empty
	werr     error
}

// enterPump switches c to pump mode, paused. It fails (and changes nothing) while gnet still
// holds queued outbound bytes, which a closed gnet connection would lose.
func (c *conn) enterPump() error {
	if err := c.gc.Flush(); err != nil {
		return err
	}
	if c.gc.OutboundBuffered() > 0 {
		return engine.ErrNotSupported
	}
	fd, err := c.gc.Dup()
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), "pump")
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		return err
	}
	p := &pump{c: c, nc: nc, paused: true, quit: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	p.wcond = sync.NewCond(&p.wmu)
	in, _ := c.gc.Peek(-1)
	c.pumpAppend(in)
	p.ahead = len(c.pbuf)
	c.pm = p
	c.l.pumps = append(c.l.pumps, c)
	c.detached = true // gnet's OnClose for its copy is not ours to report
	_ = c.l.el.Close(c.gc)
	go p.read()
	go p.write()
	return nil
}

func (p *pump) setPaused(paused bool) {
	p.mu.Lock()
	p.paused = paused
	p.mu.Unlock()
	p.cond.Broadcast()
}

// consumed is called on the loop after Discard.
func (p *pump) consumed(n int) {
	p.mu.Lock()
	p.ahead -= n
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *pump) read() {
	buf := make([]byte, 32<<10)
	free := make(chan struct{}, 1)
	for {
		p.mu.Lock()
		for !p.stopping && (p.paused || p.ahead >= pumpReadCap) {
			p.cond.Wait()
		}
		if p.stopping {
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		n, err := p.nc.Read(buf)
		if n > 0 {
			p.mu.Lock()
			p.ahead += n
			p.mu.Unlock()
		}
		c := p.c
		// The loop copies buf[:n] into the connection's buffer and hands buf back: one read
		// buffer per pumped connection, no garbage per read.
		if xerr := c.l.Execute(func() {
			c.pumpDeliver(buf[:n], err)
			free <- struct{}{}
		}); xerr != nil {
			return
		}
		select {
		case <-free:
		case <-p.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

// pumpDeliver runs on the loop with bytes the reader got, or the error that ended reading.
func (c *conn) pumpDeliver(data []byte, err error) {
	if c.closed {
		return
	}
	c.pumpAppend(data)
	if len(data) > 0 {
		c.l.s.h.OnData(c)
	}
	if err != nil && !c.closed {
		if errors.Is(err, net.ErrClosed) {
			err = io.EOF
		}
		c.pumpClose(err)
	}
}

// pumpAppend adds bytes behind the unconsumed ones, moving those to the front of one reused
// array, so a stream through pump mode makes no garbage per read.
func (c *conn) pumpAppend(data []byte) {
	if len(data) == 0 {
		return
	}
	if need := len(c.pbuf) + len(data); need > cap(c.pbufArr) {
		c.pbufArr = make([]byte, 0, max(2*cap(c.pbufArr), need))
	}
	n := copy(c.pbufArr[:len(c.pbuf)], c.pbuf)
	c.pbuf = append(c.pbufArr[:n], data...)
}

func (p *pump) write() {
	for {
		p.wmu.Lock()
		for len(p.wbuf) == 0 && !p.finWrite && !p.wstop {
			p.wcond.Wait()
		}
		if p.wstop {
			p.wmu.Unlock()
			return
		}
		if len(p.wbuf) == 0 {
			p.finWrite = false
			p.wmu.Unlock()
			if tc, ok := p.nc.(interface{ CloseWrite() error }); ok {
				_ = tc.CloseWrite()
			}
			continue
		}
		out := p.wbuf
		p.wbuf = p.spare[:0]
		p.wmu.Unlock()
		_, err := p.nc.Write(out)
		p.wmu.Lock()
		p.spare = out[:0]
		p.queued -= len(out)
		owed := p.full && p.queued <= p.c.l.s.opts.LowWatermark
		if owed {
			p.full = false
		}
		p.wmu.Unlock()
		c := p.c
		if err != nil {
			p.wmu.Lock()
			p.werr = err
			p.wmu.Unlock()
			_ = c.l.Execute(func() {
				if !c.closed {
					c.pumpClose(err)
				}
			})
			return
		}
		if owed {
			_ = c.l.Execute(func() {
				if !c.closed {
					c.l.s.h.OnWritable(c)
				}
			})
		}
	}
}

// pumpWrite queues bytes for the writer goroutine.
func (c *conn) pumpWrite(a, b []byte) error {
	p := c.pm
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.werr != nil {
		return p.werr
	}
	p.wbuf = append(append(p.wbuf, a...), b...)
	p.queued += len(a) + len(b)
	if p.queued > c.l.s.opts.HighWatermark {
		p.full = true
	}
	p.wcond.Signal()
	return nil
}

// backlog is the queue's size as the loop sees it; a backlog above the high watermark owes
// the handler an OnWritable once it drains, whether or not a write of its own crossed it.
func (p *pump) backlog() int {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if p.queued > p.c.l.s.opts.HighWatermark {
		p.full = true
	}
	return p.queued
}

// pumpCloseWrite sends FIN once the queue is written.
func (c *conn) pumpCloseWrite() {
	p := c.pm
	p.wmu.Lock()
	p.finWrite = true
	p.wmu.Unlock()
	p.wcond.Signal()
}

// pumpClose ends pump mode: the goroutines stop, the socket closes, the handler is told.
func (c *conn) pumpClose(err error) {
	c.closed = true
	p := c.pm
	p.mu.Lock()
	p.stopping = true
	p.mu.Unlock()
	p.cond.Broadcast()
	p.wmu.Lock()
	p.wstop = true
	p.wmu.Unlock()
	p.wcond.Broadcast()
	close(p.quit)
	_ = p.nc.Close()
	for i, pc := range c.l.pumps {
		if pc == c {
			c.l.pumps[i] = c.l.pumps[len(c.l.pumps)-1]
			c.l.pumps[len(c.l.pumps)-1] = nil
			c.l.pumps = c.l.pumps[:len(c.l.pumps)-1]
			break
		}
	}
	if !c.notified {
		c.notified = true
		c.l.s.h.OnClose(c, err)
	}
	c.pbuf = nil
}
