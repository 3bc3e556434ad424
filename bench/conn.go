package bench

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/http1"
)

// readBufSize is large so a read returns many pipelined responses at once and
// a typical response head never needs a second read.
const readBufSize = 64 << 10

// pending is one request written and not yet answered.
type pending struct {
	k        int64 // request index (rotation and schedule)
	intended int64 // ns since Run.base; equals sent in the closed loop
	measured bool
	head     bool
}

// conn is one keep-alive connection and the goroutine that drives it.
type conn struct {
	r      *Run
	id     int
	sh     *shard
	mu     sync.Mutex // guards nc and stopped against shutdown
	nc     net.Conn
	stop   bool
	rbuf   []byte
	rs     int // unparsed bytes are rbuf[rs:re]
	re     int
	wbuf   []byte
	batch  []pending
	parser responseParser
	chunk  http1.ChunkedDecoder
	pace   *pacer
	warm   int64 // closed-loop warmup request counter, for the rotation
	// measuring says whether bytes moved now count toward the result.
	measuring bool
	// readAt is when the last read returned (ns since Run.base): every
	// response completed from that read's bytes completed then.
	readAt int64
	// busySince is the send time of the exchange in flight (ns since
	// Run.base, at least 1), 0 when idle; the watchdog reads it.
	busySince atomic.Int64
	// timedOut is set by the watchdog when it expired the exchange.
	timedOut atomic.Bool
}

// expire makes the blocked read or write of the exchange sent at since fail
// now, unless that exchange already ended.
func (c *conn) expire(since int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.nc != nil && c.busySince.Load() == since {
		c.timedOut.Store(true)
		c.nc.SetDeadline(time.Unix(1, 0))
	}
}

func newConn(r *Run, id int, sh *shard) *conn {
	return &conn{r: r, id: id, sh: sh, batch: make([]pending, 0, r.cfg.Pipeline)}
}

func (c *conn) dial() error {
	nc, err := c.r.cfg.Dial(c.r.ctx, c.r.cfg.Addr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop {
		nc.Close()
		return net.ErrClosed
	}
	c.nc = nc
	c.rs, c.re = 0, 0
	c.timedOut.Store(false)
	return nil
}

func (c *conn) closeConn() {
	c.mu.Lock()
	if c.nc != nil {
		c.nc.Close()
		c.nc = nil
	}
	c.mu.Unlock()
}

// shutdown is called from another goroutine to unblock the loop.
func (c *conn) shutdown() {
	c.mu.Lock()
	c.stop = true
	if c.nc != nil {
		c.nc.Close()
	}
	if c.pace != nil {
		c.pace.close()
	}
	c.mu.Unlock()
}

func (c *conn) loop() {
	defer c.r.wg.Done()
	defer c.closeConn()
	c.rbuf = make([]byte, readBufSize)
	if c.r.open {
		c.mu.Lock()
		if c.stop {
			c.mu.Unlock()
			return
		}
		c.pace = newPacer()
		c.mu.Unlock()
		defer c.pace.close()
		c.openLoop()
	} else {
		c.closedLoop()
	}
}

// claim takes up to n measured request indices from the shared counter so
// that a --requests bound is met exactly across connections.
func (c *conn) claim(n int64) (first, got int64) {
	limit := c.r.cfg.MaxRequests
	if limit == 0 {
		return c.r.claimed.Add(n) - n, n
	}
	if c.r.claimed.Load() >= limit {
		return 0, 0
	}
	end := c.r.claimed.Add(n)
	first = end - n
	if first >= limit {
		return 0, 0
	}
	return first, min(n, limit-first)
}

func (c *conn) closedLoop() {
	r := c.r
	pipe := int64(r.cfg.Pipeline)
	// now is the end of the previous exchange: the next one starts at once,
	// so reading the clock again would only cost time.
	now := r.now()
	for r.ctx.Err() == nil {
		if r.end > 0 && now >= r.end {
			return
		}
		c.batch = c.batch[:0]
		if now < r.measureStart {
			for range pipe {
				c.batch = append(c.batch, pending{k: c.warm, intended: -1})
				c.warm++
			}
		} else {
			first, n := c.claim(pipe)
			if n == 0 {
				return
			}
			for i := range n {
				c.batch = append(c.batch, pending{k: first + i, intended: -1, measured: true})
			}
		}
		now = c.exchange()
	}
}

func (c *conn) openLoop() {
	r := c.r
	stride := int64(r.cfg.Connections)
	k := int64(c.id)
	for r.ctx.Err() == nil {
		c.batch = c.batch[:0]
		// Collect every request of this connection that is due, up to the
		// pipeline depth; if none is due, sleep until the next one.
		for len(c.batch) < cap(c.batch) {
			m := k - r.warmupCount
			if r.cfg.MaxRequests > 0 && m >= r.cfg.MaxRequests {
				break
			}
			due := r.intended(k)
			if r.end > 0 && due >= r.end {
				break
			}
			if len(c.batch) == 0 {
				c.pace.sleep(time.Duration(due - r.now()))
			} else if due > r.now() {
				break
			}
			c.batch = append(c.batch, pending{k: k, intended: due, measured: m >= 0})
			k += stride
		}
		if len(c.batch) == 0 {
			return
		}
		c.exchange()
	}
}

// exchange writes c.batch and reads one response per request, recording each
// outcome. On a connection error every unanswered request of the batch fails
// with that error's kind and the connection is dropped (it is redialled by the
// next exchange). A pending intended time of -1 means "when sent" (closed
// loop). It returns the time the exchange ended.
func (c *conn) exchange() int64 {
	r := c.r
	c.measuring = c.batch[0].measured
	if c.nc == nil {
		if err := c.dial(); err != nil {
			c.fail(0, ErrConnect)
			return r.now()
		}
	}
	c.wbuf = c.wbuf[:0]
	reqs := r.cfg.Requests
	for i := range c.batch {
		q := &reqs[c.batch[i].k%int64(len(reqs))]
		c.batch[i].head = q.Head
		c.wbuf = append(c.wbuf, q.Raw...)
	}
	sent := r.now()
	for i := range c.batch {
		if c.batch[i].intended < 0 {
			c.batch[i].intended = sent
		}
	}
	c.busySince.Store(max(sent, 1))
	defer c.busySince.Store(0)
	n, err := c.nc.Write(c.wbuf)
	if c.measuring {
		c.sh.mu.Lock()
		c.sh.bytesWritten += int64(n)
		c.sh.mu.Unlock()
	}
	if err != nil {
		c.fail(0, c.classify(err))
		return r.now()
	}
	c.readAt = sent
	for i := range c.batch {
		p := &c.batch[i]
		status, closeAfter, err := c.readResponse(p.head)
		if err != nil {
			c.fail(i, c.classify(err))
			return r.now()
		}
		c.record(p, sent, c.readAt, status)
		if closeAfter {
			c.closeConn()
			if i+1 < len(c.batch) {
				// The server announced close: the requests pipelined after
				// this one will never be answered.
				c.fail(i+1, ErrReset)
			}
			return c.readAt
		}
	}
	return c.readAt
}

// classify names the kind of a connection error, taking a watchdog expiry
// as a timeout whatever error it surfaced as.
func (c *conn) classify(err error) ErrorKind {
	if c.timedOut.Swap(false) {
		return ErrTimeout
	}
	return classify(err)
}

func (c *conn) record(p *pending, sent, done int64, status int) {
	c.r.record(c.sh, p, sent, done, status)
}

// fail records batch[from:] as failed with kind and drops the connection.
func (c *conn) fail(from int, kind ErrorKind) {
	c.closeConn()
	c.r.fail(c.sh, c.batch[from:], kind)
}

// record counts one response of request p, sent at sent and complete at
// done (ns since base), into shard s.
func (r *Run) record(s *shard, p *pending, sent, done int64, status int) {
	if !p.measured || r.ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	recordUS(s.uncorrected, done-sent)
	if r.open {
		recordUS(s.corrected, done-p.intended)
		if sent-p.intended > int64(lateAfter) {
			s.late++
		}
	}
	s.status[status]++
	s.lastDone = max(s.lastDone, done)
	s.mu.Unlock()
	r.done.Add(1)
}

// fail counts the measured requests of batch as failed with kind.
func (r *Run) fail(s *shard, batch []pending, kind ErrorKind) {
	if r.ctx.Err() != nil {
		return // cancelled: the errors are ours, not the server's
	}
	n := int64(0)
	for i := range batch {
		if batch[i].measured {
			n++
		}
	}
	if n == 0 {
		return
	}
	done := r.now()
	s.mu.Lock()
	s.errors[kind] += n
	s.lastDone = max(s.lastDone, done)
	s.mu.Unlock()
	r.failed.Add(n)
}

// fill reads more bytes into rbuf, compacting first when the free tail is
// gone. A full buffer of unparsed bytes is a head larger than rbuf.
func (c *conn) fill() error {
	if c.rs == c.re {
		c.rs, c.re = 0, 0
	} else if c.re == len(c.rbuf) {
		if c.rs == 0 {
			return errHeadTooLarge
		}
		c.re = copy(c.rbuf, c.rbuf[c.rs:c.re])
		c.rs = 0
	}
	n, err := c.nc.Read(c.rbuf[c.re:])
	c.readAt = c.r.now()
	c.re += n
	if n > 0 && c.measuring {
		c.sh.mu.Lock()
		c.sh.bytesRead += int64(n)
		c.sh.mu.Unlock()
	}
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// readResponse reads one final response and discards its body. 1xx interim
// responses are skipped (RFC 9110 §15.2).
func (c *conn) readResponse(isHead bool) (status int, closeAfter bool, err error) {
	for {
		h, err := c.parser.parse(c.rbuf[c.rs:c.re], isHead)
		if err == http1.ErrNeedMore {
			if err := c.fill(); err != nil {
				if err == io.EOF && c.rs < c.re {
					err = io.ErrUnexpectedEOF
				}
				return 0, false, err
			}
			continue
		}
		if err != nil {
			return 0, false, badResponse{err}
		}
		c.rs += h.size
		if h.status < 100 || h.status > 999 {
			return 0, false, badResponse{errors.New("bench: status code out of range")}
		}
		if h.status < 200 {
			if h.status == 101 {
				return 0, false, badResponse{errors.New("bench: unexpected 101 Switching Protocols")}
			}
			continue
		}
		switch h.framing {
		case bodyLength:
			for remain := h.length; remain > 0; {
				if c.rs == c.re {
					if err := c.fill(); err != nil {
						return 0, false, eofIsUnexpected(err)
					}
				}
				k := min(int64(c.re-c.rs), remain)
				c.rs += int(k)
				remain -= k
			}
		case bodyChunked:
			c.chunk.Reset()
			for !c.chunk.Done() {
				// Decode validates framing in place; the body bytes it
				// points at are discarded.
				n, _, err := c.chunk.Decode(c.rbuf[c.rs:c.re])
				c.rs += n
				if err != nil {
					return 0, false, badResponse{err}
				}
				if n == 0 && c.rs < c.re {
					return 0, false, badResponse{errors.New("bench: chunked decoder made no progress")}
				}
				if c.rs == c.re && !c.chunk.Done() {
					if err := c.fill(); err != nil {
						return 0, false, eofIsUnexpected(err)
					}
				}
			}
		case bodyUntilClose:
			// RFC 9112 §6.3 rule 8: the body is everything up to the close.
			for {
				c.rs = c.re
				if err := c.fill(); err != nil {
					if err == io.EOF {
						return h.status, true, nil
					}
					return 0, false, err
				}
			}
		}
		return h.status, h.close, nil
	}
}

func eofIsUnexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// badResponse marks a framing or syntax error in the response bytes.
type badResponse struct{ err error }

func (b badResponse) Error() string { return b.err.Error() }
func (b badResponse) Unwrap() error { return b.err }

func classify(err error) ErrorKind {
	var bad badResponse
	var ne net.Error
	switch {
	case errors.As(err, &bad), errors.Is(err, errHeadTooLarge):
		return ErrBadResponse
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNABORTED):
		return ErrReset
	}
	return ErrOther
}
