package http1

// field is one header field line as offsets into the parsed buffer. int32 keeps the slice small;
// heads are bounded by Limits.MaxHeaderBytes, far below 2 GiB.
type field struct {
	nameStart, nameEnd, valueStart, valueEnd int32
}

// Headers is a parsed header section: views into the buffer given to ParseRequest or
// ParseResponse, valid while that buffer is unchanged. It also carries what the parser learned
// from the fields that decide framing and connection reuse. A Headers is not safe for
// concurrent use; it belongs to the connection that parses into it.
type Headers struct {
	buf    []byte
	fields []field

	contentLength int64 // -1 when absent
	flags         uint32

	// index+1 of the first field with that name; 0 when absent.
	host, transferEncoding, connection, upgrade, expect, te, trailer int32

	// incremental state between calls that returned ErrNeedMore.
	stage   uint8 // stageStart, stageFields, stageDone
	pos     int32 // start of the first line not yet parsed
	scanned int32 // len(buf) at the last ErrNeedMore
	partial int32 // length of the partial line parsed at the last ErrNeedMore
}

const (
	stageStart  uint8 = iota // nothing parsed: (re)start from the beginning of buf
	stageLine                // inside the start line or leading empty lines
	stageFields              // start line done, inside the header section
	stageDone                // a whole head was parsed (or failed): the next call starts over
)

const (
	flagContentLength  uint32 = 1 << iota // a Content-Length field was seen
	flagTransferEnc                       // a Transfer-Encoding field was seen
	flagChunkedLast                       // the last transfer coding so far is chunked
	flagChunkedSeen                       // chunked appeared in the coding list
	flagUnknownCoding                     // a coding other than the RFC 9112 7 registry
	flagConnClose                         // Connection: close
	flagConnKeepAlive                     // Connection: keep-alive
	flagConnUpgrade                       // Connection: upgrade
	flagExpectContinue                    // Expect: 100-continue
	flagHTTP10                            // the message is HTTP/1.0 (Transfer-Encoding checks)
	flagResponse                          // parsing a response (coding rules differ)
)

// reset forgets the parsed view but keeps the field slice's storage.
func (h *Headers) reset() {
	h.buf = nil
	h.fields = h.fields[:0]
	h.contentLength = -1
	h.flags = 0
	h.host, h.transferEncoding, h.connection, h.upgrade, h.expect, h.te, h.trailer = 0, 0, 0, 0, 0, 0, 0
	h.stage, h.pos, h.scanned, h.partial = stageStart, 0, 0, 0
}

// NumHeaders returns the number of header field lines.
func (h *Headers) NumHeaders() int { return len(h.fields) }

// Name returns the i-th field name as received (case preserved).
func (h *Headers) Name(i int) []byte {
	f := h.fields[i]
	return h.buf[f.nameStart:f.nameEnd:f.nameEnd]
}

// Value returns the i-th field value without leading and trailing whitespace (RFC 9112 5.1).
func (h *Headers) Value(i int) []byte {
	f := h.fields[i]
	return h.buf[f.valueStart:f.valueEnd:f.valueEnd]
}

// Peek returns the value of the first field named name (compared case-insensitively, RFC 9110
// 5.1), or nil when there is none. It does not allocate.
func (h *Headers) Peek(name string) []byte {
	if i := h.index(name); i >= 0 {
		return h.Value(i)
	}
	return nil
}

// Has reports whether a field named name (case-insensitive) is present.
func (h *Headers) Has(name string) bool { return h.index(name) >= 0 }

func (h *Headers) index(name string) int {
	for i, f := range h.fields {
		if int(f.nameEnd-f.nameStart) == len(name) && equalFold(h.buf[f.nameStart:f.nameEnd], name) {
			return i
		}
	}
	return -1
}

// value returns the value of the field at index+1 idx, nil for 0.
func (h *Headers) value(idx int32) []byte {
	if idx == 0 {
		return nil
	}
	return h.Value(int(idx - 1))
}

// ConnectionHas reports whether token is one of the comma-separated options of the Connection
// field(s) (RFC 9110 7.6.1), compared case-insensitively.
func (h *Headers) ConnectionHas(token string) bool {
	if h.connection == 0 {
		return false
	}
	for i := int(h.connection - 1); i < len(h.fields); i++ {
		f := h.fields[i]
		if f.nameEnd-f.nameStart != 10 || !equalFold(h.buf[f.nameStart:f.nameEnd], "connection") {
			continue
		}
		v := h.buf[f.valueStart:f.valueEnd]
		for len(v) > 0 {
			var elem []byte
			elem, v = nextListElem(v)
			if len(elem) == len(token) && equalFold(elem, token) {
				return true
			}
		}
	}
	return false
}

// nextListElem splits the first element off a comma-separated list (RFC 9110 5.6.1), trimming
// optional whitespace; empty elements come back empty and must be skipped by the caller.
func nextListElem(v []byte) (elem, rest []byte) {
	i := 0
	for i < len(v) && v[i] != ',' {
		i++
	}
	elem = trimOWS(v[:i])
	if i < len(v) {
		rest = v[i+1:]
	}
	return elem, rest
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// equalFold compares ASCII case-insensitively; b and s have the same length when it matters.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerTable[b[i]] != lowerTable[s[i]] {
			return false
		}
	}
	return true
}
