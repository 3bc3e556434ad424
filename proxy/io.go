package proxy

// IO is what a Session asks of its driver. Every method is called on the session's loop.
//
// Peek/Discard follow the engine's contract: Peek returns every buffered inbound byte, valid
// until the next Discard or the end of the current event. Write sends now and queues the rest.
type IO interface {
	ClientPeek() []byte
	ClientDiscard(n int)
	ClientWrite(a, b []byte) error
	ClientOutbound() int
	// ClientPause stops or resumes reading from the client; a backend that cannot pause ignores
	// it (the gateway bounds what it buffers another way).
	ClientPause(pause bool)
	// ClientCloseWrite sends FIN once queued bytes are out; the session keeps reading (and
	// discarding) until the client closes or the linger deadline passes, so that an answer is
	// not destroyed by a reset.
	ClientCloseWrite()
	ClientClose()

	// UpstreamAcquire asks for a connection to t, reused from the loop's pool unless fresh. The
	// answer comes later (or at once) as OnUpstreamReady or OnUpstreamFailed.
	UpstreamAcquire(t *Target, fresh bool)
	UpstreamPeek() []byte
	UpstreamDiscard(n int)
	UpstreamWrite(a, b []byte) error
	UpstreamOutbound() int
	UpstreamPause(pause bool)
	// UpstreamRelease gives the connection back: to the idle pool when reuse, closed otherwise.
	UpstreamRelease(reuse bool)

	// Now is the loop clock in nanoseconds.
	Now() int64
	// WakeAt asks for OnTimer at loop time dl even when that comes before the driver's next
	// periodic sweep of deadlines (short timers: a retry's backoff). The driver calls OnTimer
	// at dl or soon after, unless the session's deadline has changed or it has ended by then.
	// A driver whose timers are already exact may treat it as the deadline it arms anyway.
	WakeAt(dl int64)
}
