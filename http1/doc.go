// Package http1 parses and writes HTTP/1.x message heads and frames their bodies (RFC 9112).
// Parsing is sans-IO and allocation-free: ParseRequest and ParseResponse return views (offsets)
// into the caller's buffer, ErrNeedMore until the head is complete, and a *Error that names the
// status to answer when the head is malformed or ambiguous. It imports the standard library only.
package http1
