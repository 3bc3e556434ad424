package proxy

import (
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/routing"
)

type phase uint8

const (
	phaseHead     phase = iota // waiting for or reading a request head
	phaseConnect               // head parsed; waiting for an upstream connection
	phaseQueued                // parked by a queueing filter (a concurrency limit)
	phaseExchange              // request and response streaming
	phaseTunnel                // after 101 Switching Protocols: bytes relayed both ways
	phaseLinger                // answered and half-closed; discarding input until the client closes
	phaseClosed
)

type timerKind uint8

const (
	timerNone     timerKind = iota
	timerIdle               // keep-alive idle, nothing buffered: close quietly
	timerHeader             // a head is arriving too slowly: 408
	timerResponse           // no response head from the upstream: 504
	timerRead               // the response body stalled: abort
	timerLinger             // half-closed after an answer: close
	timerQueue              // a parked request waited too long: 503
	timerRetry              // backing off before a retry (RetryPicker): connect then
)

const (
	// highWater is the outbound backlog above which a stream stops consuming its source; the
	// destination's OnWritable resumes it.
	highWater = 256 << 10
	// inboundCap is the unconsumed inbound backlog above which reading from a peer pauses, so
	// that TCP backpressure, not memory, absorbs a fast sender.
	inboundCap = 64 << 10
	// lingerTime bounds how long a half-closed connection waits for the client's FIN.
	lingerTime = 5 * time.Second
)

// Session is the proxy state of one downstream connection. It is reused for every request on
// that connection and allocates nothing per request once its buffers have grown.
//
// The per-request state (parser views, codecs, head buffers: about 2 KiB once grown) lives in
// an exchange borrowed from the loop's ExchangePool while a request is under way and returned
// when the connection goes idle, so that an idle keep-alive connection costs only the few
// fields below.
type Session struct {
	io       IO
	cfg      *atomic.Pointer[Snapshot]
	pool     *ExchangePool
	peer     netip.Addr
	clientIP []byte
	proto    []byte
	// connFields go upstream with every request of this connection (conn_fields.go).
	connFields []http1.Field

	phase        phase
	exchanges    uint64 // exchanges begun; tells a handler that one ended (and another began) under it
	timer        timerKind
	dl           int64 // deadline of timer, loop clock
	upHeld       bool
	clientPaused bool
	upPaused     bool

	*exchange // nil while idle
}

// exchange is the state of the request in progress: storage kept from one request to the
// next (exchangeStore) and state that starts from zero for each (exchangeState). The split
// lets clear zero the second part in place without copying the first: clearing was the
// session's most expensive line when it rebuilt the whole 2 KB struct.
type exchange struct {
	exchangeStore
	exchangeState
}

// exchangeStore is what an exchange keeps for the next request: parsers and grown buffers,
// reset by clear, and the wait token, which only ever moves forward so that a late wake can
// never match a later wait.
type exchangeStore struct {
	req       http1.Request
	resp      http1.Response
	reqChunk  http1.ChunkedDecoder
	respChunk http1.ChunkedDecoder
	match     routing.Match
	head      []byte // the upstream request head, kept until the response starts (retries)
	out       []byte // response head or error answer under construction
	upPath    []byte // path sent upstream
	methodB   []byte
	reqID     []byte
	joined    []http1.Field // connFields then this request's extra fields (conn_fields.go)
	errExtra  []byte
	waitToken uint64
}

// exchangeState is the per-request state; clear zeroes it (FilterContext's buffers aside).
type exchangeState struct {
	snap  *Snapshot
	ropts http1.RequestOptions
	wopts http1.ResponseOptions

	route           *Route
	target          *Target
	method          http1.Method
	minor           int
	clientKeepAlive bool
	upgrade         bool
	reqFraming      http1.Framing
	reqRemain       int64
	maxBody         int64
	reqDone         bool
	respFraming     http1.Framing
	respRemain      int64
	respHeadDone    bool
	respDone        bool
	dechunk         bool // chunked response to an HTTP/1.0 client: send the data, close-delimited
	upKeepAlive     bool
	reused          bool
	retried         bool
	moves           int    // retries on another target (RetryPicker), bounded by Upstream.Retries
	hashKey         uint64 // the request's balancer key, kept for retries
	sentAt          int64

	pending      []byte // a response head not yet written (joined with the first body bytes)
	hdrs         requestHeaders
	rec          Record
	fc           FilterContext
	admitted     int    // filters of route that let the request through (OnDone owed)
	routeCounted bool   // route.InFlight counts this request
	headLen      int    // bytes of the request head, still in the client buffer until dispatch
	filterPos    int    // the next filter to run
	queuer       Queuer // the filter the request waits on (phaseQueued)
	queueReason  string
	idField      [1]http1.Field
}

// ExchangePool recycles exchanges among the sessions of one loop. It is not safe for
// concurrent use: each loop owns one.
type ExchangePool struct {
	// Loop numbers the loop (or, on the stream path, the connection) the pool serves; it is
	// copied into every Record.
	Loop int
	// OwnIDs says the pool belongs to one event loop (Loop < 255): request IDs then come from
	// the pool's own counter, in a range of their own, instead of the process-wide atomic that
	// every loop would write for every request.
	OwnIDs bool
	ids    uint64
	free   []*exchange
	// Max bounds the exchanges kept for reuse (what a burst of concurrent requests leaves
	// behind); 0 means 1024.
	Max int
}

func (p *ExchangePool) get() *exchange {
	if p != nil {
		if n := len(p.free); n > 0 {
			x := p.free[n-1]
			p.free[n-1] = nil
			p.free = p.free[:n-1]
			return x
		}
	}
	return &exchange{}
}

func (p *ExchangePool) put(x *exchange) {
	if p == nil {
		return
	}
	max := p.Max
	if max == 0 {
		max = 1024
	}
	if len(p.free) < max {
		p.free = append(p.free, x)
	}
}

// release returns the exchange to the pool: the connection is idle or gone.
func (s *Session) release() {
	if s.exchange == nil {
		return
	}
	x := s.exchange
	s.exchange = nil
	x.clear()
	s.pool.put(x)
}

// clear forgets everything of the last request but the grown buffers and the wait token:
// an exchange must start clean whichever session takes it next.
func (x *exchange) clear() {
	st := &x.exchangeStore
	st.req.Reset()
	st.resp.Reset()
	st.reqChunk.Reset()
	st.respChunk.Reset()
	st.head, st.out, st.upPath, st.methodB = st.head[:0], st.out[:0], st.upPath[:0], st.methodB[:0]
	st.reqID, st.joined, st.errExtra = st.reqID[:0], st.joined[:0], st.errExtra[:0]
	scratch, respFields, keyText := x.fc.Scratch[:0], x.fc.RespFields[:0], x.fc.KeyText[:0]
	x.exchangeState = exchangeState{}
	x.fc.Scratch, x.fc.RespFields, x.fc.KeyText = scratch, respFields, keyText
}

// Release gives the session's per-request state back to the loop's pool. The driver calls it
// once the connection is gone.
func (s *Session) Release() { s.release() }

// NewSession starts the state of a new downstream connection from peer. proto is "http" or
// "https" (X-Forwarded-Proto). pool is the loop's (nil: no reuse).
func NewSession(io IO, cfg *atomic.Pointer[Snapshot], pool *ExchangePool, peer netip.Addr, proto string) *Session {
	s := &Session{io: io, cfg: cfg, pool: pool, peer: peer.Unmap(), proto: []byte(proto)}
	s.clientIP = s.peer.AppendTo(nil)
	s.armIdle()
	return s
}

// Rebind moves the session to another driver (a plaintext connection handed from a loop to
// the goroutine path for a TLS upstream). Call it only while no event of the old driver can
// reach the session, with the new driver's lock held.
func (s *Session) Rebind(io IO, pool *ExchangePool) {
	s.io = io
	s.pool = pool
	s.clientPaused = false
}

// Closed reports whether the session is over; the driver then forgets it.
func (s *Session) Closed() bool { return s.phase == phaseClosed }

// Deadline is the loop time at which OnTimer must be called, 0 for none.
func (s *Session) Deadline() int64 {
	if s.timer == timerNone {
		return 0
	}
	return s.dl
}

// Idle reports whether the connection sits between requests with nothing buffered, so that a
// graceful shutdown may close it.
func (s *Session) Idle() bool {
	return s.phase == phaseHead && s.timer == timerIdle
}

func (s *Session) arm(k timerKind, d time.Duration) {
	if d <= 0 {
		s.timer = timerNone
		return
	}
	s.timer = k
	s.dl = s.io.Now() + int64(d)
}

func (s *Session) armIdle() {
	snap := s.cfg.Load()
	s.arm(timerIdle, snap.IdleTimeout)
}

// OnClientData is called when client bytes are buffered.
func (s *Session) OnClientData() {
	switch s.phase {
	case phaseHead:
		s.readHead()
	case phaseExchange:
		s.forwardRequestBody()
	case phaseTunnel:
		s.relay(true, true)
	case phaseLinger:
		s.io.ClientDiscard(len(s.io.ClientPeek()))
	}
	s.flow()
}

// OnClientWritable is called when the client's outbound backlog drained.
func (s *Session) OnClientWritable() {
	switch s.phase {
	case phaseExchange:
		if s.respHeadDone && !s.respDone {
			s.forwardResponseBody(true)
		}
	case phaseTunnel:
		s.relay(false, true)
	}
	s.flow()
}

// OnClientClosed is called when the client connection is gone.
func (s *Session) OnClientClosed() {
	if s.phase == phaseClosed {
		return
	}
	if s.phase == phaseQueued {
		s.leaveQueue()
	}
	if s.phase == phaseExchange || s.phase == phaseConnect || s.phase == phaseTunnel {
		// Half-read upstream connections never go back to the pool.
		if s.rec.Status == 0 {
			s.rec.Status = 499 // the client went away before the answer (NGINX's convention)
			s.rec.Error = "client closed"
		}
		s.endExchange(false)
	}
	s.phase = phaseClosed
	s.timer = timerNone
}

// OnUpstreamReady hands the session the connection it asked for.
func (s *Session) OnUpstreamReady(reused bool) {
	if s.phase != phaseConnect {
		s.io.UpstreamRelease(true)
		return
	}
	s.upHeld = true
	s.reused = reused
	s.rec.Reused = reused
	s.phase = phaseExchange
	s.sentAt = s.io.Now()
	n, done, err := s.requestBody(s.io.ClientPeek())
	if err != nil {
		s.failRequestBody(err)
		return
	}
	if err := s.io.UpstreamWrite(s.head, s.io.ClientPeek()[:n]); err != nil {
		s.upstreamGone()
		return
	}
	s.io.ClientDiscard(n)
	s.rec.BytesIn += int64(n)
	s.reqDone = done
	s.arm(timerResponse, s.responseTimeout())
	s.flow()
}

// OnUpstreamFailed reports that no connection could be had: refused, unreachable, timed out
// or over the pool's limit.
func (s *Session) OnUpstreamFailed(err error) {
	if s.phase != phaseConnect {
		return
	}
	// Nothing was sent: any request may go to another target. A full pool is this loop's own
	// limit, not the target's failure.
	if !errors.Is(err, ErrPoolFull) && s.moveTarget(OutcomeConnectFailure) {
		return
	}
	switch {
	case errors.Is(err, ErrPoolFull):
		s.fail(503, "upstream connection limit")
	case isTimeout(err):
		s.fail(504, "upstream connect timeout")
	default:
		s.fail(502, "upstream connect failed")
	}
	s.flow()
}

// OnUpstreamData is called when upstream bytes are buffered.
func (s *Session) OnUpstreamData() {
	switch s.phase {
	case phaseExchange:
		if !s.respHeadDone {
			s.readResponseHead()
		}
		if s.phase == phaseExchange && s.respHeadDone && !s.respDone {
			s.forwardResponseBody(true)
		}
	case phaseTunnel:
		s.relay(false, true)
	}
	s.flow()
}

// OnUpstreamWritable is called when the upstream's outbound backlog drained.
func (s *Session) OnUpstreamWritable() {
	switch s.phase {
	case phaseExchange:
		s.forwardRequestBody()
	case phaseTunnel:
		s.relay(true, true)
	}
	s.flow()
}

// OnUpstreamClosed is called when the upstream connection closed or failed. Its buffered bytes
// are still readable through UpstreamPeek during this call.
func (s *Session) OnUpstreamClosed() {
	if !s.upHeld {
		return
	}
	s.upKeepAlive = false
	// The buffered bytes may finish this exchange, which releases it (s.exchange is then nil)
	// or starts the next pipelined one: after each step, act only if this exchange goes on.
	this := s.exchanges
	same := func() bool { return s.exchanges == this && s.phase == phaseExchange && s.exchange != nil }
	switch s.phase {
	case phaseExchange:
		if !s.respHeadDone {
			s.readResponseHead() // a complete head may sit in the buffer
		}
		switch {
		case !same():
		case !s.respHeadDone:
			s.upstreamGone()
		case s.respFraming == http1.FramingClose:
			// The close is the end of this body (RFC 9112 6.3 rule 8).
			s.forwardResponseBody(false)
			if same() {
				s.respDone = true
				s.clientKeepAlive = false
				s.finish()
			}
		default:
			if !s.respDone {
				s.forwardResponseBody(false)
			}
			if same() && !s.respDone {
				// A truncated body must never look complete: drop the client too.
				s.rec.Error = "upstream closed mid-response"
				s.abort()
			}
		}
	case phaseTunnel:
		s.relay(false, false)
		s.endExchange(false)
		s.lingerClose()
	}
	if s.phase != phaseClosed {
		s.flow()
	}
}

// OnTimer fires the session's deadline.
func (s *Session) OnTimer(now int64) {
	if s.timer == timerNone || now < s.dl {
		return
	}
	k := s.timer
	s.timer = timerNone
	switch k {
	case timerIdle:
		s.io.ClientClose()
		s.phase = phaseClosed
	case timerHeader:
		s.phase = phaseConnect // so fail() answers and closes
		s.clientKeepAlive = false
		s.fail(408, "request header timeout")
	case timerQueue:
		s.leaveQueue()
		s.io.ClientDiscard(s.headLen)
		s.fail(503, s.queueReason)
	case timerResponse:
		s.fail(504, "upstream timeout")
	case timerRead:
		s.rec.Error = "upstream read timeout"
		s.abort()
	case timerLinger:
		s.io.ClientClose()
		s.phase = phaseClosed
	case timerRetry:
		s.io.UpstreamAcquire(s.target, true)
	}
	if s.phase != phaseClosed {
		s.flow()
	}
}

// readHead parses buffered requests and starts their exchanges; pipelined requests are taken
// one at a time, in order.
func (s *Session) readHead() {
	buf := s.io.ClientPeek()
	if len(buf) == 0 {
		s.release()
		s.armIdle()
		return
	}
	if s.exchange == nil {
		s.exchange = s.pool.get()
	}
	snap := s.cfg.Load()
	s.req.Limits = snap.Limits
	n, err := http1.ParseRequest(buf, &s.req)
	if err == http1.ErrNeedMore {
		if s.timer != timerHeader {
			s.arm(timerHeader, snap.HeaderReadTimeout)
		}
		return
	}
	s.snap = snap
	s.rec = Record{Start: s.io.Now(), ClientIP: s.clientIP}
	if s.pool != nil {
		s.rec.Loop = s.pool.Loop
	}
	s.reqID = s.reqID[:0]
	s.phase = phaseConnect
	if err != nil {
		s.clientKeepAlive = false
		s.reqDone = false
		status := 400
		var pe *http1.Error
		if errors.As(err, &pe) {
			status = pe.Status
		}
		s.fail(status, errReason(err))
		return
	}
	s.beginExchange(n)
}

func errReason(err error) string {
	var pe *http1.Error
	if errors.As(err, &pe) {
		return pe.Reason
	}
	return err.Error()
}

func (s *Session) beginExchange(n int) {
	s.exchanges++
	r := &s.req
	snap := s.snap
	s.method = r.MethodID()
	s.minor = r.Minor()
	s.clientKeepAlive = r.KeepAlive()
	s.methodB = append(s.methodB[:0], r.Method()...)
	s.rec.Method = s.methodB
	s.requestID(r)
	s.reqFraming = r.Framing()
	s.reqRemain = r.ContentLength()
	s.reqDone = s.reqFraming == http1.FramingNone
	s.reqChunk.Reset()
	s.respChunk.Reset()
	s.resp.Reset()

	if s.method == http1.MethodConnect {
		// A reverse proxy opens no tunnels (RFC 9110 9.3.6 is for forward proxies).
		s.io.ClientDiscard(n)
		s.fail(405, "connect not allowed")
		return
	}
	path := r.Path()
	if r.TargetForm() == http1.FormAsterisk {
		path = slash
	}
	s.hdrs.r = r
	ok, err := snap.Routes.Lookup(&s.match, r.Host(), r.Method(), path, r.Query(), &s.hdrs)
	s.rec.Path = s.match.Path()
	if err != nil {
		s.io.ClientDiscard(n)
		s.fail(400, "bad path")
		return
	}
	if !ok {
		s.io.ClientDiscard(n)
		s.fail(404, "no route")
		return
	}
	route := s.match.Route().Target().(*Route)
	s.route = route
	s.rec.Route = route
	s.maxBody = route.MaxBody
	if s.maxBody == 0 {
		s.maxBody = snap.MaxBody
	}
	if s.maxBody > 0 && s.reqRemain > s.maxBody {
		s.io.ClientDiscard(n)
		s.fail(413, "request body too large")
		return
	}
	fc := &s.fc
	fc.Req, fc.Route, fc.Peer, fc.ClientIP, fc.Now = r, route, s.peer, s.clientIP, s.io.Now()
	fc.RespFields = appendIDField(fc.RespFields[:0], s.reqID)
	fc.RefusedKey = nil
	fc.Waiter = s
	s.headLen = n
	s.filterPos = 0
	s.runFilters()
}

// runFilters runs the route's filters from filterPos on, then dispatches the request. A
// filter that queues the request parks it until Wake or the queue timeout.
func (s *Session) runFilters() {
	fc := &s.fc
	route := s.route
	n := s.headLen
	for s.filterPos < len(route.Filters) {
		f := route.Filters[s.filterPos]
		s.waitToken++
		fc.WaitToken = s.waitToken
		v := f.OnRequest(fc)
		if v.Status == 0 && v.Queue > 0 {
			q, ok := f.(Queuer)
			if _, canPost := s.io.(Poster); ok && canPost {
				s.phase = phaseQueued
				s.queuer = q
				s.queueReason = v.Reason
				fc.Req = nil // the engine may move the head's bytes while the request waits
				s.arm(timerQueue, v.Queue)
				return
			}
			// Nothing can resume this session: take the slot back and answer now.
			if ok && !q.Cancel(fc) {
				s.admitted++
			}
			v = Verdict{Status: 503, Reason: v.Reason}
		}
		if v.Status != 0 {
			s.rec.RefusedKey = fc.RefusedKey
			fc.Req = nil
			s.io.ClientDiscard(n)
			s.failWith(v.Status, v.Reason, v.Fields)
			return
		}
		s.admitted++
		s.filterPos++
	}
	s.dispatch()
}

// Wake resumes a request parked by a queueing filter; safe from any goroutine.
func (s *Session) Wake(token uint64, admitted bool) {
	if p, ok := s.io.(Poster); ok {
		_ = p.Post(func() { s.onWake(token, admitted) })
	}
}

func (s *Session) onWake(token uint64, admitted bool) {
	if s.phase != phaseQueued || token != s.waitToken {
		return // the wait already ended (timeout, client gone): that path settled the slot
	}
	s.timer = timerNone
	s.phase = phaseConnect
	if !admitted {
		s.io.ClientDiscard(s.headLen)
		s.fail(503, s.queueReason)
		return
	}
	s.admitted++
	s.filterPos++
	// The parsed views may point at bytes the engine moved while the request waited: parse
	// the same head again where it is now.
	s.req.Reset()
	s.req.Limits = s.snap.Limits
	n, err := http1.ParseRequest(s.io.ClientPeek(), &s.req)
	if err != nil || n != s.headLen {
		s.clientKeepAlive = false
		s.fail(500, "request head changed while queued")
		return
	}
	s.hdrs.r = &s.req
	s.fc.Req = &s.req
	s.fc.Now = s.io.Now()
	s.runFilters()
	if s.phase != phaseClosed {
		s.flow()
	}
}

// leaveQueue withdraws a parked request (timeout, client gone); a slot granted meanwhile
// becomes ours, so that endExchange releases it.
func (s *Session) leaveQueue() {
	if !s.queuer.Cancel(&s.fc) {
		s.admitted++
	}
	s.waitToken++ // a wake on its way is now stale
	s.queuer = nil
	s.phase = phaseConnect
}

// dispatch sends an admitted request to a target of its route's upstream.
func (s *Session) dispatch() {
	r := &s.req
	snap := s.snap
	route := s.route
	fc := &s.fc
	n := s.headLen
	route.InFlight.Add(1)
	s.routeCounted = true
	up := route.Upstream
	var t *Target
	s.hashKey, s.moves = 0, 0
	if up.Balancer != nil {
		if up.HashKey != nil {
			s.hashKey = up.HashKey(r, s.clientIP, s.match.Path())
		}
		t = up.Balancer.Pick(fc.Now, s.hashKey)
	} else {
		t = up.roundRobin()
	}
	if t == nil {
		s.io.ClientDiscard(n)
		s.fail(503, "no available target")
		return
	}
	s.target = t
	s.rec.Target = t
	t.InFlight.Add(1)
	s.upgrade = len(r.Upgrade()) > 0 && r.ConnectionHas("upgrade")

	o := &s.ropts
	o.Path = nil
	if r.TargetForm() != http1.FormAsterisk {
		if route.StripPrefix != "" {
			s.upPath = routing.StripPrefix(s.upPath[:0], s.match.Path(), route.StripPrefix)
		} else {
			s.upPath = s.match.AppendUpstreamPath(s.upPath[:0])
		}
		o.Path = s.upPath
	}
	o.ClientIP = s.clientIP
	o.ReplaceForwarded = !snap.Trusts(s.peer)
	o.Proto = s.proto
	o.Via = snap.Via
	o.Edits = route.ReqEdits
	o.Upgrade = s.upgrade
	o.ExtraFields = nil
	if s.idField[0].Value != nil {
		o.ExtraFields = s.idField[:]
	}
	o.ExtraFields = s.withConnFields(o.ExtraFields)
	s.head = http1.AppendRequestHead(s.head[:0], r, o)
	fc.Req = nil
	s.rec.BytesIn = int64(n)
	s.io.ClientDiscard(n)
	s.req.Reset() // its views pointed into the bytes just discarded
	s.timer = timerNone
	s.io.UpstreamAcquire(t, false)
}

var slash = []byte("/")

// requestIDSeed makes generated request IDs unique across restarts; the counter, across
// requests and loops.
var (
	requestIDSeed    = uint64(time.Now().UnixNano())
	requestIDCounter atomic.Uint64
)

// nextRequestID numbers a generated request ID: 48 bits, written as 12 hex digits. A loop's
// own pool counts in the range its loop number (plus one) selects in the top 8 bits; every
// other session takes the process-wide counter, whose values stay below 2^40.
func (p *ExchangePool) nextRequestID() uint64 {
	if p != nil && p.OwnIDs && p.Loop >= 0 && p.Loop < 255 {
		p.ids++
		return uint64(p.Loop+1)<<40 | p.ids&(1<<40-1)
	}
	return requestIDCounter.Add(1) & (1<<40 - 1)
}

const maxRequestID = 128

// requestID takes the client's X-Request-ID when it is a sane token (it then travels upstream
// as received), or makes one (sent upstream as an extra field). Either way it is echoed in the
// response and logged.
func (s *Session) requestID(r *http1.Request) {
	s.idField[0] = http1.Field{}
	if v := r.Peek("x-request-id"); len(v) > 0 && len(v) <= maxRequestID && isIDToken(v) {
		s.reqID = append(s.reqID[:0], v...)
	} else {
		n := s.pool.nextRequestID()
		s.reqID = append(s.reqID[:0], requestIDPrefix...)
		var hex [12]byte
		for i := len(hex) - 1; i >= 0; i-- {
			hex[i] = hexDigits[n&0xf]
			n >>= 4
		}
		s.reqID = append(s.reqID, hex[:]...)
		s.idField[0] = http1.Field{Name: xRequestID, Value: s.reqID}
	}
	s.rec.RequestID = s.reqID
}

var (
	xRequestID = []byte("X-Request-ID")
	// requestIDPrefix is the seed in hex and a dash, written once: "5f1c...-".
	requestIDPrefix = append(appendHex(nil, requestIDSeed, 16), '-')
)

const hexDigits = "0123456789abcdef"

func isIDToken(v []byte) bool {
	for _, c := range v {
		if c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

func appendHex(dst []byte, v uint64, digits int) []byte {
	const hexd = "0123456789abcdef"
	for i := digits - 1; i >= 0; i-- {
		dst = append(dst, hexd[(v>>(uint(i)*4))&0xf])
	}
	return dst
}

func appendIDField(dst, id []byte) []byte {
	if len(id) == 0 {
		return dst
	}
	dst = append(dst, "X-Request-ID: "...)
	dst = append(dst, id...)
	return append(dst, '\r', '\n')
}

// requestHeaders lets the router read header conditions from the parsed request.
type requestHeaders struct{ r *http1.Request }

func (h *requestHeaders) Header(name string) ([]byte, bool) {
	v := h.r.Peek(name)
	return v, v != nil
}

func (s *Session) responseTimeout() time.Duration {
	if s.route != nil && s.route.Timeout > 0 {
		return s.route.Timeout
	}
	if s.route != nil {
		return s.route.Upstream.ResponseTimeout
	}
	return 0
}

// requestBody returns how many of the buffered client bytes belong to the request body (raw,
// chunk framing included) and whether the body ends within them.
func (s *Session) requestBody(p []byte) (n int, done bool, err error) {
	switch s.reqFraming {
	case http1.FramingLength:
		k := int64(len(p))
		if k > s.reqRemain {
			k = s.reqRemain
		}
		s.reqRemain -= k
		return int(k), s.reqRemain == 0, nil
	case http1.FramingChunked:
		for n < len(p) && !s.reqChunk.Done() {
			m, _, err := s.reqChunk.Decode(p[n:])
			n += m
			if err != nil {
				return n, false, err
			}
			if m == 0 {
				break
			}
		}
		if s.maxBody > 0 && s.reqChunk.BodyLen() > s.maxBody {
			return n, false, errBodyTooLarge
		}
		return n, s.reqChunk.Done(), nil
	}
	return 0, true, nil
}

var errBodyTooLarge = errors.New("proxy: request body too large")

func (s *Session) forwardRequestBody() {
	if s.reqDone || !s.upHeld || s.io.UpstreamOutbound() > highWater {
		return
	}
	p := s.io.ClientPeek()
	if len(p) == 0 {
		return
	}
	n, done, err := s.requestBody(p)
	if err != nil {
		s.failRequestBody(err)
		return
	}
	if n > 0 {
		if err := s.io.UpstreamWrite(p[:n], nil); err != nil {
			s.upstreamGone()
			return
		}
		s.io.ClientDiscard(n)
		s.rec.BytesIn += int64(n)
	}
	if done {
		s.reqDone = true
		if s.respDone {
			s.finish()
		}
	}
}

func (s *Session) failRequestBody(err error) {
	s.clientKeepAlive = false
	if errors.Is(err, errBodyTooLarge) {
		s.fail(413, "request body too large")
		return
	}
	s.fail(400, errReason(err))
}

func (s *Session) readResponseHead() {
	for {
		p := s.io.UpstreamPeek()
		if len(p) == 0 {
			return
		}
		n, err := http1.ParseResponse(p, &s.resp)
		if err == http1.ErrNeedMore {
			return
		}
		if err != nil {
			s.fail(502, "bad upstream response")
			return
		}
		st := s.resp.Status()
		if st < 200 && st != 101 {
			// Interim responses (100 Continue, 103 Early Hints) pass through to HTTP/1.1 clients
			// (RFC 9110 15.2); an HTTP/1.0 client must not see them.
			if s.minor >= 1 {
				s.wopts = http1.ResponseOptions{Via: s.snap.Via}
				s.out = http1.AppendResponseHead(s.out[:0], &s.resp, &s.wopts)
				if s.io.ClientWrite(s.out, nil) != nil {
					s.abort()
					return
				}
			}
			s.io.UpstreamDiscard(n)
			s.resp.Reset()
			continue
		}
		s.rec.Status = st
		s.rec.UpstreamRTT = s.io.Now() - s.sentAt
		if st == 101 {
			if !s.upgrade {
				s.fail(502, "unsolicited protocol switch")
				return
			}
			s.wopts = http1.ResponseOptions{Via: s.snap.Via, Edits: s.route.RespEdits, Upgrade: true}
			s.out = http1.AppendResponseHead(s.out[:0], &s.resp, &s.wopts)
			s.io.UpstreamDiscard(n)
			s.resp.Reset()
			s.respHeadDone = true
			s.phase = phaseTunnel
			s.timer = timerNone
			if s.io.ClientWrite(s.out, nil) != nil {
				s.abort()
				return
			}
			s.rec.BytesOut += int64(len(s.out))
			s.relay(true, true)
			s.relay(false, true)
			return
		}
		s.respHeadDone = true
		s.respFraming = s.resp.Framing(s.method)
		s.respRemain = s.resp.ContentLength()
		s.upKeepAlive = s.resp.KeepAlive() && s.respFraming != http1.FramingClose
		s.dechunk = s.respFraming == http1.FramingChunked && s.minor == 0
		if s.respFraming == http1.FramingClose || s.dechunk || !s.reqDone {
			// The client learns the end of this body only from the close, or the rest of its
			// request body would be left unread: either way the connection ends here.
			s.clientKeepAlive = false
		}
		s.wopts = http1.ResponseOptions{Via: s.snap.Via, Edits: s.route.RespEdits, Close: !s.clientKeepAlive, KeepAlive: s.minor == 0, Dechunk: s.dechunk, RawFields: s.fc.RespFields}
		s.out = http1.AppendResponseHead(s.out[:0], &s.resp, &s.wopts)
		s.pending = s.out
		s.io.UpstreamDiscard(n)
		s.resp.Reset()
		s.arm(timerRead, s.route.Upstream.ReadTimeout)
		return
	}
}

// forwardResponseBody moves buffered response bytes to the client; bounded, only while the
// client's backlog allows (unbounded when the upstream closed: what is left is at most
// inboundCap and must not be lost).
func (s *Session) forwardResponseBody(bounded bool) {
	if bounded && s.io.ClientOutbound() > highWater {
		return
	}
	p := s.io.UpstreamPeek()
	n, done := 0, false
	switch s.respFraming {
	case http1.FramingNone:
		done = true
	case http1.FramingLength:
		k := int64(len(p))
		if k > s.respRemain {
			k = s.respRemain
		}
		n = int(k)
		s.respRemain -= k
		done = s.respRemain == 0
	case http1.FramingChunked:
		if s.dechunk {
			s.forwardDechunked(p)
			return
		}
		for n < len(p) && !s.respChunk.Done() {
			m, _, err := s.respChunk.Decode(p[n:])
			n += m
			if err != nil {
				s.rec.Error = "bad upstream chunked body"
				s.abort()
				return
			}
			if m == 0 {
				break
			}
		}
		done = s.respChunk.Done()
	case http1.FramingClose:
		n = len(p)
	}
	if len(s.pending) > 0 || n > 0 {
		if err := s.io.ClientWrite(s.pending, p[:n]); err != nil {
			s.abort()
			return
		}
		s.rec.BytesOut += int64(len(s.pending) + n)
		s.pending = nil
		s.io.UpstreamDiscard(n)
		if n > 0 {
			s.arm(timerRead, s.route.Upstream.ReadTimeout)
		}
	}
	if done {
		s.respDone = true
		s.finish()
	}
}

// forwardDechunked sends a chunked body's data alone, for HTTP/1.0 clients.
func (s *Session) forwardDechunked(p []byte) {
	n := 0
	for n < len(p) && !s.respChunk.Done() {
		m, data, err := s.respChunk.Decode(p[n:])
		if err != nil {
			s.rec.Error = "bad upstream chunked body"
			s.abort()
			return
		}
		if len(s.pending) > 0 || len(data) > 0 {
			if s.io.ClientWrite(s.pending, data) != nil {
				s.abort()
				return
			}
			s.rec.BytesOut += int64(len(s.pending) + len(data))
			s.pending = nil
		}
		n += m
		if m == 0 {
			break
		}
	}
	s.io.UpstreamDiscard(n)
	if s.respChunk.Done() {
		s.respDone = true
		s.finish()
	}
}

// relay moves tunnel bytes one way: client to upstream when up, else upstream to client;
// bounded by the destination's backlog unless the source is closing.
func (s *Session) relay(up, bounded bool) {
	if up {
		if bounded && s.io.UpstreamOutbound() > highWater {
			return
		}
		if p := s.io.ClientPeek(); len(p) > 0 {
			if s.io.UpstreamWrite(p, nil) != nil {
				return
			}
			s.rec.BytesIn += int64(len(p))
			s.io.ClientDiscard(len(p))
		}
		return
	}
	if bounded && s.io.ClientOutbound() > highWater {
		return
	}
	if p := s.io.UpstreamPeek(); len(p) > 0 {
		if s.io.ClientWrite(p, nil) != nil {
			return
		}
		s.rec.BytesOut += int64(len(p))
		s.io.UpstreamDiscard(len(p))
	}
}

// upstreamGone handles an upstream connection that failed before a response head arrived.
func (s *Session) upstreamGone() {
	s.upHeld = false
	s.io.UpstreamRelease(false)
	if s.canRetry() {
		s.retried = true
		s.rec.Retried = true
		s.phase = phaseConnect
		s.timer = timerNone
		s.io.UpstreamAcquire(s.target, true)
		return
	}
	// The request may have reached the target, so only an idempotent one without a body (whose
	// bytes are gone from the client buffer) is sent again, and to another target.
	if s.method.Idempotent() && s.reqFraming == http1.FramingNone && s.moveTarget(OutcomeError) {
		return
	}
	s.fail(502, "upstream closed connection")
}

// moveTarget retries the request when the upstream's balancer offers a target (RetryPicker:
// another target when one is available, within the retry budget, after the backoff it asks
// for) and Upstream.Retries allows another attempt. The failed attempt is settled with the
// balancer first as outcome o.
func (s *Session) moveTarget(o Outcome) bool {
	if s.route == nil || s.target == nil {
		return false
	}
	up := s.route.Upstream
	rp, ok := up.Balancer.(RetryPicker)
	if !ok || s.moves >= up.Retries {
		return false
	}
	now := s.io.Now()
	old := s.target
	old.InFlight.Add(-1)
	up.Balancer.Done(old, now, o, 0)
	s.target = nil
	t, delay := rp.Retry(now, s.hashKey, old, s.moves)
	if t == nil {
		// Nothing to retry on: answer as without a retry, the failed attempt already settled.
		s.rec.Target = old
		return false
	}
	s.moves++
	s.target = t
	s.rec.Target = t
	s.rec.Retried = true
	t.InFlight.Add(1)
	s.phase = phaseConnect
	if delay > 0 {
		// OnTimer sends it, on a fresh connection since the failure may have been the pooled
		// one's. The backoff is tens of milliseconds: too short to wait for the periodic sweep.
		s.arm(timerRetry, delay)
		s.io.WakeAt(s.dl)
		return true
	}
	s.timer = timerNone
	s.io.UpstreamAcquire(t, t == old)
	return true
}

// canRetry: only an idempotent request without a body, sent on a reused keep-alive connection
// that closed before any response byte, is sent again (the upstream may have closed an idle
// connection as we wrote, RFC 9112 9.3.1).
func (s *Session) canRetry() bool {
	return s.reused && !s.retried && s.method.Idempotent() && s.reqFraming == http1.FramingNone &&
		s.route != nil && s.route.Upstream.Retries > 0
}

// fail answers the client with a gateway-made error, when no response byte was sent yet.
func (s *Session) fail(status int, reason string) { s.failWith(status, reason, nil) }

// failWith is fail with extra header lines for the answer.
func (s *Session) failWith(status int, reason string, fields []byte) {
	if s.respHeadDone || s.phase == phaseTunnel {
		s.rec.Error = reason
		s.abort()
		return
	}
	s.rec.Status = status
	s.rec.Error = reason
	closeAfter := !s.clientKeepAlive || !s.reqDone
	s.endExchange(false)
	s.errExtra = appendIDField(append(s.errExtra[:0], fields...), s.reqID)
	s.out = http1.AppendErrorResponseFields(s.out[:0], status, reason, closeAfter, s.errExtra)
	s.rec.BytesOut += int64(len(s.out))
	s.observe()
	if s.io.ClientWrite(s.out, nil) != nil {
		s.io.ClientClose()
		s.phase = phaseClosed
		return
	}
	if closeAfter {
		s.lingerClose()
		return
	}
	s.next()
}

// abort drops both connections: used when the response is already under way.
func (s *Session) abort() {
	s.endExchange(false)
	s.observe()
	s.io.ClientClose()
	s.phase = phaseClosed
	s.timer = timerNone
}

// finish ends a completed exchange: the upstream goes back to the pool when both sides framed
// their messages cleanly, and the next pipelined request starts.
func (s *Session) finish() {
	if !s.reqDone {
		s.endExchange(false)
		s.observe()
		s.lingerClose()
		return
	}
	reuse := s.upKeepAlive && s.upHeld && len(s.io.UpstreamPeek()) == 0
	s.endExchange(reuse)
	s.observe()
	if !s.clientKeepAlive {
		s.lingerClose()
		return
	}
	s.next()
}

// endExchange releases the upstream side of the exchange and settles its phases: the
// balancer learns the outcome, and filters that admitted the request see it end.
func (s *Session) endExchange(reuse bool) {
	if s.upHeld {
		s.upHeld = false
		s.io.UpstreamRelease(reuse)
	}
	if s.upPaused {
		s.upPaused = false
	}
	if t := s.target; t != nil {
		t.InFlight.Add(-1)
		if b := t.Upstream.Balancer; b != nil {
			b.Done(t, s.io.Now(), s.outcome(), s.rec.UpstreamRTT)
		}
		s.target = nil
	}
	if s.routeCounted {
		s.routeCounted = false
		s.route.InFlight.Add(-1)
	}
	if s.admitted > 0 {
		for _, f := range s.route.Filters[:s.admitted] {
			f.OnDone(&s.fc, s.rec.Status)
		}
		s.admitted = 0
	}
}

// outcome classifies the exchange for the balancer and passive health.
func (s *Session) outcome() Outcome {
	switch {
	case s.rec.Status == 499:
		return OutcomeAbandoned
	case s.rec.Error == "upstream connection limit":
		// This loop's own pool cap, not the target's failure: passive health and breakers
		// must not eject a healthy target because the gateway is busy.
		return OutcomeAbandoned
	case s.rec.Error == "upstream connect failed" || s.rec.Error == "upstream connect timeout":
		return OutcomeConnectFailure
	case s.rec.Status == 504:
		return OutcomeTimeout
	case s.rec.Status >= 500 || s.rec.Error != "":
		return OutcomeError
	}
	return OutcomeSuccess
}

func (s *Session) observe() {
	s.rec.End = s.io.Now()
	if s.snap != nil && s.snap.Observer != nil {
		s.snap.Observer.Observe(&s.rec)
	}
}

// next resets the exchange and reads the next request, if any is buffered.
func (s *Session) next() {
	s.phase = phaseHead
	s.exchange.clear()
	s.readHead()
}

func (s *Session) lingerClose() {
	s.phase = phaseLinger
	s.io.ClientDiscard(len(s.io.ClientPeek()))
	s.io.ClientCloseWrite()
	s.arm(timerLinger, lingerTime)
}

// flow pauses reading from a peer whose unconsumed bytes reached inboundCap and resumes it
// once they were consumed.
func (s *Session) flow() {
	if s.phase == phaseClosed {
		return
	}
	cp := len(s.io.ClientPeek()) >= inboundCap
	if cp != s.clientPaused {
		s.clientPaused = cp
		s.io.ClientPause(cp)
	}
	if s.upHeld {
		up := len(s.io.UpstreamPeek()) >= inboundCap
		if up != s.upPaused {
			s.upPaused = up
			s.io.UpstreamPause(up)
		}
	}
}

// roundRobin picks the next target that is not draining. Lock-free: one atomic add per pick.
func (u *Upstream) roundRobin() *Target {
	n := len(u.Targets)
	if n == 0 {
		return nil
	}
	start := int(u.rr.Add(1))
	for i := 0; i < n; i++ {
		t := u.Targets[(start+i)%n]
		if !t.Draining.Load() {
			return t
		}
	}
	return nil
}
