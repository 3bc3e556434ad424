package routing

import (
	"bytes"
	"errors"
	"strings"
)

// Headers gives the router read access to request header fields.
//
// Header is called with a lower-case field name and must match names
// case-insensitively (RFC 9110 5.1). It returns the field's value with
// surrounding whitespace trimmed and ok=true when the field is present; when
// a field occurs more than once, the first value. The returned slice is only
// read during the call to Lookup. Implementations on the request hot path
// must not allocate.
type Headers interface {
	Header(name string) (value []byte, ok bool)
}

// HeaderFunc adapts a function to the Headers interface.
type HeaderFunc func(name string) (value []byte, ok bool)

// Header calls f(name).
func (f HeaderFunc) Header(name string) ([]byte, bool) { return f(name) }

// HeaderMatch is one header or query condition of a Spec.
type HeaderMatch struct {
	Name, Value string
}

var (
	errEmptyName   = errors.New("name must not be empty")
	errBadToken    = errors.New("not an RFC 9110 token")
	errBadValue    = errors.New("value contains a control character")
	errDupMethod   = errors.New("method listed twice")
	errDupHeader   = errors.New("header condition listed twice")
	errDupQueryKey = errors.New("query condition listed twice")
)

// isToken reports whether s is a token (RFC 9110 5.6.2), the syntax of both
// method names and header field names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		if strings.IndexByte("!#$%&'*+-.^_`|~", c) < 0 {
			return false
		}
	}
	return true
}

func hasCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 && s[i] != '\t' || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// conditions are the non-path conditions of a route, all of which must hold.
type conditions struct {
	methods []string // exact, case-sensitive (RFC 9110 9.1)
	headers []HeaderMatch
	query   []HeaderMatch
}

// count is the specificity used to order routes sharing a host and path: a
// method list counts as one condition, each header and query match as one.
func (c *conditions) count() int {
	n := len(c.headers) + len(c.query)
	if len(c.methods) > 0 {
		n++
	}
	return n
}

// request is the part of a request the conditions look at besides headers.
// Headers travel separately: the interface call makes its argument escape,
// and keeping it out of this struct keeps the caller's method and query
// slices from escaping with it.
type request struct {
	method   []byte
	rawQuery []byte
}

func (c *conditions) match(r request, hdr Headers) bool {
	if len(c.methods) > 0 {
		ok := false
		for _, m := range c.methods {
			if string(r.method) == m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for i := range c.headers {
		h := &c.headers[i]
		if hdr == nil {
			return false
		}
		v, ok := hdr.Header(h.Name)
		if !ok || string(v) != h.Value {
			return false
		}
	}
	for i := range c.query {
		q := &c.query[i]
		if !queryHas(r.rawQuery, q.Name, q.Value) {
			return false
		}
	}
	return true
}

// queryHas reports whether the first parameter named name in the raw query
// has the decoded value value. Keys and values are decoded as
// application/x-www-form-urlencoded ('+' is a space, WHATWG URL 5.1), the
// convention of the frameworks behind the gateway. Pairs are separated by
// '&' only; a pair without '=' has the empty value. A malformed escape never
// matches. Only the first occurrence counts, so that the router and an
// upstream that reads the first value agree on what was routed.
func queryHas(raw []byte, name, value string) bool {
	for len(raw) > 0 {
		var pair []byte
		if i := bytes.IndexByte(raw, '&'); i >= 0 {
			pair, raw = raw[:i], raw[i+1:]
		} else {
			pair, raw = raw, nil
		}
		if len(pair) == 0 {
			continue
		}
		key, val := pair, []byte(nil)
		if i := bytes.IndexByte(pair, '='); i >= 0 {
			key, val = pair[:i], pair[i+1:]
		}
		if formDecodedEqual(key, name) {
			return formDecodedEqual(val, value)
		}
	}
	return false
}

// formDecodedEqual reports whether enc, form-url-decoded, equals want. It
// decodes while comparing, so it never allocates.
func formDecodedEqual(enc []byte, want string) bool {
	j := 0
	for i := 0; i < len(enc); {
		c := enc[i]
		switch c {
		case '+':
			c = ' '
			i++
		case '%':
			if i+2 >= len(enc) {
				return false
			}
			hi, ok1 := unhex(enc[i+1])
			lo, ok2 := unhex(enc[i+2])
			if !ok1 || !ok2 {
				return false
			}
			c = hi<<4 | lo
			i += 3
		default:
			i++
		}
		if j >= len(want) || want[j] != c {
			return false
		}
		j++
	}
	return j == len(want)
}
