package http1

// Method identifies the well-known request methods of RFC 9110 9.3 and RFC 5789. Any other
// token is a valid extension method (RFC 9110 9.1) and reported as MethodOther; its name is in
// Request.Method.
type Method uint8

const (
	MethodOther Method = iota
	MethodGet
	MethodHead
	MethodPost
	MethodPut
	MethodDelete
	MethodConnect
	MethodOptions
	MethodTrace
	MethodPatch
)

var methodNames = [...]string{
	MethodOther:   "",
	MethodGet:     "GET",
	MethodHead:    "HEAD",
	MethodPost:    "POST",
	MethodPut:     "PUT",
	MethodDelete:  "DELETE",
	MethodConnect: "CONNECT",
	MethodOptions: "OPTIONS",
	MethodTrace:   "TRACE",
	MethodPatch:   "PATCH",
}

// String returns the method's name, or "" for MethodOther.
func (m Method) String() string {
	if int(m) < len(methodNames) {
		return methodNames[m]
	}
	return ""
}

// Idempotent reports whether the method is idempotent (RFC 9110 9.2.2), i.e. whether a proxy may
// retry it after a failure once the request was sent. Unknown methods are not.
func (m Method) Idempotent() bool {
	switch m {
	case MethodGet, MethodHead, MethodPut, MethodDelete, MethodOptions, MethodTrace:
		return true
	}
	return false
}

// lookupMethod recognises a method by length and first byte before comparing; methods are
// case-sensitive (RFC 9110 9.1), so "get" is an extension method.
func lookupMethod(b []byte) Method {
	switch len(b) {
	case 3:
		if b[0] == 'G' && string(b) == "GET" {
			return MethodGet
		}
		if b[0] == 'P' && string(b) == "PUT" {
			return MethodPut
		}
	case 4:
		if b[0] == 'P' && string(b) == "POST" {
			return MethodPost
		}
		if b[0] == 'H' && string(b) == "HEAD" {
			return MethodHead
		}
	case 5:
		if b[0] == 'P' && string(b) == "PATCH" {
			return MethodPatch
		}
		if b[0] == 'T' && string(b) == "TRACE" {
			return MethodTrace
		}
	case 6:
		if string(b) == "DELETE" {
			return MethodDelete
		}
	case 7:
		if b[0] == 'O' && string(b) == "OPTIONS" {
			return MethodOptions
		}
		if b[0] == 'C' && string(b) == "CONNECT" {
			return MethodConnect
		}
	}
	return MethodOther
}

// TargetForm is the form of a request-target (RFC 9112 3.2).
type TargetForm uint8

const (
	FormOrigin    TargetForm = iota // "/path?query" (3.2.1)
	FormAbsolute                    // "http://host/path?query" (3.2.2), sent to proxies
	FormAuthority                   // "host:port", CONNECT only (3.2.3)
	FormAsterisk                    // "*", OPTIONS only (3.2.4)
)

// Framing says how a message body is delimited (RFC 9112 6.3).
type Framing uint8

const (
	FramingNone    Framing = iota // no body
	FramingLength                 // Content-Length bytes (possibly 0)
	FramingChunked                // chunked transfer coding, ends with the last chunk and trailers
	FramingClose                  // responses only: the body runs until the connection closes
)

func (f Framing) String() string {
	switch f {
	case FramingNone:
		return "none"
	case FramingLength:
		return "length"
	case FramingChunked:
		return "chunked"
	case FramingClose:
		return "close"
	}
	return "invalid"
}
