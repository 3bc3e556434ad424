package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Syntax checks for the strings the schema carries: socket addresses, host
// names, HTTP tokens and field values, and paths. Each returns an error whose
// text is the whole user-facing message.

// checkHostPort validates "host:port". listen addresses may leave the host
// empty (all interfaces) and use port 0 (a free port, useful in tests);
// upstream targets may do neither.
func checkHostPort(addr string, listen bool) error {
	if addr == "" {
		return errors.New("empty address (expected host:port, for example \"127.0.0.1:8080\")")
	}
	colon := strings.LastIndexByte(addr, ':')
	if colon < 0 {
		return fmt.Errorf("missing port in address %q", addr)
	}
	if strings.Count(addr, ":") > 1 && !strings.HasPrefix(addr, "[") {
		if _, err := netip.ParseAddr(addr); err == nil {
			return fmt.Errorf("missing port in address %q (IPv6 addresses go in brackets: \"[%s]:8080\")", addr, addr)
		}
		return fmt.Errorf("invalid address %q (IPv6 addresses go in brackets: \"[::1]:8080\")", addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q (expected host:port)", addr)
	}
	if port == "" {
		return fmt.Errorf("missing port in address %q", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || !isDigits(port) || p > 65535 {
		return fmt.Errorf("invalid port %q in address %q (expected 1-65535)", port, addr)
	}
	if p == 0 && !listen {
		return fmt.Errorf("port 0 in address %q (a target needs a real port)", addr)
	}
	if host == "" {
		if listen {
			return nil
		}
		return fmt.Errorf("missing host in address %q", addr)
	}
	if strings.HasPrefix(addr, "[") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return fmt.Errorf("invalid IPv6 address %q in address %q", host, addr)
		}
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if looksLikeIPv4(host) {
		return fmt.Errorf("invalid IP address %q in address %q", host, addr)
	}
	if err := checkHostname(host); err != nil {
		return fmt.Errorf("%v in address %q", err, addr)
	}
	return nil
}

// socketsOverlap reports whether two valid listen addresses would claim the
// same socket: the same port (other than 0, which always gets a fresh one)
// on the same host, or on any host when either is a wildcard ("", 0.0.0.0,
// [::]). Listeners may set SO_REUSEPORT, so the kernel would not refuse the
// second bind; it would silently split connections between them instead.
func socketsOverlap(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil || pa != pb || pa == "0" {
		return false
	}
	wild := func(h string) bool { return h == "" || h == "0.0.0.0" || h == "::" }
	if wild(ha) || wild(hb) {
		return true
	}
	if x, err := netip.ParseAddr(ha); err == nil {
		if y, err := netip.ParseAddr(hb); err == nil {
			return x.Unmap() == y.Unmap()
		}
	}
	return strings.EqualFold(ha, hb)
}

// looksLikeIPv4 reports whether host is made of digits and dots only, so
// "300.1.1.1" is reported as a bad IP rather than a bad host name.
func looksLikeIPv4(host string) bool {
	for i := 0; i < len(host); i++ {
		if (host[i] < '0' || host[i] > '9') && host[i] != '.' {
			return false
		}
	}
	return true
}

// isLoopbackHost reports whether a listen host only accepts local clients.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// checkHostname validates a DNS name (RFC 1123 §2.1: labels of letters,
// digits and hyphens, not starting or ending with a hyphen, at most 63 bytes;
// at most 253 bytes in all).
func checkHostname(h string) error {
	if len(h) > 253 {
		return fmt.Errorf("host name %q is longer than 253 bytes", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("invalid host name %q", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("invalid host name %q (labels must not start or end with '-')", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("invalid character %q in host name %q", c, h)
			}
		}
	}
	return nil
}

// isTchar reports whether c may appear in an HTTP token (RFC 9110 §5.6.2).
func isTchar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// checkToken validates an HTTP token: a header name, a method, a Via pseudonym.
func checkToken(s, what string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	for i := 0; i < len(s); i++ {
		if !isTchar(s[i]) {
			return fmt.Errorf("invalid character %q in %s %q (RFC 9110 §5.6.2 allows letters, digits and !#$%%&'*+-.^_`|~)", s[i], what, s)
		}
	}
	return nil
}

// checkFieldValue rejects what RFC 9110 §5.5 forbids in a field value: CR, LF
// and NUL (which would split or truncate the header block: response
// splitting) and the other control characters except horizontal tab.
func checkFieldValue(v string) error {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("invalid control character %q in header value (RFC 9110 §5.5)", c)
		}
	}
	if strings.TrimLeft(v, " \t") != v || strings.TrimRight(v, " \t") != v {
		return fmt.Errorf("header value %q has leading or trailing whitespace, which HTTP strips (RFC 9110 §5.5)", v)
	}
	return nil
}

// checkPath validates an absolute request path as routes compare it: it starts
// with "/", holds only the characters RFC 3986 §3.3 allows in a path
// (percent-encode the rest, §2.1), has no query or fragment, and no "." or
// ".." segments, which clients and
// upstreams resolve differently (RFC 3986 §5.2.4) and so would make a route
// match a path the upstream reads as another one.
func checkPath(p string) error {
	if p == "" || p[0] != '/' {
		return fmt.Errorf("path %q must start with \"/\"", p)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c <= 0x20 || c >= 0x7f:
			return fmt.Errorf("invalid character %q in path %q (percent-encode it, RFC 3986 §2.1)", c, p)
		case c == '?' || c == '#':
			return fmt.Errorf("path %q must not contain %q (match query parameters with match.query)", p, c)
		case c == '%':
			if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
				return fmt.Errorf("invalid percent-encoding in path %q", p)
			}
		case !isPathChar(c):
			return fmt.Errorf("invalid character %q in path %q (percent-encode it, RFC 3986 §2.1)", c, p)
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("path %q must not contain %q segments (RFC 3986 §5.2.4)", p, seg)
		}
	}
	return nil
}

// isPathChar reports whether c may appear unencoded in a path: pchar and "/"
// (RFC 3986 §3.3: unreserved, sub-delims, ":" and "@").
func isPathChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// checkTemplate validates a path template: a path whose segments may be
// variables "{name}" (a whole segment, name of letters, digits and '_', not
// starting with a digit, each name once).
func checkTemplate(t string) error {
	if t == "" || t[0] != '/' {
		return fmt.Errorf("path template %q must start with \"/\"", t)
	}
	names := map[string]bool{}
	literal := make([]string, 0, 8)
	for _, seg := range TemplateSegments(t) {
		if !strings.ContainsAny(seg, "{}") {
			literal = append(literal, seg)
			continue
		}
		if len(seg) < 3 || seg[0] != '{' || seg[len(seg)-1] != '}' {
			return fmt.Errorf("path template %q: segment %q must be a whole variable such as \"{id}\"", t, seg)
		}
		name := seg[1 : len(seg)-1]
		for i := 0; i < len(name); i++ {
			c := name[i]
			if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || (i > 0 && c >= '0' && c <= '9')) {
				return fmt.Errorf("path template %q: invalid variable name %q", t, name)
			}
		}
		if names[name] {
			return fmt.Errorf("path template %q: variable %q appears twice", t, name)
		}
		names[name] = true
		literal = append(literal, "x")
	}
	if len(names) == 0 {
		return fmt.Errorf("path template %q has no variables (use path or path_prefix)", t)
	}
	if err := checkPath("/" + strings.Join(literal, "/")); err != nil {
		return fmt.Errorf("path template %q: %v", t, err)
	}
	return nil
}

// templateLiteralPrefix is the part of a template before its first variable.
func templateLiteralPrefix(t string) string {
	if i := strings.IndexByte(t, '{'); i >= 0 {
		return t[:i]
	}
	return t
}

// checkHostPattern validates match.host: a host name, or "*." and a host name
// (any one or more labels in front). Hosts compare case-insensitively (RFC
// 3986 §3.2.2), so the pattern is lower-cased; the port is not part of it.
func checkHostPattern(h string) (string, error) {
	h = strings.ToLower(h)
	name := strings.TrimPrefix(h, "*.")
	if strings.Contains(name, "*") {
		return "", fmt.Errorf("invalid host %q (a wildcard is allowed only as the first label: \"*.example.com\")", h)
	}
	if strings.Contains(name, ":") {
		return "", fmt.Errorf("host %q must not include a port (routes match the host name only)", h)
	}
	if _, err := netip.ParseAddr(name); err == nil && name == h {
		return h, nil
	}
	if err := checkHostname(name); err != nil {
		return "", err
	}
	return h, nil
}
