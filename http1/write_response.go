package http1

import "strconv"

// ResponseOptions says how a response head is rewritten for the client.
type ResponseOptions struct {
	// Via is the pseudonym of the Via entry appended per RFC 9110 7.6.3; nil: no Via.
	Via []byte
	// Edits are the route's response header rewrites.
	Edits *HeaderEdits
	// Close adds "Connection: close": the proxy closes the client connection after this
	// response (the client asked for it, the body runs to the close, or the proxy is draining).
	Close bool
	// KeepAlive adds "Connection: keep-alive", which an HTTP/1.0 client needs to keep the
	// connection open (RFC 9112 9.3, C.2.2). Ignored when Close is set.
	KeepAlive bool
	// Chunked announces that the proxy chunks the body itself (AppendChunk, AppendLastChunk):
	// "chunked" is appended to the received transfer codings. Set it only for a body that runs
	// to the close (Framing is FramingClose) that the proxy re-frames to keep the client
	// connection open. It is ignored when the response has a Content-Length or chunked among
	// its codings (RFC 9112 6.1: chunked is applied once), when the proxy must close instead,
	// and for 1xx, 204 and 304 responses, which have no content. The writer cannot see a
	// response to HEAD: the caller must not set it then.
	Chunked bool
	// Upgrade keeps Upgrade and sends "Connection: upgrade" when the response switches
	// protocols (Response.Upgrade non-nil).
	Upgrade bool
	// ExtraFields are appended last; received fields of the same names are dropped.
	ExtraFields []Field
	// RawFields are complete header lines ("Name: value\r\n"), appended last as given: built by
	// the gateway's own phases (rate-limit fields) from validated names and values.
	RawFields []byte
	// Dechunk drops Transfer-Encoding: the proxy sends a chunked body's data alone, delimited
	// by the close, to an HTTP/1.0 client that cannot parse chunks (RFC 9112 6.1). Since the
	// close then ends the body, a response that had Transfer-Encoding gets "Connection: close"
	// whatever Close and KeepAlive say. Dechunk wins over Chunked.
	Dechunk bool
}

// Validate reports options that AppendResponseHead would have to skip.
func (o *ResponseOptions) Validate() error {
	if err := o.Edits.Validate(); err != nil {
		return err
	}
	if err := validFields(o.ExtraFields); err != nil {
		return err
	}
	if o.Via != nil && !isToken(o.Via) {
		return errorf("bad via pseudonym", o.Via)
	}
	return nil
}

// AppendResponseHead appends the head to send to the client for r: the status line in
// HTTP/1.1 with r's status and reason (StatusText when the reason is empty), the received
// fields minus hop-by-hop ones and edits, the received framing (Content-Length in canonical
// form, the Transfer-Encoding codings as one line: the body is forwarded as received, and a
// response to HEAD or a 304 keeps the Content-Length that describes the selected
// representation, RFC 9110 8.6), Via, Connection from the options, then the edits' Set and
// Add fields and ExtraFields. o may be nil. It does not allocate when dst has room.
//
// The writer does not know the request method: a caller tunnelling a 2xx response to CONNECT
// must not forward a body either way (RFC 9110 9.3.6).
func AppendResponseHead(dst []byte, r *Response, o *ResponseOptions) []byte {
	if o == nil {
		o = &ResponseOptions{}
	}
	h := &r.Headers

	dst = append(dst, "HTTP/1.1 "...)
	dst = appendStatusCode(dst, r.Status())
	dst = append(dst, ' ')
	if reason := r.Reason(); len(reason) > 0 {
		dst = append(dst, reason...)
	} else {
		dst = append(dst, StatusText(r.Status())...)
	}
	dst = append(dst, '\r', '\n')

	upgrade := o.Upgrade && r.Upgrade() != nil
	var conn connOptions
	conn.collect(h)
	for i := range h.fields {
		name := h.Name(i)
		if hopByHop(name, false) {
			continue
		}
		if len(name) == 7 && equalFold(name, "upgrade") {
			if !upgrade {
				continue
			}
		} else if conn.lists(name) {
			continue
		}
		if editedAway(name, o.Edits, o.ExtraFields) {
			continue
		}
		dst = append(dst, h.buf[h.fields[i].nameStart:h.fields[i].valueEnd]...)
		dst = append(dst, '\r', '\n')
	}

	if r.contentLength >= 0 {
		dst = appendContentLength(dst, r.contentLength)
	}
	if !o.Dechunk {
		// RFC 9112 6.1: no Transfer-Encoding in a 1xx or 204 response; a 304 has no content either.
		rechunk := o.Chunked && r.contentLength < 0 && r.flags&flagChunkedSeen == 0 &&
			r.status >= 200 && r.status != 204 && r.status != 304
		dst = appendTransferCodings(dst, h, rechunk)
	}
	if o.Via != nil {
		dst = appendVia(dst, r.Minor(), o.Via)
	}
	closing := o.Close || o.Dechunk && h.transferEncoding != 0
	switch {
	case closing && upgrade:
		dst = append(dst, "Connection: upgrade, close\r\n"...)
	case closing:
		dst = append(dst, "Connection: close\r\n"...)
	case upgrade:
		dst = append(dst, "Connection: upgrade\r\n"...)
	case o.KeepAlive:
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	if o.Edits != nil {
		dst = appendConfigFields(dst, o.Edits.Set)
		dst = appendConfigFields(dst, o.Edits.Add)
	}
	dst = appendConfigFields(dst, o.ExtraFields)
	dst = append(dst, o.RawFields...)
	return append(dst, '\r', '\n')
}

// maxErrorReason bounds the reason echoed by AppendErrorResponse.
const maxErrorReason = 256

// AppendErrorResponse appends a complete plain-text error response generated by the proxy:
// status line, Content-Type, Content-Length, "X-Sluice-Error: <reason>", "Connection: close"
// when close, and the body "<status> <text>: <reason>\n" ("<status>: <reason>\n" for a status
// without a registered text). Only 4xx and 5xx statuses carry such
// a body; any other status is written as 500. Control bytes in reason are dropped and it is cut
// to 256 bytes, so it can never split the head. It does not allocate when dst has room.
//
// A client knows that a response to HEAD has no content (RFC 9110 9.3.2), so it would read the
// body as the start of the next response: answer HEAD with close, or send only the head (the
// bytes up to the empty line).
func AppendErrorResponse(dst []byte, status int, reason string, close bool) []byte {
	return AppendErrorResponseFields(dst, status, reason, close, nil)
}

// AppendErrorResponseFields is AppendErrorResponse with extra header lines, each
// "Name: value\r\n", written as given (a rate limiter's Retry-After and RateLimit fields): the
// caller builds them from validated names and values.
func AppendErrorResponseFields(dst []byte, status int, reason string, close bool, fields []byte) []byte {
	if status < 400 || status > 599 {
		status = 500
	}
	text := StatusText(status)
	if len(reason) > maxErrorReason {
		reason = reason[:maxErrorReason]
	}
	clean := 0
	for i := 0; i < len(reason); i++ {
		if valueTable[reason[i]] {
			clean++
		}
	}

	dst = append(dst, "HTTP/1.1 "...)
	dst = appendStatusCode(dst, status)
	dst = append(dst, ' ')
	dst = append(dst, text...)
	dst = append(dst, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: "...)
	bodyLen := 3 + len(": ") + clean + 1
	if text != "" {
		bodyLen += 1 + len(text)
	}
	dst = strconv.AppendInt(dst, int64(bodyLen), 10)
	dst = append(dst, "\r\nX-Sluice-Error: "...)
	dst = appendCleanString(dst, reason)
	if close {
		dst = append(dst, "\r\nConnection: close"...)
	}
	dst = append(dst, '\r', '\n')
	dst = append(dst, fields...)
	dst = append(dst, '\r', '\n')
	dst = appendStatusCode(dst, status)
	if text != "" {
		dst = append(dst, ' ')
		dst = append(dst, text...)
	}
	dst = append(dst, ':', ' ')
	dst = appendCleanString(dst, reason)
	return append(dst, '\n')
}

func appendCleanString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if valueTable[s[i]] {
			dst = append(dst, s[i])
		}
	}
	return dst
}

// appendStatusCode writes a status as three digits; the parser guarantees 100..999.
func appendStatusCode(dst []byte, code int) []byte {
	if code < 100 || code > 999 {
		code = 500
	}
	return append(dst, byte('0'+code/100), byte('0'+code/10%10), byte('0'+code%10))
}

// StatusText returns the reason phrase RFC 9110 section 15 (and RFC 6585, 8297, 8470, 7538,
// 4918, 2295, 2774) registers for code, or "" when none. It does not allocate.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 101:
		return "Switching Protocols"
	case 102:
		return "Processing"
	case 103:
		return "Early Hints"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 203:
		return "Non-Authoritative Information"
	case 204:
		return "No Content"
	case 205:
		return "Reset Content"
	case 206:
		return "Partial Content"
	case 207:
		return "Multi-Status"
	case 208:
		return "Already Reported"
	case 226:
		return "IM Used"
	case 300:
		return "Multiple Choices"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 305:
		return "Use Proxy"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 402:
		return "Payment Required"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 407:
		return "Proxy Authentication Required"
	case 408:
		return "Request Timeout"
	case 409:
		return "Conflict"
	case 410:
		return "Gone"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 415:
		return "Unsupported Media Type"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 418:
		return "I'm a teapot"
	case 421:
		return "Misdirected Request"
	case 422:
		return "Unprocessable Content"
	case 423:
		return "Locked"
	case 424:
		return "Failed Dependency"
	case 425:
		return "Too Early"
	case 426:
		return "Upgrade Required"
	case 428:
		return "Precondition Required"
	case 429:
		return "Too Many Requests"
	case 431:
		return "Request Header Fields Too Large"
	case 451:
		return "Unavailable For Legal Reasons"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	case 506:
		return "Variant Also Negotiates"
	case 507:
		return "Insufficient Storage"
	case 508:
		return "Loop Detected"
	case 510:
		return "Not Extended"
	case 511:
		return "Network Authentication Required"
	}
	return ""
}
