package bench

import "errors"

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

// errNeedMore means the buffer ends before the element being parsed does.
var errNeedMore = errors.New("bench: need more data")

// chunkedBody walks a chunked body and discards its data.
type chunkedBody interface {
	// decode consumes a prefix of p and reports how much; errNeedMore is
	// never returned, a zero count with a nil error means "feed more".
	decode(p []byte) (n int, err error)
	// done reports whether the last chunk and trailer section were read.
	done() bool
	reset()
}
