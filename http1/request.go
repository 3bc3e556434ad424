package http1

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Request is a parsed request head: views into the buffer passed to ParseRequest, valid until
// that buffer is modified or reused. Set Limits once; ParseRequest and Reset keep them. A
// Request is owned by one connection and is not safe for concurrent use.
type Request struct {
	Headers
	Limits Limits
	requestLine
}

// requestLine holds what the request line says, zeroed in one store by Reset.
type requestLine struct {
	lineStart, methodEnd   int32
	targetStart, targetEnd int32
	pathStart, pathEnd     int32
	queryStart             int32 // index of the byte after '?', 0 when there is no query
	authStart, authEnd     int32 // absolute-form authority
	headLen                int32
	minor                  uint8
	method                 Method
	form                   TargetForm
	framing                Framing
}

// Reset forgets the parsed request (and any partial parse) but keeps Limits and the storage for
// header fields, so that parsing the next request does not allocate.
func (r *Request) Reset() {
	r.Headers.reset()
	r.requestLine = requestLine{}
}

// ParseRequest parses the request head at the start of buf into r and returns its length,
// including the final CRLF; the body (if any, see Framing) and pipelined requests follow it.
//
// ErrNeedMore means buf ends inside the head: call again with buf extended by newly read bytes
// (the bytes already passed must be unchanged; the slice itself may move). Any other error is an
// *Error from this package: answer Error.Status and close the connection. After a complete
// parse or an error the next call starts a new request; call Reset to abandon a partial one.
//
// Strictness (each choice cites its rule where it is made): CRLF line ends only, one SP between
// the request-line parts, HTTP/1.0 and HTTP/1.1 only, token methods, no obs-fold, no whitespace
// before a colon, no controls in names or values, exactly one valid Host in HTTP/1.1, at most
// one Content-Length with a single value, never Content-Length with Transfer-Encoding, chunked
// as the final and only-once transfer coding, no Transfer-Encoding in HTTP/1.0.
func ParseRequest(buf []byte, r *Request) (n int, err error) {
	h := &r.Headers
	lim := r.Limits.resolved()
	if h.stage == stageLine || h.stage == stageFields {
		if len(buf) < int(h.scanned) {
			r.Reset() // not the same stream: start over rather than read stale offsets
		} else if h.resume(buf) {
			h.buf = buf
			return 0, h.limitsNeedMore(buf, &lim, ErrRequestLineTooLong)
		}
	} else {
		r.Reset()
	}
	h.buf = buf
	if h.stage == stageStart {
		h.stage = stageLine
	}
	if h.stage == stageLine {
		err = r.parseRequestLine(buf, &lim)
		if err != nil {
			return 0, r.fail(buf, &lim, err)
		}
		h.stage = stageFields
	}
	n, err = h.parseFields(buf, int(h.pos), &lim)
	if err != nil {
		return 0, r.fail(buf, &lim, err)
	}
	if err = r.finish(); err != nil {
		h.stage = stageDone
		return 0, err
	}
	h.stage = stageDone
	h.buf = buf[:n:n]
	r.headLen = int32(n)
	return n, nil
}

func (r *Request) fail(buf []byte, lim *Limits, err error) error {
	if err == ErrNeedMore {
		return r.Headers.needMore(buf, lim, ErrRequestLineTooLong)
	}
	r.Headers.stage = stageDone
	return err
}

// parseRequestLine parses request-line = method SP request-target SP HTTP-version CRLF
// (RFC 9112 3) and leaves h.pos at the first field line.
func (r *Request) parseRequestLine(buf []byte, lim *Limits) error {
	h := &r.Headers
	i, err := skipEmptyLines(buf, int(h.pos))
	h.pos = int32(i)
	if err != nil {
		return err
	}
	if i > lim.MaxHeaderBytes {
		return ErrHeaderTooLarge
	}
	ls := i
	for i < len(buf) && tokenTable[buf[i]] {
		i++
	}
	if i >= len(buf) {
		return ErrNeedMore
	}
	if buf[i] != ' ' || i == ls {
		return ErrBadMethod // RFC 9110 9.1: method = token
	}
	me := i
	i++
	ts := i
	for i+8 <= len(buf) {
		if m := targetMask(binary.LittleEndian.Uint64(buf[i : i+8 : i+8])); m != 0 {
			i += bits.TrailingZeros64(m) >> 3 // the lowest flagged byte is exact
			break
		}
		i += 8
	}
	for i < len(buf) && targetTable[buf[i]] {
		i++
	}
	if i-ls > lim.MaxRequestLine {
		return ErrRequestLineTooLong
	}
	if i >= len(buf) {
		return ErrNeedMore
	}
	if buf[i] != ' ' {
		if i > ts && buf[i] != '\r' && buf[i] != '\n' {
			return ErrBadTarget
		}
		// "GET /\r\n" is an HTTP/0.9 simple request, which RFC 9112 does not define.
		return ErrBadRequestLine
	}
	if i == ts {
		return ErrBadRequestLine // RFC 9112 3: exactly one SP; we do not parse on runs of whitespace
	}
	te := i
	i++
	var minor int
	if i+10 <= len(buf) && buf[i+8] == '\r' && buf[i+9] == '\n' &&
		binary.LittleEndian.Uint64(buf[i:i+8:i+8])&^(0xff<<56) == httpVersionPrefix &&
		(buf[i+7] == '1' || buf[i+7] == '0') {
		minor = int(buf[i+7] - '0') // the usual "HTTP/1.1\r\n" in one compare
		i += 8
	} else {
		if minor, err = parseVersion(buf[i:min(i+8, len(buf))]); err != nil {
			return err
		}
		i += 8
		if err := lineEnd(buf, i, ErrBadVersion); err != nil {
			return err
		}
	}
	if i-ls > lim.MaxRequestLine {
		return ErrRequestLineTooLong
	}
	i += 2
	r.lineStart, r.methodEnd, r.targetStart, r.targetEnd = int32(ls), int32(me), int32(ts), int32(te)
	r.minor = uint8(minor)
	if minor == 0 {
		h.flags |= flagHTTP10
	}
	r.method = lookupMethod(buf[ls:me])
	if err := r.classifyTarget(buf[ts:te], ts); err != nil {
		return err
	}
	h.pos = int32(i)
	return nil
}

// classifyTarget sorts the request-target into its RFC 9112 3.2 form; off is its offset in buf.
func (r *Request) classifyTarget(t []byte, off int) error {
	if !validPercentEncoding(t) {
		return ErrBadTarget
	}
	switch {
	case t[0] == '/':
		if r.method == MethodConnect {
			return ErrBadTarget // 3.2.3: CONNECT takes authority-form only
		}
		r.form = FormOrigin
		r.setPathQuery(t, off)
	case len(t) == 1 && t[0] == '*':
		if r.method != MethodOptions {
			return ErrBadTarget // 3.2.4: asterisk-form is for server-wide OPTIONS only
		}
		r.form = FormAsterisk
	case r.method == MethodConnect:
		// 3.2.3: authority-form = uri-host ":" port; no userinfo, no path.
		if !validHost(t, true) {
			return ErrBadTarget
		}
		r.form = FormAuthority
		r.authStart, r.authEnd = int32(off), int32(off+len(t))
	default:
		// 3.2.2: absolute-form, which proxies receive. We require scheme "://" authority so
		// that "host:port" is never mistaken for a scheme, and reject userinfo ('@'), which
		// RFC 9110 4.2.4 says to treat as an error.
		j := 0
		for j < len(t) && (lowerTable[t[j]] >= 'a' && lowerTable[t[j]] <= 'z' ||
			j > 0 && (isDigit(t[j]) || t[j] == '+' || t[j] == '-' || t[j] == '.')) {
			j++
		}
		if j == 0 || j+3 > len(t) || t[j] != ':' || t[j+1] != '/' || t[j+2] != '/' {
			return ErrBadTarget
		}
		as := j + 3
		ae := as
		for ae < len(t) && t[ae] != '/' && t[ae] != '?' {
			ae++
		}
		if ae == as || !validHost(t[as:ae], false) {
			return ErrBadTarget
		}
		r.form = FormAbsolute
		r.authStart, r.authEnd = int32(off+as), int32(off+ae)
		r.setPathQuery(t[ae:], off+ae)
	}
	return nil
}

func (r *Request) setPathQuery(t []byte, off int) {
	q := bytes.IndexByte(t, '?')
	if q < 0 {
		r.pathStart, r.pathEnd = int32(off), int32(off+len(t))
		return
	}
	r.pathStart, r.pathEnd = int32(off), int32(off+q)
	r.queryStart = int32(off + q + 1)
}

// finish applies the rules that need the whole header section.
func (r *Request) finish() error {
	h := &r.Headers
	if r.method == MethodConnect {
		// RFC 9110 9.3.6: a CONNECT request has no content; the bytes after the head belong
		// to the tunnel. Transfer-Encoding is still checked above and below like any request.
		r.framing = FramingNone
		if h.flags&flagTransferEnc != 0 && h.flags&flagChunkedLast == 0 {
			return ErrBadTransferEncoding
		}
	} else if h.flags&flagTransferEnc != 0 {
		// RFC 9112 6.3 rule 4: a request whose final coding is not chunked cannot be framed.
		if h.flags&flagChunkedLast == 0 {
			return ErrBadTransferEncoding
		}
		r.framing = FramingChunked
	} else if h.flags&flagContentLength != 0 {
		r.framing = FramingLength
	} else {
		r.framing = FramingNone // 6.3 rule 7
	}
	if r.minor == 1 && h.host == 0 {
		return ErrMissingHost // RFC 9112 3.2
	}
	return nil
}

// Method returns the request method as received.
func (r *Request) Method() []byte { return r.buf[r.lineStart:r.methodEnd:r.methodEnd] }

// MethodID returns the method as a Method, MethodOther for extension methods.
func (r *Request) MethodID() Method { return r.method }

// Target returns the request-target as received.
func (r *Request) Target() []byte { return r.buf[r.targetStart:r.targetEnd:r.targetEnd] }

// TargetForm returns the form of the request-target.
func (r *Request) TargetForm() TargetForm { return r.form }

var slash = []byte("/")

// Path returns the raw (not normalized) path of an origin-form or absolute-form target, without
// the query. An absolute-form target with an empty path gives "/" (RFC 9110 4.2.3); other forms
// give nil. The result must not be modified.
func (r *Request) Path() []byte {
	switch r.form {
	case FormOrigin:
	case FormAbsolute:
		if r.pathEnd == r.pathStart {
			return slash
		}
	default:
		return nil
	}
	return r.buf[r.pathStart:r.pathEnd:r.pathEnd]
}

// Query returns the query without the '?', nil when the target has none.
func (r *Request) Query() []byte {
	if r.queryStart == 0 {
		return nil
	}
	return r.buf[r.queryStart:r.targetEnd:r.targetEnd]
}

// Minor returns the minor HTTP version, 0 or 1.
func (r *Request) Minor() int { return int(r.minor) }

// Host returns the authority the request is for: the target's authority for absolute-form and
// authority-form (RFC 9112 3.2.2: it overrides the Host field), else the Host field (nil when
// absent, which only HTTP/1.0 allows).
func (r *Request) Host() []byte {
	if r.form == FormAbsolute || r.form == FormAuthority {
		return r.buf[r.authStart:r.authEnd:r.authEnd]
	}
	return r.value(r.host)
}

// ContentLength returns the Content-Length, -1 when absent.
func (r *Request) ContentLength() int64 { return r.contentLength }

// Framing returns how the request body is delimited: FramingNone, FramingLength or
// FramingChunked (RFC 9112 6.3). FramingLength with ContentLength 0 means an empty body. A
// CONNECT request is always FramingNone (RFC 9110 9.3.6): what follows it is tunnel data.
func (r *Request) Framing() Framing { return r.framing }

// KeepAlive reports whether the connection may carry another request after this one (RFC 9112
// 9.3): HTTP/1.1 unless "close" is a Connection option; HTTP/1.0 only with "keep-alive".
func (r *Request) KeepAlive() bool {
	if r.flags&flagConnClose != 0 {
		return false
	}
	return r.minor == 1 || r.flags&flagConnKeepAlive != 0
}

// Upgrade returns the Upgrade field value when the request asks to switch protocols: HTTP/1.1
// with "upgrade" among the Connection options (RFC 9110 7.8 tells servers to ignore Upgrade in
// HTTP/1.0 and requires the option). Otherwise nil.
func (r *Request) Upgrade() []byte {
	if r.minor != 1 || r.flags&flagConnUpgrade == 0 {
		return nil
	}
	return r.value(r.upgrade)
}

// ExpectContinue reports "Expect: 100-continue" (RFC 9110 10.1.1) in an HTTP/1.1 request; the
// client waits for a 100 response before sending the body. HTTP/1.0 clients never wait.
func (r *Request) ExpectContinue() bool {
	return r.minor == 1 && r.flags&flagExpectContinue != 0
}

// TransferEncoding returns the first Transfer-Encoding field value, nil when absent.
func (r *Request) TransferEncoding() []byte { return r.value(r.transferEncoding) }

// TE returns the first TE field value (RFC 9110 10.1.4), nil when absent.
func (r *Request) TE() []byte { return r.value(r.te) }

// Trailer returns the first Trailer field value (RFC 9110 6.6.2), nil when absent.
func (r *Request) Trailer() []byte { return r.value(r.trailer) }

// HeadLen returns the length of the parsed head, 0 before a complete parse.
func (r *Request) HeadLen() int { return int(r.headLen) }

// Bytes returns the raw head, the first HeadLen bytes of the parsed buffer.
func (r *Request) Bytes() []byte {
	if r.headLen == 0 {
		return nil
	}
	return r.buf[:r.headLen:r.headLen]
}

// targetMask flags (high bit per byte, little-endian) the bytes of x that are not target bytes
// (isTargetByte): controls, SP, DEL, non-ASCII and '#'. Bytes above a flagged byte may be
// flagged too; the lowest flag is exact.
func targetMask(x uint64) uint64 {
	const lo = 0x0101010101010101
	const hi = 0x8080808080808080
	y := x ^ (lo * 0x7f)
	z := x ^ (lo * '#')
	return ((x-lo*0x21)&^x | (y-lo)&^y | (z-lo)&^z | x) & hi
}

// httpVersionPrefix is "HTTP/1." loaded little-endian, the 8th byte masked off.
const httpVersionPrefix = uint64('H') | uint64('T')<<8 | uint64('T')<<16 | uint64('P')<<24 |
	uint64('/')<<32 | uint64('1')<<40 | uint64('.')<<48

// validPercentEncoding checks that every '%' starts a pct-encoded triplet (RFC 3986 2.1). A
// malformed escape is decoded differently by different servers, so a router and the upstream
// could disagree about the path.
func validPercentEncoding(t []byte) bool {
	for {
		k := bytes.IndexByte(t, '%')
		if k < 0 {
			return true
		}
		if k+2 >= len(t) || !isHex(t[k+1]) || !isHex(t[k+2]) {
			return false
		}
		t = t[k+3:]
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= lowerTable[c] && lowerTable[c] <= 'f'
}
