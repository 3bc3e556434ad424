package http1

import "bytes"

// The incremental driver shared by requests and responses.
//
// A head is parsed line by line. Complete lines are parsed once and their results kept; the
// line cut by the end of the buffer is parsed as far as it goes, so that an invalid byte is
// reported as soon as it arrives. To keep a head fed one byte at a time linear rather than
// quadratic, a later call re-parses that cut line only when the new bytes hold a line feed,
// the cut line is short (<= partialReparse bytes) or it has doubled since it was last parsed;
// otherwise it only checks the limits. The complete head is always fully validated.

const partialReparse = 256

// resume decides whether a call after ErrNeedMore can return ErrNeedMore at once.
func (h *Headers) resume(buf []byte) (skip bool) {
	fresh := buf[h.scanned:]
	h.scanned = int32(len(buf))
	if bytes.IndexByte(fresh, '\n') >= 0 {
		return false
	}
	cut := int32(len(buf)) - h.pos
	return cut > partialReparse && cut < 2*h.partial
}

// needMore records where parsing stopped and applies the limits to the unfinished head.
func (h *Headers) needMore(buf []byte, lim *Limits, lineErr *Error) error {
	h.scanned = int32(len(buf))
	h.partial = int32(len(buf)) - h.pos
	return h.limitsNeedMore(buf, lim, lineErr)
}

func (h *Headers) limitsNeedMore(buf []byte, lim *Limits, lineErr *Error) error {
	if h.stage <= stageLine {
		// A start line longer than the limit (CRLF excluded) cannot become valid.
		cut := len(buf) - int(h.pos)
		if cut > lim.MaxRequestLine+1 || cut == lim.MaxRequestLine+1 && buf[len(buf)-1] != '\r' {
			h.stage = stageDone
			return lineErr
		}
	}
	if len(buf) >= lim.MaxHeaderBytes {
		h.stage = stageDone
		return ErrHeaderTooLarge
	}
	return ErrNeedMore
}

// skipEmptyLines skips the CRLFs a server SHOULD ignore before a request line (RFC 9112 2.2),
// which also absorbs the stray CRLF some clients send after a body. Responses get the same
// treatment (llhttp does too): a stray CRLF after a body cannot start a different message.
// The skipped bytes count against MaxHeaderBytes.
func skipEmptyLines(buf []byte, i int) (int, error) {
	for i < len(buf) {
		switch buf[i] {
		case '\r':
			if i+1 >= len(buf) {
				return i, ErrNeedMore
			}
			if buf[i+1] != '\n' {
				return i, ErrBareCR
			}
			i += 2
		case '\n':
			return i, ErrBareLF
		default:
			return i, nil
		}
	}
	return i, ErrNeedMore
}

// parseVersion reads "HTTP/1.0" or "HTTP/1.1" at b (RFC 9112 2.3), possibly cut short, and returns
// the minor version. A well-formed other version is 505; anything else is malformed.
func parseVersion(b []byte) (minor int, err error) {
	const proto = "HTTP/1.1"
	if len(b) >= 8 {
		if b[0] == 'H' && b[1] == 'T' && b[2] == 'T' && b[3] == 'P' && b[4] == '/' && b[5] == '1' && b[6] == '.' {
			switch b[7] {
			case '1':
				return 1, nil
			case '0':
				return 0, nil
			}
		}
		if string(b[:5]) != "HTTP/" || !isDigit(b[5]) || b[6] != '.' || !isDigit(b[7]) {
			return 0, ErrBadVersion
		}
		return 0, ErrUnsupportedVersion
	}
	for i, c := range b {
		switch {
		case i < 5:
			if c != proto[i] {
				return 0, ErrBadVersion
			}
		case i == 6:
			if c != '.' {
				return 0, ErrBadVersion
			}
		default:
			// A digit other than 1 may still end as "HTTP/2.0" (505) or "HTTP/01.1" (400):
			// decide when all 8 bytes are here, so the verdict does not depend on the split.
			if !isDigit(c) {
				return 0, ErrBadVersion
			}
		}
	}
	return 0, ErrNeedMore
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lineEnd checks for CRLF at buf[i:], possibly cut short; other is the error for any other byte.
func lineEnd(buf []byte, i int, other *Error) error {
	if i >= len(buf) {
		return ErrNeedMore
	}
	switch buf[i] {
	case '\r':
		if i+1 >= len(buf) {
			return ErrNeedMore
		}
		if buf[i+1] != '\n' {
			return ErrBareCR
		}
		return nil
	case '\n':
		return ErrBareLF
	}
	return other
}
