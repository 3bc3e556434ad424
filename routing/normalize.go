package routing

import "unicode/utf8"

// byteClass says what Normalize does with a raw (not percent-encoded) ASCII
// byte inside a path segment.
type byteClass uint8

const (
	// classReject: control characters, space, '?', '#': never valid in an
	// origin-form path (RFC 9112 3.2.1, RFC 3986 3.3) and a sign of request
	// smuggling or a confused client.
	classReject byteClass = iota
	// classKeep: pchar minus '%' (RFC 3986 3.3): unreserved, sub-delims, ':' and '@'.
	classKeep
	// classEncode: printable bytes RFC 3986 does not allow in a path but
	// clients send anyway ("<>[]^`{|} and the double quote). They are
	// percent-encoded so that the raw and encoded spellings route, and reach
	// the upstream, identically.
	classEncode
	// classBackslash: '\' is rejected: some upstreams (IIS, Windows file
	// servers) treat it as a separator, which makes "/public\..\admin" a
	// traversal that a gateway comparing bytes cannot see.
	classBackslash
)

var pathByteClass = func() (t [128]byte) {
	for c := 0; c < 128; c++ {
		t[c] = byte(classReject)
	}
	keep := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@"
	for i := 0; i < len(keep); i++ {
		t[keep[i]] = byte(classKeep)
	}
	enc := "\"<>[]^`{|}"
	for i := 0; i < len(enc); i++ {
		t[enc[i]] = byte(classEncode)
	}
	t['\\'] = byte(classBackslash)
	return t
}()

const upperHex = "0123456789ABCDEF"

// isUnreserved reports whether c is in the RFC 3986 2.3 unreserved set, the
// only characters whose percent-encoded and literal forms are equivalent.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// octetAt returns the octet at path[i], decoding a percent escape, and the
// number of input bytes it took.
func octetAt(path []byte, i int) (v byte, width int, err error) {
	if path[i] != '%' {
		return path[i], 1, nil
	}
	if i+2 >= len(path) {
		return 0, 0, ErrBadEscape
	}
	hi, ok1 := unhex(path[i+1])
	lo, ok2 := unhex(path[i+2])
	if !ok1 || !ok2 {
		return 0, 0, ErrBadEscape
	}
	return hi<<4 | lo, 3, nil
}

// utf8Len returns the length of the UTF-8 sequence a lead byte announces, or
// 0 when b cannot start a sequence. 0xC0, 0xC1 and 0xF5..0xFF only ever
// appear in overlong or out-of-range encodings (RFC 3629 section 3).
func utf8Len(b byte) int {
	switch {
	case 0xC2 <= b && b <= 0xDF:
		return 2
	case 0xE0 <= b && b <= 0xEF:
		return 3
	case 0xF0 <= b && b <= 0xF4:
		return 4
	}
	return 0
}

// appendUTF8 validates the multi-byte sequence starting at path[i] (raw bytes,
// percent escapes or a mix) and appends it percent-encoded in upper-case hex.
// Overlong forms such as %C0%AE (a "." to a lax decoder) and surrogates are
// rejected: they have been the vector of traversals past front ends that
// compared bytes (CVE-2000-0884, CVE-2001-0333).
func appendUTF8(dst, path []byte, i int) ([]byte, int, error) {
	var seq [utf8.UTFMax]byte
	lead, w, err := octetAt(path, i)
	if err != nil {
		return dst, i, err
	}
	n := utf8Len(lead)
	if n == 0 {
		return dst, i, ErrInvalidUTF8
	}
	seq[0] = lead
	j := i + w
	for k := 1; k < n; k++ {
		if j >= len(path) {
			return dst, i, ErrInvalidUTF8
		}
		b, w, err := octetAt(path, j)
		if err != nil {
			return dst, i, err
		}
		if b&0xC0 != 0x80 {
			return dst, i, ErrInvalidUTF8
		}
		seq[k] = b
		j += w
	}
	if r, size := utf8.DecodeRune(seq[:n]); r == utf8.RuneError && size < n {
		return dst, i, ErrInvalidUTF8
	}
	for k := 0; k < n; k++ {
		dst = append(dst, '%', upperHex[seq[k]>>4], upperHex[seq[k]&15])
	}
	return dst, j, nil
}

// isDotSegmentWithParams reports whether seg is "." or ".." followed by
// ";parameters" (RFC 2396 3.3 path parameters, raw or as %3B). Servlet
// containers strip the parameters before resolving dot-segments, so
// "/public/..;/admin" reaches "/admin" on such an upstream although it is
// not a dot-segment to RFC 3986.
func isDotSegmentWithParams(seg []byte) bool {
	k := 0
	for k < len(seg) && k < 3 && seg[k] == '.' {
		k++
	}
	if k == 0 || k > 2 || k == len(seg) {
		return false
	}
	rest := seg[k:]
	return rest[0] == ';' || len(rest) >= 3 && rest[0] == '%' && rest[1] == '3' && rest[2] == 'B'
}

// Normalize appends the canonical form of the request path to dst and returns
// the extended slice. path is the path component of an origin-form request
// target, without the query. Normalize allocates only when dst lacks
// capacity; the output is at most three times len(path).
//
// The canonical form is what the router matches and what the gateway sends
// upstream:
//
//   - Percent-encoded unreserved characters (RFC 3986 2.3) are decoded;
//     every other escape keeps its encoding with upper-case hex digits
//     (RFC 3986 6.2.2.1 and 6.2.2.2). "%7e" becomes "~", "%3a" becomes "%3A".
//   - Raw non-ASCII bytes must form valid UTF-8 and are percent-encoded, as
//     are the printable ASCII characters RFC 3986 does not allow in a path
//     ("<>[]^`{|} and the double quote). Percent-encoded octets above 0x7F
//     must also form valid, shortest-form UTF-8.
//   - Runs of slashes are merged into one ("/a//b" is "/a/b"). RFC 3986 gives
//     empty segments a meaning, but most origin servers and file systems
//     ignore them, so leaving them would let "//admin" slip past a prefix
//     that a server sees as "/admin".
//   - "." and ".." segments are removed as RFC 3986 5.2.4 describes, except
//     that a ".." which would climb above the root is an error instead of
//     being dropped.
//
// Normalize refuses (see the Err* variables; all mean 400 Bad Request):
// encoded slash or backslash (%2F, %5C), which an upstream may decode into a
// separator after the router has matched; a dot-segment spelled with any
// percent-encoded dot ("%2e%2e", ".%2E"), which is never sent by an honest
// client and is the usual way to sneak ".." past a front end; %00; a raw
// backslash; a dot-segment carrying ";parameters" ("..;x"), which servlet
// containers resolve as ".."; malformed escapes; control characters, space,
// '?' and '#'; and paths not starting with '/'.
//
// Normalize is idempotent: normalizing its output yields the same bytes.
// dst and path must not overlap. On error dst is returned unchanged
// (truncated to its original length).
func Normalize(dst, path []byte) ([]byte, error) {
	if isCanonical(path) {
		return append(dst, path...), nil
	}
	return normalizeSlow(dst, path)
}

// isCanonical reports whether path is certainly its own normal form: only
// bytes kept as they are, no empty segment before the end and no segment
// starting with '.'. Most request paths are, and copying them whole is
// several times faster than the segment-by-segment rewrite.
func isCanonical(path []byte) bool {
	if len(path) == 0 || path[0] != '/' {
		return false
	}
	prev := byte('/')
	for _, c := range path[1:] {
		switch {
		case c == '/':
			if prev == '/' {
				return false
			}
		case c == '.':
			if prev == '/' {
				return false
			}
		case c >= 0x80 || byteClass(pathByteClass[c]) != classKeep:
			return false
		}
		prev = c
	}
	return true
}

// normalizeSlow is Normalize without the fast path.
func normalizeSlow(dst, path []byte) ([]byte, error) {
	if len(path) == 0 || path[0] != '/' {
		return dst, ErrPathNotAbsolute
	}
	base := len(dst)
	dst = append(dst, '/')
	i := 1
	for {
		// Here dst ends with '/' and path[i:] is the next segment.
		segStart := len(dst)
		encodedDot := false
		for i < len(path) && path[i] != '/' {
			c := path[i]
			if c < 0x80 && byteClass(pathByteClass[c]) == classKeep {
				// Fast path: copy a run of bytes that stay as they are.
				j := i + 1
				for j < len(path) && path[j] < 0x80 && byteClass(pathByteClass[path[j]]) == classKeep {
					j++
				}
				dst = append(dst, path[i:j]...)
				i = j
				continue
			}
			if c == '%' {
				v, _, err := octetAt(path, i)
				if err != nil {
					return dst[:base], err
				}
				switch {
				case v == 0:
					return dst[:base], ErrEncodedNUL
				case v == '/' || v == '\\':
					return dst[:base], ErrEncodedSlash
				case v >= 0x80:
					if dst, i, err = appendUTF8(dst, path, i); err != nil {
						return dst[:base], err
					}
				case isUnreserved(v):
					encodedDot = encodedDot || v == '.'
					dst = append(dst, v)
					i += 3
				default:
					dst = append(dst, '%', upperHex[v>>4], upperHex[v&15])
					i += 3
				}
				continue
			}
			if c >= 0x80 {
				var err error
				if dst, i, err = appendUTF8(dst, path, i); err != nil {
					return dst[:base], err
				}
				continue
			}
			switch byteClass(pathByteClass[c]) {
			case classEncode:
				dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
			case classBackslash:
				return dst[:base], ErrBackslash
			default:
				return dst[:base], ErrBadPathByte
			}
			i++
		}
		atEnd := i >= len(path)
		seg := dst[segStart:]
		if len(seg) > 1 && seg[0] == '.' && isDotSegmentWithParams(seg) {
			return dst[:base], ErrDotSegmentParam
		}
		switch {
		case len(seg) == 0:
			// An empty segment: a merged duplicate slash, or the end of a
			// path with a trailing slash (which is kept).
		case len(seg) == 1 && seg[0] == '.':
			if encodedDot {
				return dst[:base], ErrEncodedDotSegment
			}
			dst = dst[:segStart]
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			if encodedDot {
				return dst[:base], ErrEncodedDotSegment
			}
			parentSlash := segStart - 1
			if parentSlash == base {
				return dst[:base], ErrAboveRoot
			}
			j := parentSlash - 1
			for dst[j] != '/' {
				j--
			}
			dst = dst[:j+1]
		default:
			if !atEnd {
				dst = append(dst, '/')
			}
		}
		if atEnd {
			return dst, nil
		}
		i++ // the '/' ending this segment
	}
}
