package engine

import (
	"errors"
	"net"
	"time"
)

// Errors shared by the backends.
var (
	ErrClosed       = errors.New("engine: connection closed")
	ErrShutdown     = errors.New("engine: shutting down")
	ErrDialTimeout  = errors.New("engine: dial timeout")
	ErrUnknownKind  = errors.New("engine: unknown engine kind")
	ErrNotSupported = errors.New("engine: not supported by this backend")
)

// Handler receives the events of a loop's connections. Every call for a given Conn is made on
// the goroutine of the loop that owns it, one at a time, so a handler needs no locks for
// per-connection state. Handlers must not block: a blocking call stalls every connection of
// the loop.
type Handler interface {
	// OnOpen is called for an accepted downstream connection. Dialed upstream connections do
	// not pass through OnOpen: they are handed to the Dial callback instead.
	OnOpen(c Conn)
	// OnData is called when inbound bytes are buffered (c.Peek). The handler Discards what it
	// consumed; bytes it leaves stay buffered and are offered again with the next read.
	OnData(c Conn)
	// OnWritable is called when a connection's queued outbound bytes drained below the low
	// watermark after having been above the high one: the place to resume a paused stream.
	OnWritable(c Conn)
	// OnClose is called once when a connection is gone, whoever closed it. err is nil for a
	// local Close and the cause otherwise (io.EOF for a clean remote close). During the call
	// Peek still returns the inbound bytes the handler had not consumed (a response that ends
	// with the close must not lose its tail); writes fail.
	OnClose(c Conn, err error)
	// OnTick is called on every loop about every TickInterval with the loop's clock: the place
	// to sweep deadlines.
	OnTick(l Loop, now int64)
}

// Conn is one TCP connection owned by a loop. Unless noted, its methods may be called only on
// that loop (from a Handler call, a Dial callback or a task given to Loop.Execute).
type Conn interface {
	// Peek returns every inbound byte buffered so far. The slice is valid until Discard or the
	// end of the current handler call, whichever comes first.
	Peek() []byte
	// Discard drops the first n buffered inbound bytes.
	Discard(n int)
	// Write sends p now as far as the socket takes it and queues the rest; p may be reused as
	// soon as Write returns. It never calls back into the handler: a failed write returns the
	// error, and OnClose follows once the current handler call has returned.
	Write(p []byte) error
	// Write2 is Write of a then b with one system call where possible (head + body).
	Write2(a, b []byte) error
	// OutboundBuffered is the number of bytes queued and not yet sent.
	OutboundBuffered() int
	// PauseRead stops (true) or resumes (false) reading from the socket, so that TCP
	// backpressure reaches the peer. On resume, bytes still buffered are offered again with
	// OnData even if nothing new arrives. Backends that cannot pause return ErrNotSupported.
	PauseRead(pause bool) error
	// Close flushes nothing more and closes the socket; OnClose follows.
	Close() error
	// CloseWrite shuts down the sending half once queued bytes are sent (half-close).
	CloseWrite() error
	// Detach moves the socket off the loop: it returns a blocking net.Conn for the same socket
	// and the inbound bytes already buffered, and forgets the connection without OnClose. Bytes
	// still queued for sending are written first by the returned conn; a backend that cannot
	// hand them over returns ErrNotSupported and keeps the connection.
	Detach() (net.Conn, []byte, error)
	// Loop is the loop that owns the connection. Safe from any goroutine.
	Loop() Loop
	// Context and SetContext hold the handler's per-connection state.
	Context() any
	SetContext(v any)
	// RemoteAddr is the peer's address, set once at open.
	RemoteAddr() net.Addr
	// Fd is the socket's file descriptor, for socket options and diagnostics.
	Fd() int
}

// Loop is one event loop: a goroutine that owns its connections.
type Loop interface {
	// Index is the loop's position, 0..n-1, stable for the life of the engine.
	Index() int
	// Execute runs fn on the loop goroutine soon. Safe from any goroutine; never blocks.
	Execute(fn func()) error
	// Dial connects to addr off the loop with the given timeout, registers the connection on
	// this loop and calls cb on this loop with it, or with the error. Safe from any goroutine.
	Dial(addr string, timeout time.Duration, cb func(c Conn, err error)) error
	// Now is the loop's clock in nanoseconds (monotonic; cached per wake-up, so cheap).
	Now() int64
}

// Options configure a backend.
type Options struct {
	Loops          int           // number of loops; 0 means one per CPU
	TickInterval   time.Duration // OnTick period; default 100ms
	HighWatermark  int           // outbound bytes above which a conn is "full" (default 256 KiB)
	LowWatermark   int           // OnWritable fires when a full conn drains below this (default 64 KiB)
	ReadBufferSize int           // per-read buffer; default 64 KiB
}

// Server is a running engine.
type Server interface {
	// Loops lists the loops, for round-robin placement of work.
	Loops() []Loop
	// Addrs are the listeners' bound addresses (useful when listening on port 0).
	Addrs() []net.Addr
	// StopAccepting closes the listeners; established connections keep running.
	StopAccepting() error
	// Stop closes every connection and ends the loops.
	Stop() error
	// Wait blocks until the loops have ended.
	Wait() error
}

// WithDefaults fills the zero fields of o with the documented defaults.
func WithDefaults(o Options) Options {
	if o.TickInterval <= 0 {
		o.TickInterval = 100 * time.Millisecond
	}
	if o.HighWatermark <= 0 {
		o.HighWatermark = 256 << 10
	}
	if o.LowWatermark <= 0 || o.LowWatermark > o.HighWatermark {
		o.LowWatermark = o.HighWatermark / 4
	}
	if o.ReadBufferSize <= 0 {
		o.ReadBufferSize = 64 << 10
	}
	return o
}

// clockEpoch anchors Nanotime.
var clockEpoch = time.Now()

// Nanotime is the process's one monotonic clock, in nanoseconds since the package started.
// Every backend's Loop.Now, the TLS stream path's clock and the balancers' clock are this one,
// so a deadline or timestamp written on one loop (a breaker opening, an ejection, a rate
// limit's state) compares exactly with another's, whichever engine runs; and a wall-clock step
// moves none of them.
func Nanotime() int64 { return int64(time.Since(clockEpoch)) }
