package bench

// Interim response framing used until package http1 lands in the tree; this
// file is deleted then and http1_framing.go takes over the same functions.

import (
	"bytes"
	"errors"
	"strconv"
)

var (
	errBadStatusLine = errors.New("bench: malformed status line")
	errBadHeader     = errors.New("bench: malformed header field")
	errBadLength     = errors.New("bench: invalid Content-Length")
	errBadChunk      = errors.New("bench: malformed chunked body")
	errHeadTooLarge  = errors.New("bench: response head too large")
)

const maxHeadBytes = 64 << 10

func parseResponseHead(buf []byte, isHead bool) (responseHead, error) {
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		if len(buf) > maxHeadBytes {
			return responseHead{}, errHeadTooLarge
		}
		return responseHead{}, errNeedMore
	}
	h := responseHead{size: end + 4}
	line, rest, _ := bytes.Cut(buf[:end+2], []byte("\r\n"))
	// status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return h, errBadStatusLine
	}
	minor := line[7]
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return h, errBadStatusLine
		}
	}
	h.status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	h.close = minor == '0'
	length, chunked, haveLength := int64(0), false, false
	for len(rest) > 0 {
		var field []byte
		field, rest, _ = bytes.Cut(rest, []byte("\r\n"))
		name, value, ok := bytes.Cut(field, []byte(":"))
		if !ok || len(name) == 0 || bytes.ContainsAny(name, " \t") {
			return h, errBadHeader
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || (haveLength && n != length) {
				return h, errBadLength
			}
			length, haveLength = n, true
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.HasSuffix(bytes.ToLower(value), []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			v := bytes.ToLower(value)
			if bytes.Contains(v, []byte("close")) {
				h.close = true
			} else if bytes.Contains(v, []byte("keep-alive")) {
				h.close = false
			}
		}
	}
	switch {
	case isHead || h.status < 200 || h.status == 204 || h.status == 304:
		h.framing = bodyNone
	case chunked:
		h.framing = bodyChunked
	case haveLength:
		h.framing, h.length = bodyLength, length
	default:
		h.framing = bodyUntilClose
	}
	return h, nil
}

type interimChunked struct {
	state   uint8 // 0 size line, 1 data, 2 CRLF after data, 3 trailers, 4 done
	remain  int64
	trailer bool // inside a non-empty trailer line
}

func newChunkedBody() chunkedBody { return &interimChunked{} }

func (c *interimChunked) reset()     { *c = interimChunked{} }
func (c *interimChunked) done() bool { return c.state == 4 }

func (c *interimChunked) decode(p []byte) (int, error) {
	n := 0
	for n < len(p) && c.state != 4 {
		switch c.state {
		case 0:
			i := bytes.IndexByte(p[n:], '\n')
			if i < 0 {
				if len(p)-n > 1024 {
					return n, errBadChunk
				}
				return n, nil
			}
			line := bytes.TrimRight(p[n:n+i], "\r")
			if j := bytes.IndexByte(line, ';'); j >= 0 {
				line = line[:j]
			}
			size, err := strconv.ParseInt(string(bytes.TrimSpace(line)), 16, 64)
			if err != nil || size < 0 {
				return n, errBadChunk
			}
			n += i + 1
			if size == 0 {
				c.state = 3
			} else {
				c.state, c.remain = 1, size
			}
		case 1:
			k := int64(len(p) - n)
			if k > c.remain {
				k = c.remain
			}
			n += int(k)
			c.remain -= k
			if c.remain == 0 {
				c.state = 2
			}
		case 2:
			i := bytes.IndexByte(p[n:], '\n')
			if i < 0 {
				if len(p)-n > 1 {
					return n, errBadChunk
				}
				return n, nil
			}
			n += i + 1
			c.state = 0
		case 3:
			i := bytes.IndexByte(p[n:], '\n')
			if i < 0 {
				return n, nil
			}
			empty := i == 0 || (i == 1 && p[n] == '\r')
			n += i + 1
			if empty {
				c.state = 4
			}
		}
	}
	return n, nil
}
