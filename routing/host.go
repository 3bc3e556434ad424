package routing

import (
	"errors"
	"strings"
)

// maxHostLen bounds the request host the router lowercases on the stack. A
// DNS name is at most 253 octets (RFC 1035 2.3.4); a bracketed IPv6 literal
// with zone is shorter still. Longer hosts match only routes for any host.
const maxHostLen = 255

var (
	errHostPort     = errors.New("must not include a port (ports are ignored when matching)")
	errHostWildcard = errors.New(`wildcard must be "*." followed by a domain, such as "*.example.com"`)
	errHostSyntax   = errors.New("not a valid host name or IP literal")
	errHostLong     = errors.New("longer than 255 bytes")
)

// hostSpecKey validates a Spec.Host and returns its lookup key: the lower-case
// name for an exact host, or for a wildcard the suffix with its leading dot
// (".example.com"), which no exact key can start with.
func hostSpecKey(h string) (key string, err error) {
	if len(h) > maxHostLen {
		return "", errHostLong
	}
	h = strings.ToLower(h)
	if strings.HasPrefix(h, "[") {
		// IPv6 literal (RFC 3986 3.2.2).
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", errHostSyntax
		}
		if end != len(h)-1 {
			return "", errHostPort
		}
		for i := 1; i < end; i++ {
			c := h[i]
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || c == ':' || c == '.') {
				return "", errHostSyntax
			}
		}
		return h, nil
	}
	if strings.IndexByte(h, ':') >= 0 {
		return "", errHostPort
	}
	if strings.HasPrefix(h, "*") {
		if !strings.HasPrefix(h, "*.") || !validDNSName(h[2:]) {
			return "", errHostWildcard
		}
		return h[1:], nil
	}
	if !validDNSName(strings.TrimSuffix(h, ".")) {
		return "", errHostSyntax
	}
	return strings.TrimSuffix(h, "."), nil
}

// validDNSName accepts dot-separated non-empty labels of letters, digits, '-'
// and '_' (the underscore appears in real service names, e.g. SRV-style).
func validDNSName(s string) bool {
	if s == "" {
		return false
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if label == 0 {
				return false
			}
			label = 0
		case 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_':
			label++
		default:
			return false
		}
	}
	return label > 0
}

// requestHostKey returns host with any port removed and a trailing root dot
// dropped, lower-cased into buf when it has upper-case letters: the form
// hostSpecKey produces. It reports false
// for a host that cannot match any named route (too long or empty).
func requestHostKey(buf *[maxHostLen]byte, host []byte) ([]byte, bool) {
	if len(host) > 0 && host[0] == '[' {
		end := 0
		for end < len(host) && host[end] != ']' {
			end++
		}
		if end == len(host) {
			return nil, false
		}
		host = host[:end+1]
	} else {
		for i, c := range host {
			if c == ':' {
				host = host[:i]
				break
			}
		}
		if len(host) > 0 && host[len(host)-1] == '.' {
			host = host[:len(host)-1]
		}
	}
	if len(host) == 0 || len(host) > maxHostLen {
		return nil, false
	}
	upper := false
	for _, c := range host {
		upper = upper || 'A' <= c && c <= 'Z'
	}
	if !upper {
		return host, true // already lower case: no copy
	}
	n := copy(buf[:], host)
	out := buf[:n]
	for i, c := range out {
		if 'A' <= c && c <= 'Z' {
			out[i] = c + ('a' - 'A')
		}
	}
	return out, true
}
