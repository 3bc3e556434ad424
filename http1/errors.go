package http1

import "errors"

// ErrNeedMore reports that the buffer ends before the message head does. Call the parser again
// with the same bytes followed by more input; the parser remembers how far it has validated, so
// a head fed in small pieces costs linear time.
var ErrNeedMore = errors.New("http1: need more data")

// Error is a parse failure. Status is the status code a server answers a malformed request with
// (400, 414, 431, 501 or 505); for a malformed response a gateway answers 502 whatever Status
// says. After an Error the connection must be closed: the framing of what follows is unknown.
type Error struct {
	Status int
	Reason string // short lower-case text, e.g. "bad header name"
}

func (e *Error) Error() string { return "http1: " + e.Reason }

// Sentinel parse errors, one per cause, so that logs and metrics can tell smuggling attempts apart
// from broken clients. Compare with ==; they are never wrapped.
var (
	// Limits (Limits type).
	ErrRequestLineTooLong = &Error{414, "request line too long"}    // RFC 9112 3: 414 for a long request-target
	ErrStatusLineTooLong  = &Error{502, "status line too long"}     // responses only
	ErrHeaderTooLarge     = &Error{431, "header section too large"} // RFC 6585 5
	ErrTooManyHeaders     = &Error{431, "too many header fields"}   // RFC 6585 5

	// Start line (RFC 9112 3 and 4).
	ErrBadMethod           = &Error{400, "bad method"}                  // RFC 9110 9.1: method = token
	ErrBadTarget           = &Error{400, "bad request target"}          // RFC 9112 3.2
	ErrBadRequestLine      = &Error{400, "bad request line"}            // RFC 9112 3: exactly one SP between the parts
	ErrBadVersion          = &Error{400, "bad http version"}            // RFC 9112 2.3: "HTTP/" DIGIT "." DIGIT
	ErrUnsupportedVersion  = &Error{505, "unsupported version"}         // RFC 9110 15.6.6: only HTTP/1.0 and HTTP/1.1
	ErrBadStatus           = &Error{502, "bad status code"}             // RFC 9112 4: 3DIGIT, RFC 9110 15: 100..599
	ErrBadStatusLine       = &Error{502, "bad status line"}             // RFC 9112 4
	ErrBadReason           = &Error{502, "bad reason phrase"}           // RFC 9112 4: HTAB / SP / VCHAR / obs-text
	ErrWhitespaceAfterLine = &Error{400, "whitespace after start line"} // RFC 9112 2.2

	// Line endings (RFC 9112 2.2).
	ErrBareCR = &Error{400, "bare cr"}
	ErrBareLF = &Error{400, "bare lf"}

	// Header fields (RFC 9112 5, RFC 9110 5).
	ErrBadHeaderName    = &Error{400, "bad header name"}
	ErrBadHeaderValue   = &Error{400, "bad header value"}
	ErrSpaceBeforeColon = &Error{400, "whitespace before colon"} // RFC 9112 5.1: MUST reject
	ErrObsFold          = &Error{400, "obsolete line folding"}   // RFC 9112 5.2

	// Framing (RFC 9112 6).
	ErrContentLengthAndTransferEncoding = &Error{400, "content-length with transfer-encoding"} // RFC 9112 6.3 rule 3
	ErrDuplicateContentLength           = &Error{400, "several content-length values"}         // RFC 9112 6.3 rule 5
	ErrBadContentLength                 = &Error{400, "bad content-length"}                    // RFC 9110 8.6
	ErrBadTransferEncoding              = &Error{400, "bad transfer-encoding"}                 // RFC 9112 6.1, 6.3 rule 4
	ErrUnsupportedTransferCoding        = &Error{501, "unsupported transfer coding"}           // RFC 9112 6.1
	ErrTransferEncodingHTTP10           = &Error{400, "transfer-encoding in http/1.0"}         // RFC 9112 6.1

	// Host (RFC 9112 3.2).
	ErrMissingHost   = &Error{400, "missing host"}
	ErrDuplicateHost = &Error{400, "several host fields"}
	ErrBadHost       = &Error{400, "bad host"}
)
