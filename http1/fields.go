package http1

import (
	"encoding/binary"
	"math/bits"
)

// hasCtl reports whether any of the 8 bytes of x is below 0x20 or is 0x7f (DEL): the bytes a
// field value may not hold, except HTAB which the byte loop then accepts. Bytes >= 0x80
// (obs-text) never match. See "Bit Twiddling Hacks", hasless / haszero.
func hasCtl(x uint64) bool { return ctlMask(x) != 0 }

// ctlMask is nonzero when x holds a control byte or DEL; OR two masks to test 16 bytes with
// one branch.
func ctlMask(x uint64) uint64 {
	const lo = 0x0101010101010101
	const hi = 0x8080808080808080
	y := x ^ (lo * 0x7f)
	return ((x-lo*0x20) & ^x | (y-lo) & ^y) & hi
}

// parseFields parses header field lines from buf[i:] up to and including the empty line that
// ends the head. It returns the head length. On ErrNeedMore h.pos is the start of the cut line;
// every complete line before it is stored, so the next call resumes there.
func (h *Headers) parseFields(buf []byte, start int, lim *Limits) (int, error) {
	maxBytes := uint(lim.MaxHeaderBytes)
	maxFields := lim.MaxHeaders
	n := uint(len(buf))
	i := uint(start) // unsigned indexes let the compiler drop the bounds checks below
	for {
		if i > maxBytes {
			return 0, ErrHeaderTooLarge
		}
		h.pos = int32(i)
		if i >= n {
			return 0, ErrNeedMore
		}
		c := buf[i]
		if c == '\r' {
			if i+1 >= n {
				return 0, ErrNeedMore
			}
			if buf[i+1] != '\n' {
				return 0, ErrBareCR
			}
			if i+2 > maxBytes {
				return 0, ErrHeaderTooLarge
			}
			return int(i + 2), nil
		}
		if c == '\n' {
			return 0, ErrBareLF // RFC 9112 2.2: we require CRLF; a bare LF is where parsers disagree
		}
		if c == ' ' || c == '\t' {
			// RFC 9112 2.2: whitespace before the first field may hide a field from some
			// parsers and not others; later it is obs-fold, which 5.2 lets a proxy reject.
			if len(h.fields) == 0 {
				return 0, ErrWhitespaceAfterLine
			}
			return 0, ErrObsFold
		}

		nameStart := i
		for i+4 <= n {
			b := buf[i : i+4 : i+4]
			if !tokenTable[b[0]] || !tokenTable[b[1]] || !tokenTable[b[2]] || !tokenTable[b[3]] {
				break
			}
			i += 4
		}
		for i < n && tokenTable[buf[i]] {
			i++
		}
		if i >= n {
			return 0, ErrNeedMore
		}
		if buf[i] != ':' {
			if (buf[i] == ' ' || buf[i] == '\t') && i > nameStart {
				// RFC 9112 5.1: whitespace between name and colon MUST be rejected; tell it
				// apart from whitespace inside a name.
				for i < n && (buf[i] == ' ' || buf[i] == '\t') {
					i++
				}
				if i >= n {
					return 0, ErrNeedMore
				}
				if buf[i] == ':' {
					return 0, ErrSpaceBeforeColon
				}
			}
			return 0, ErrBadHeaderName
		}
		if i == nameStart {
			return 0, ErrBadHeaderName
		}
		nameEnd := i
		i++
		for i < n && (buf[i] == ' ' || buf[i] == '\t') {
			i++
		}
		valueStart := i
		// 8 bytes at a time; the lowest flagged byte of the mask is exact, so jump to it and
		// go on only when it is an HTAB (allowed in values).
		for i+8 <= n {
			m := ctlMask(binary.LittleEndian.Uint64(buf[i : i+8 : i+8]))
			if m == 0 {
				i += 8
				continue
			}
			i += uint(bits.TrailingZeros64(m)) >> 3
			if buf[i] != '\t' {
				break
			}
			i++
		}
		for i < n && valueTable[buf[i]] {
			i++
		}
		if i+1 >= n {
			if i < n && buf[i] != '\r' && !valueTable[buf[i]] {
				if buf[i] == '\n' {
					return 0, ErrBareLF
				}
				return 0, ErrBadHeaderValue
			}
			return 0, ErrNeedMore
		}
		switch buf[i] {
		case '\r':
			if buf[i+1] != '\n' {
				return 0, ErrBareCR
			}
		case '\n':
			return 0, ErrBareLF
		default:
			return 0, ErrBadHeaderValue // NUL, controls and DEL: RFC 9110 5.5
		}
		valueEnd := i
		for valueEnd > valueStart && buf[valueEnd-1] <= ' ' { // only SP and HTAB get here
			valueEnd--
		}
		i += 2
		if len(h.fields) >= maxFields {
			return 0, ErrTooManyHeaders
		}
		h.fields = append(h.fields, field{int32(nameStart), int32(nameEnd), int32(valueStart), int32(valueEnd)})
		// Only the fields that decide framing or reuse need a second look; their names are
		// 2..17 bytes long and start with one of a few letters.
		if l := nameEnd - nameStart; l >= 2 && l <= 17 && wellKnownFirst[buf[nameStart]] {
			if err := h.noteField(buf, int(nameStart), int(nameEnd), int(valueStart), int(valueEnd)); err != nil {
				return 0, err
			}
		}
	}
}

// wellKnownFirst marks the first letters of the names noteField looks at.
var wellKnownFirst = func() (t [256]bool) {
	for _, c := range "tThHeEuUcC" {
		t[c] = true
	}
	return t
}()

// noteField records what the well-known fields say about framing and the connection. Names are
// recognised by length and first byte before the case-insensitive compare.
func (h *Headers) noteField(buf []byte, ns, ne, vs, ve int) error {
	name := buf[ns:ne]
	idx := int32(len(h.fields)) // index+1 of the field just appended
	switch len(name) {
	case 2:
		if lowerTable[name[0]] == 't' && equalFold(name, "te") && h.te == 0 {
			h.te = idx
		}
	case 4:
		if h.flags&flagResponse == 0 && lowerTable[name[0]] == 'h' && equalFold(name, "host") {
			// RFC 9112 3.2: a request with more than one Host line or an invalid one gets 400.
			if h.host != 0 {
				return ErrDuplicateHost
			}
			if !validHost(buf[vs:ve], false) {
				return ErrBadHost
			}
			h.host = idx
		}
	case 6:
		if lowerTable[name[0]] == 'e' && equalFold(name, "expect") {
			if h.expect == 0 {
				h.expect = idx
			}
			// RFC 9110 10.1.1: the expectation token is case-insensitive.
			if equalFold(buf[vs:ve], "100-continue") {
				h.flags |= flagExpectContinue
			}
		}
	case 7:
		switch lowerTable[name[0]] {
		case 'u':
			if equalFold(name, "upgrade") && h.upgrade == 0 {
				h.upgrade = idx
			}
		case 't':
			if equalFold(name, "trailer") && h.trailer == 0 {
				h.trailer = idx
			}
		}
	case 10:
		if lowerTable[name[0]] == 'c' && equalFold(name, "connection") {
			if h.connection == 0 {
				h.connection = idx
			}
			h.noteConnection(buf[vs:ve])
		}
	case 14:
		if lowerTable[name[0]] == 'c' && equalFold(name, "content-length") {
			return h.noteContentLength(buf[vs:ve])
		}
	case 17:
		if lowerTable[name[0]] == 't' && equalFold(name, "transfer-encoding") {
			if h.transferEncoding == 0 {
				h.transferEncoding = idx
			}
			return h.noteTransferEncoding(buf[vs:ve])
		}
	}
	return nil
}

// noteConnection sets the connection options that decide reuse (RFC 9112 9.3, 9.6).
func (h *Headers) noteConnection(v []byte) {
	if len(v) == 10 && equalFold(v, "keep-alive") { // the usual single option
		h.flags |= flagConnKeepAlive
		return
	}
	for len(v) > 0 {
		var e []byte
		e, v = nextListElem(v)
		switch len(e) {
		case 5:
			if equalFold(e, "close") {
				h.flags |= flagConnClose
			}
		case 10:
			if equalFold(e, "keep-alive") {
				h.flags |= flagConnKeepAlive
			}
		case 7:
			if equalFold(e, "upgrade") {
				h.flags |= flagConnUpgrade
			}
		}
	}
}

// noteContentLength parses Content-Length = 1*DIGIT (RFC 9110 8.6). A second field, or a list
// such as "5, 5" that RFC 9110 8.6 allows a recipient to collapse, is rejected: a proxy that
// collapses it while the next hop does not is the classic smuggling gap. Leading zeros are
// digits and accepted ("003" is 3).
func (h *Headers) noteContentLength(v []byte) error {
	if h.flags&flagContentLength != 0 {
		return ErrDuplicateContentLength
	}
	if h.flags&flagTransferEnc != 0 {
		return ErrContentLengthAndTransferEncoding
	}
	if len(v) == 0 {
		return ErrBadContentLength
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			if c == ',' {
				return ErrDuplicateContentLength
			}
			return ErrBadContentLength
		}
		d := int64(c - '0')
		if n > (1<<63-1-d)/10 {
			return ErrBadContentLength // would overflow int64
		}
		n = n*10 + d
	}
	h.flags |= flagContentLength
	h.contentLength = n
	return nil
}

// noteTransferEncoding reads one Transfer-Encoding field; several fields form one list (RFC 9110
// 5.3). RFC 9112 6.3 rule 3 lets a recipient let Transfer-Encoding override Content-Length, but
// when both are present one of the hops is being lied to: fail closed.
func (h *Headers) noteTransferEncoding(v []byte) error {
	if h.flags&flagContentLength != 0 {
		return ErrContentLengthAndTransferEncoding
	}
	if h.flags&flagHTTP10 != 0 {
		// RFC 9112 6.1: a Transfer-Encoding in an HTTP/1.0 message means faulty framing.
		return ErrTransferEncodingHTTP10
	}
	h.flags |= flagTransferEnc
	empty := true
	for len(v) > 0 {
		var c []byte
		c, v = nextListElem(v)
		if len(c) == 0 {
			continue
		}
		empty = false
		if h.flags&flagChunkedSeen != 0 {
			// RFC 9112 6.1: chunked MUST be the final coding and applied once. In a request
			// anything after it is an error; a response becomes close-delimited (6.3 rule 4)
			// unless chunked comes again, which is never valid.
			if equalFold(c, "chunked") {
				return ErrBadTransferEncoding
			}
			if h.flags&flagResponse == 0 {
				return ErrBadTransferEncoding
			}
		}
		if equalFold(c, "chunked") {
			h.flags |= flagChunkedSeen | flagChunkedLast
			continue
		}
		h.flags &^= flagChunkedLast
		if !knownCoding(c) {
			if h.flags&flagResponse == 0 {
				return ErrUnsupportedTransferCoding
			}
			h.flags |= flagUnknownCoding
		}
	}
	if empty {
		return ErrBadTransferEncoding
	}
	return nil
}

// knownCoding: the transfer codings of RFC 9112 7 other than chunked. "identity" was removed by
// RFC 7230 and is unknown here (501), as are codings with parameters.
func knownCoding(c []byte) bool {
	switch len(c) {
	case 4:
		return equalFold(c, "gzip")
	case 6:
		return equalFold(c, "x-gzip")
	case 7:
		return equalFold(c, "deflate")
	case 8:
		return equalFold(c, "compress")
	case 10:
		return equalFold(c, "x-compress")
	}
	return false
}

// validHost checks an authority's host [":" port] (RFC 3986 3.2.2, 3.2.3). An empty value is
// valid in a Host field (RFC 9110 7.2) but not in a target; needPort is for CONNECT's
// authority-form (RFC 9112 3.2.3), which needs a port.
func validHost(b []byte, needPort bool) bool {
	if len(b) == 0 {
		return !needPort
	}
	i := 0
	if b[0] == '[' { // IP-literal
		i = 1
		for i < len(b) && b[i] != ']' {
			c := b[i]
			if !(c >= '0' && c <= '9' || lowerTable[c] >= 'a' && lowerTable[c] <= 'f' || c == ':' || c == '.') {
				return false
			}
			i++
		}
		if i >= len(b) || i == 1 {
			return false
		}
		i++
	} else {
		for i < len(b) && b[i] != ':' {
			if !hostTable[b[i]] {
				return false
			}
			i++
		}
		if i == 0 {
			return false
		}
	}
	if i == len(b) {
		return !needPort
	}
	if b[i] != ':' {
		return false
	}
	i++
	if i == len(b) {
		return !needPort // "host:" has an empty port, allowed by RFC 3986 but useless to CONNECT
	}
	for ; i < len(b); i++ {
		if b[i] < '0' || b[i] > '9' {
			return false
		}
	}
	return true
}
