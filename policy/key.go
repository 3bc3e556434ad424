package policy

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/sluice-gw/sluice/limits"
	"github.com/sluice-gw/sluice/proxy"
)

// KeyKind says which part of a request a rate-limit key is built from.
type KeyKind uint8

// Key part kinds.
const (
	KeyClientIP KeyKind = iota + 1 // client_ip: the client address after the trusted-proxy decision
	KeyHeader                      // header:NAME: the first value of header NAME ("" when absent)
	KeyRoute                       // route: the route's name
)

// KeyPart is one component of a key.
type KeyPart struct {
	Kind KeyKind
	Name string // header name for KeyHeader
}

// Key is the recipe for a request's rate-limit key: its parts, joined with
// limits.AppendKeyPart (length-prefixed, so a client that controls a header
// cannot forge another client's key).
type Key struct {
	Parts []KeyPart
	// Trusted are the proxies whose X-Forwarded-For entries are believed when
	// resolving client_ip (http.trusted_proxies).
	Trusted []netip.Prefix
}

// ParseKey reads the configuration notation: parts joined by "+", each one
// of client_ip, route, header:NAME. "client_ip+route" limits each client on
// each route separately.
func ParseKey(s string) ([]KeyPart, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: empty key (want client_ip, route, header:NAME or a combination joined by '+')", ErrKeySyntax)
	}
	var parts []KeyPart
	seen := map[string]bool{}
	for _, p := range strings.Split(s, "+") {
		p = strings.TrimSpace(p)
		var kp KeyPart
		switch {
		case p == "client_ip":
			kp = KeyPart{Kind: KeyClientIP}
		case p == "route":
			kp = KeyPart{Kind: KeyRoute}
		case strings.HasPrefix(p, "header:"):
			name := p[len("header:"):]
			if !isToken(name) {
				return nil, fmt.Errorf("%w: header name %q is not an RFC 9110 token", ErrKeySyntax, name)
			}
			kp = KeyPart{Kind: KeyHeader, Name: name}
		default:
			return nil, fmt.Errorf("%w: unknown part %q (want client_ip, route or header:NAME)", ErrKeySyntax, p)
		}
		id := strings.ToLower(p)
		if seen[id] {
			return nil, fmt.Errorf("%w: part %q appears twice", ErrKeySyntax, p)
		}
		seen[id] = true
		parts = append(parts, kp)
	}
	return parts, nil
}

// FormatKey writes parts in the notation ParseKey reads.
func FormatKey(parts []KeyPart) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('+')
		}
		switch p.Kind {
		case KeyClientIP:
			b.WriteString("client_ip")
		case KeyRoute:
			b.WriteString("route")
		case KeyHeader:
			b.WriteString("header:" + p.Name)
		}
	}
	return b.String()
}

// isToken reports whether s is an RFC 9110 Section 5.6.2 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// Append appends the key of the request in c to dst. It allocates nothing
// once dst has room.
func (k *Key) Append(dst []byte, c *proxy.FilterContext) []byte {
	for _, p := range k.Parts {
		switch p.Kind {
		case KeyClientIP:
			dst = k.appendClientIP(dst, c)
		case KeyRoute:
			name := ""
			if c.Route != nil {
				name = c.Route.Name
			}
			dst = limits.AppendKeyString(dst, name)
		case KeyHeader:
			var v []byte
			if c.Req != nil {
				v = c.Req.Peek(p.Name)
			}
			dst = limits.AppendKeyPart(dst, v)
		}
	}
	return dst
}

// appendClientIP appends the client address as a key part. When the TCP
// peer is a trusted proxy, the client is the rightmost X-Forwarded-For entry
// that is not itself trusted (RFC 7239 Section 5.2 explains why only entries
// added by trusted hops can be believed: anything left of them was written
// by the client). An unparsable entry stops the walk at the last trusted hop,
// so garbage cannot choose the key. Without trusted proxies, or when the peer
// is not one, the peer is the client.
func (k *Key) appendClientIP(dst []byte, c *proxy.FilterContext) []byte {
	if len(k.Trusted) == 0 || c.Req == nil || !trusted(k.Trusted, c.Peer) {
		return limits.AppendKeyPart(dst, c.ClientIP)
	}
	client := c.Peer
	h := &c.Req.Headers
	for i := h.NumHeaders() - 1; i >= 0; i-- {
		if !bytes.EqualFold(h.Name(i), xForwardedFor) {
			continue
		}
		v := h.Value(i)
		for end := len(v); end > 0; {
			start := end - 1
			for start >= 0 && v[start] != ',' {
				start--
			}
			entry := bytes.Trim(v[start+1:end], " \t") // optional whitespace (RFC 9110 5.6.3)
			end = start
			if len(entry) == 0 {
				continue // empty list elements are allowed (RFC 9110 Section 5.6.1)
			}
			a, ok := parseAddr(entry)
			if !ok {
				return appendAddr(dst, client)
			}
			client = a
			if !trusted(k.Trusted, a) {
				return appendAddr(dst, client)
			}
		}
	}
	return appendAddr(dst, client)
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	// Length prefix first, then the text, as AppendKeyPart would write it;
	// the longest text form (IPv4-mapped IPv6 with a zone aside) is under 64
	// bytes, so the one-byte uvarint prefix is exact.
	at := len(dst)
	dst = append(dst, 0)
	dst = a.Unmap().AppendTo(dst)
	dst[at] = byte(len(dst) - at - 1)
	return dst
}

func parseAddr(b []byte) (netip.Addr, bool) {
	if len(b) > 64 {
		return netip.Addr{}, false
	}
	// The string aliases b only for the duration of the call; ParseAddr
	// keeps it only in its error, which is dropped here.
	a, err := netip.ParseAddr(unsafe.String(unsafe.SliceData(b), len(b)))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func trusted(ps []netip.Prefix, a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var xForwardedFor = []byte("X-Forwarded-For")
