package limits

import (
	"strconv"
	"time"
)

// AppendHeaders appends the rate-limit header fields for d to dst, each
// terminated by CRLF, and returns the extended slice. It allocates nothing
// when dst has room.
//
// The fields follow draft-ietf-httpapi-ratelimit-headers-11:
//
//	RateLimit-Policy: "name";q=<Rate>;w=<Per in seconds>   (Section 3)
//	RateLimit: "name";r=<Remaining>;t=<seconds>            (Section 4)
//	Retry-After: <seconds>                                 (RFC 9110 Section 10.2.3, refusals only)
//
// Both are Structured Field Lists of one Item whose value is an sf-string
// (RFC 8941 Section 3.3.3). "w" must be a non-zero integer number of seconds
// (Section 3.1.3), so a sub-second period is rounded up, advertising no more
// than the real rate. The burst, which the draft has no parameter for, is
// sent as the vendor parameter "sluice-burst" (Section 3.1 allows prefixed
// parameters).
//
// "t" is the effective window (Section 4.1.2). When admitted it is the time
// until the bucket is full again. When refused it is RetryAfter, and
// Retry-After carries the same number: Section 6 says Retry-After SHOULD NOT
// point before the end of the effective window. Seconds are rounded up so a
// client that obeys them is never early.
//
// Nothing is appended for a decision without a policy, for a shadow policy
// (shadow mode is invisible to clients), or for a shadowed admission.
// Retry-After is omitted when the request can never be admitted
// (ErrExceedsBurst) or is invalid.
func AppendHeaders(dst []byte, d Decision) []byte {
	return appendHeaders(dst, nil, d)
}

// AppendHeadersMulti is AppendHeaders for a decision of m: RateLimit-Policy
// lists every enforcing window of m (Section 3 allows a list, e.g.
// "persec";q=10;w=1, "daily";q=1000;w=86400), while RateLimit reports the
// binding window, the one whose service limit the client will meet first.
func AppendHeadersMulti(dst []byte, m *Multi, d Decision) []byte {
	return appendHeaders(dst, m, d)
}

func appendHeaders(dst []byte, m *Multi, d Decision) []byte {
	p := d.Policy
	if p == nil || p.Shadow || p.interval == 0 || d.Shadowed {
		return dst
	}
	dst = append(dst, "RateLimit-Policy: "...)
	if m == nil {
		dst = AppendPolicyValue(dst, p)
	} else {
		first := true
		for i := 0; i < m.n; i++ {
			if q := m.policies[i]; !q.Shadow {
				if !first {
					dst = append(dst, ", "...)
				}
				dst = AppendPolicyValue(dst, q)
				first = false
			}
		}
	}
	dst = append(dst, "\r\nRateLimit: "...)
	dst = AppendLimitValue(dst, d)
	dst = append(dst, "\r\n"...)
	if !d.Allowed && d.Err == nil && d.RetryAfter > 0 {
		dst = append(dst, "Retry-After: "...)
		dst = strconv.AppendInt(dst, ceilSeconds(d.RetryAfter), 10)
		dst = append(dst, "\r\n"...)
	}
	return dst
}

// AppendPolicyValue appends one RateLimit-Policy list member for p (no field
// name, no CRLF), so several policies can be joined with ", ".
func AppendPolicyValue(dst []byte, p *Policy) []byte {
	dst = appendSFString(dst, p.Name)
	dst = append(dst, ";q="...)
	dst = strconv.AppendInt(dst, p.Rate, 10)
	dst = append(dst, ";w="...)
	dst = strconv.AppendInt(dst, ceilSeconds(p.Per), 10)
	if p.burst != p.Rate {
		dst = append(dst, ";sluice-burst="...)
		dst = strconv.AppendInt(dst, p.burst, 10)
	}
	return dst
}

// AppendLimitValue appends one RateLimit list member for d (no field name, no
// CRLF). d.Policy must not be nil.
func AppendLimitValue(dst []byte, d Decision) []byte {
	dst = appendSFString(dst, d.Policy.Name)
	dst = append(dst, ";r="...)
	r := d.Remaining
	if r < 0 {
		r = 0
	}
	dst = strconv.AppendInt(dst, r, 10)
	dst = append(dst, ";t="...)
	t := d.Reset
	if !d.Allowed {
		t = d.RetryAfter
	}
	dst = strconv.AppendInt(dst, ceilSeconds(t), 10)
	return dst
}

// appendSFString writes an RFC 8941 Section 4.1.6 sf-string: quoted, with
// DQUOTE and backslash escaped. Validate already rejected bytes outside
// %x20-7E; any that slip through are dropped rather than emitted.
func appendSFString(dst []byte, s string) []byte {
	if s == "" {
		s = "default"
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c >= 0x20 && c <= 0x7e:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
