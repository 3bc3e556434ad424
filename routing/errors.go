package routing

import (
	"errors"
	"fmt"
)

// Errors returned by Normalize and Table.Lookup for a request path that is
// refused. Every one of them means the request is malformed or hostile and
// should be answered with 400 Bad Request; none of them is retryable.
var (
	ErrPathNotAbsolute   = errors.New("routing: path does not start with /")
	ErrBadEscape         = errors.New("routing: invalid percent escape in path")
	ErrEncodedSlash      = errors.New("routing: encoded slash or backslash (%2F, %5C) in path")
	ErrEncodedNUL        = errors.New("routing: encoded NUL (%00) in path")
	ErrEncodedDotSegment = errors.New("routing: percent-encoded dot-segment in path")
	ErrDotSegmentParam   = errors.New("routing: dot-segment with ;parameters in path")
	ErrBackslash         = errors.New("routing: backslash in path")
	ErrAboveRoot         = errors.New("routing: path climbs above the root")
	ErrInvalidUTF8       = errors.New("routing: invalid or overlong UTF-8 in path")
	ErrBadPathByte       = errors.New("routing: control character, space, '?' or '#' in path")
)

// SpecError reports an invalid route definition passed to Build. Index is the
// position of the route in the slice given to Build, Name its Spec.Name and
// Field the Spec field at fault (for example "PathTemplate" or
// "Headers[1].Name").
type SpecError struct {
	Index int
	Name  string
	Field string
	Err   error
}

func (e *SpecError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("routing: route %d: %s: %v", e.Index, e.Field, e.Err)
	}
	return fmt.Sprintf("routing: route %d (%q): %s: %v", e.Index, e.Name, e.Field, e.Err)
}

func (e *SpecError) Unwrap() error { return e.Err }
