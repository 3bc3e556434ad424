package http1

import "encoding/binary"

// Response is a parsed response head: views into the buffer passed to ParseResponse, valid
// until that buffer is modified or reused. Set Limits once (MaxRequestLine bounds the status
// line); ParseResponse and Reset keep them. A Response is owned by one upstream connection and
// is not safe for concurrent use.
type Response struct {
	Headers
	Limits Limits
	statusLine
}

// statusLine holds what the status line says, zeroed in one store by Reset.
type statusLine struct {
	reasonStart, reasonEnd int32
	headLen                int32
	status                 uint16
	minor                  uint8
}

// Reset forgets the parsed response (and any partial parse) but keeps Limits and the storage
// for header fields.
func (r *Response) Reset() {
	r.Headers.reset()
	r.flags = flagResponse
	r.statusLine = statusLine{}
}

// ParseResponse parses the response head at the start of buf into r and returns its length,
// including the final CRLF. ErrNeedMore and the restart rules are as for ParseRequest. Errors
// are *Error values; a gateway answers 502 to its client and closes the upstream connection.
//
// A 1xx response is a complete interim head: parse again after it for the final response.
// Framing needs the request method (RFC 9112 6.3), see Response.Framing.
func ParseResponse(buf []byte, r *Response) (n int, err error) {
	h := &r.Headers
	lim := r.Limits.resolved()
	if h.stage == stageLine || h.stage == stageFields {
		if len(buf) < int(h.scanned) {
			r.Reset()
		} else if h.resume(buf) {
			h.buf = buf
			return 0, h.limitsNeedMore(buf, &lim, ErrStatusLineTooLong)
		}
	} else {
		r.Reset()
	}
	h.buf = buf
	if h.stage == stageStart {
		h.stage = stageLine
	}
	if h.stage == stageLine {
		if err = r.parseStatusLine(buf, &lim); err != nil {
			return 0, r.fail(buf, &lim, err)
		}
		h.stage = stageFields
	}
	n, err = h.parseFields(buf, int(h.pos), &lim)
	if err != nil {
		return 0, r.fail(buf, &lim, err)
	}
	h.stage = stageDone
	h.buf = buf[:n:n]
	r.headLen = int32(n)
	return n, nil
}

func (r *Response) fail(buf []byte, lim *Limits, err error) error {
	if err == ErrNeedMore {
		return r.Headers.needMore(buf, lim, ErrStatusLineTooLong)
	}
	r.Headers.stage = stageDone
	return err
}

// parseStatusLine parses status-line = HTTP-version SP status-code SP [reason-phrase] CRLF
// (RFC 9112 4). A missing SP after the code ("HTTP/1.1 200\r\n") is accepted: servers send it
// and it cannot change framing.
func (r *Response) parseStatusLine(buf []byte, lim *Limits) error {
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
	var minor int
	if i+8 <= len(buf) && binary.LittleEndian.Uint64(buf[i:i+8:i+8])&^(0xff<<56) == httpVersionPrefix &&
		(buf[i+7] == '1' || buf[i+7] == '0') {
		minor = int(buf[i+7] - '0') // the usual "HTTP/1.1" in one compare
	} else if minor, err = parseVersion(buf[i:min(i+8, len(buf))]); err != nil {
		return err
	}
	i += 8
	if i >= len(buf) {
		return ErrNeedMore
	}
	if buf[i] != ' ' {
		return ErrBadStatusLine
	}
	i++
	status := 0
	for k := 0; k < 3; k++ {
		if i >= len(buf) {
			return ErrNeedMore
		}
		if !isDigit(buf[i]) {
			return ErrBadStatus
		}
		status = status*10 + int(buf[i]-'0')
		i++
	}
	if status < 100 {
		return ErrBadStatus // RFC 9110 15: 100..599; 6xx-9xx are read as 5xx-like by clients
	}
	if i >= len(buf) {
		return ErrNeedMore
	}
	rs := i
	if buf[i] == ' ' {
		i++
		rs = i
		for i < len(buf) && valueTable[buf[i]] {
			i++
		}
	} else if buf[i] != '\r' && buf[i] != '\n' {
		return ErrBadStatus
	}
	if i-ls > lim.MaxRequestLine {
		return ErrStatusLineTooLong
	}
	if err := lineEnd(buf, i, ErrBadReason); err != nil {
		return err
	}
	r.reasonStart, r.reasonEnd = int32(rs), int32(i)
	r.status = uint16(status)
	r.minor = uint8(minor)
	if minor == 0 {
		h.flags |= flagHTTP10
	}
	h.pos = int32(i + 2)
	return nil
}

// Status returns the status code, 100..999.
func (r *Response) Status() int { return int(r.status) }

// Reason returns the reason phrase, possibly empty.
func (r *Response) Reason() []byte { return r.buf[r.reasonStart:r.reasonEnd:r.reasonEnd] }

// Minor returns the minor HTTP version, 0 or 1.
func (r *Response) Minor() int { return int(r.minor) }

// ContentLength returns the Content-Length, -1 when absent.
func (r *Response) ContentLength() int64 { return r.contentLength }

// Framing returns how the body of this response to a request with method req is delimited,
// following RFC 9112 6.3 in order: a response to HEAD, a 1xx, 204 or 304 has no body (rule 1);
// a 2xx to CONNECT starts a tunnel, no body (rule 2); Transfer-Encoding with chunked last is
// chunked, with another final coding it runs to the close (rule 4); then Content-Length (rule
// 6); else the body runs to the close (rule 8). Content-Length with Transfer-Encoding (rule 3)
// never gets here: ParseResponse rejects it.
func (r *Response) Framing(req Method) Framing {
	s := r.status
	if req == MethodHead || s < 200 || s == 204 || s == 304 {
		return FramingNone
	}
	if req == MethodConnect && s < 300 {
		return FramingNone
	}
	if r.flags&flagTransferEnc != 0 {
		if r.flags&flagChunkedLast != 0 {
			return FramingChunked
		}
		return FramingClose
	}
	if r.flags&flagContentLength != 0 {
		return FramingLength
	}
	return FramingClose
}

// KeepAlive reports whether the connection may be reused after this response as far as the head
// says (RFC 9112 9.3); a body framed by FramingClose also ends the connection.
func (r *Response) KeepAlive() bool {
	if r.flags&flagConnClose != 0 {
		return false
	}
	return r.minor == 1 || r.flags&flagConnKeepAlive != 0
}

// Upgrade returns the Upgrade field value of a 101 response that lists "upgrade" among its
// Connection options (RFC 9110 7.8, 15.2.2), else nil.
func (r *Response) Upgrade() []byte {
	if r.status != 101 || r.flags&flagConnUpgrade == 0 {
		return nil
	}
	return r.value(r.upgrade)
}

// HeadLen returns the length of the parsed head, 0 before a complete parse.
func (r *Response) HeadLen() int { return int(r.headLen) }

// Bytes returns the raw head, the first HeadLen bytes of the parsed buffer.
func (r *Response) Bytes() []byte {
	if r.headLen == 0 {
		return nil
	}
	return r.buf[:r.headLen:r.headLen]
}
