package http1

// Limits bound the work and memory one message head may cost. A zero field means its default.
// Limits are configuration: set them once on a Request or Response before parsing.
type Limits struct {
	MaxRequestLine int // request-line or status-line bytes, CRLF excluded; over: 414 (request)
	MaxHeaderBytes int // whole head including the start line and the final CRLF; over: 431
	MaxHeaders     int // header field lines; over: 431
}

// DefaultLimits are the limits used for zero fields: 8 KiB lines as most servers accept, a
// 32 KiB head (browsers with large cookies stay well below), 100 fields.
var DefaultLimits = Limits{
	MaxRequestLine: 8 << 10,
	MaxHeaderBytes: 32 << 10,
	MaxHeaders:     100,
}

// resolved returns l with defaults for zero or negative fields.
func (l Limits) resolved() Limits {
	if l.MaxRequestLine <= 0 {
		l.MaxRequestLine = DefaultLimits.MaxRequestLine
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultLimits.MaxHeaderBytes
	}
	if l.MaxHeaders <= 0 {
		l.MaxHeaders = DefaultLimits.MaxHeaders
	}
	// Views are int32 offsets; no sane head comes near this.
	l.MaxHeaderBytes = min(l.MaxHeaderBytes, maxLimit)
	l.MaxRequestLine = min(l.MaxRequestLine, maxLimit)
	return l
}

const maxLimit = 1 << 30
