package bench

import (
	"errors"

	"github.com/sluice-gw/sluice/http1"
)

// bodyFraming says how the end of a response body is found (RFC 9112 §6.3).
type bodyFraming uint8

const (
	bodyNone       bodyFraming = iota // HEAD, 1xx, 204, 304: no body at all
	bodyLength                        // Content-Length bytes follow the head
	bodyChunked                       // chunked transfer coding
	bodyUntilClose                    // body ends when the server closes
)

// responseHead is what the load loop needs from a parsed response head. It
// holds no references into the read buffer, so the buffer can be compacted.
type responseHead struct {
	size    int // bytes of status line and header section, CRLFs included
	status  int
	framing bodyFraming
	length  int64 // body bytes when framing is bodyLength
	close   bool  // the server will close after this response
}

// errHeadTooLarge: a response head filled the whole read buffer.
var errHeadTooLarge = errors.New("bench: response head larger than the read buffer")

// responseParser frames responses with package http1. It is owned by one
// connection; http1.Response resumes a partial parse when called again with
// the same bytes plus more, which the read loop guarantees (compaction moves
// the unparsed bytes but keeps them in order at the buffer start).
type responseParser struct {
	resp http1.Response
}

// parse parses the head at the start of buf. isHead selects RFC 9112 §6.3
// rule 1 (no body after a response to HEAD). It returns http1.ErrNeedMore
// when buf ends inside the head.
func (p *responseParser) parse(buf []byte, isHead bool) (responseHead, error) {
	n, err := http1.ParseResponse(buf, &p.resp)
	if err != nil {
		return responseHead{}, err
	}
	method := http1.MethodGet // every method but HEAD and CONNECT frames alike
	if isHead {
		method = http1.MethodHead
	}
	h := responseHead{size: n, status: p.resp.Status(), close: !p.resp.KeepAlive()}
	switch p.resp.Framing(method) {
	case http1.FramingNone:
		h.framing = bodyNone
	case http1.FramingLength:
		h.framing, h.length = bodyLength, p.resp.ContentLength()
	case http1.FramingChunked:
		h.framing = bodyChunked
	default:
		h.framing, h.close = bodyUntilClose, true
	}
	return h, nil
}
