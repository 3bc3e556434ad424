package http1

import (
	"errors"
	"strconv"
)

// RequestOptions says how a request head is rewritten for the upstream. It is built per route
// (and per client for ClientIP/Proto) and read, never modified, by AppendRequestHead.
type RequestOptions struct {
	// Path replaces the path of the request-target when non-nil; the query is kept. It should
	// be an absolute-path (RFC 9110 4.1); bytes that cannot appear in a request-target, '?' and
	// '#' are percent-encoded and a missing leading '/' is added, so no Path can split the head
	// or move the query.
	Path []byte
	// Host replaces the Host field when non-nil, except for CONNECT: the authority-form target
	// names the tunnel's end and the Host field must agree with it (RFC 9112 3.2.3), so both
	// are kept as received.
	Host []byte
	// ClientIP is appended to X-Forwarded-For. The received chain is kept unless
	// ReplaceForwarded.
	ClientIP []byte
	// ReplaceForwarded marks an untrusted peer: its X-Forwarded-*, Forwarded and X-Real-IP
	// fields are dropped, so it cannot claim another client address or scheme.
	ReplaceForwarded bool
	// Proto ("http" or "https") is sent as X-Forwarded-Proto unless a trusted peer sent one.
	Proto []byte
	// Via is the pseudonym (a token, e.g. "sluice") of the Via entry "1.x <Via>" appended per
	// RFC 9110 7.6.3, x being the version the request was received with. Nil: no Via.
	Via []byte
	// Edits are the route's header rewrites.
	Edits *HeaderEdits
	// Upgrade keeps Upgrade and sends "Connection: upgrade" when the request asks to switch
	// protocols (Request.Upgrade non-nil), for WebSocket and other tunnels.
	Upgrade bool
	// ExtraFields are appended last (e.g. X-Request-ID); received fields of the same names are
	// dropped, so a client cannot supply its own.
	ExtraFields []Field
}

// Validate reports options that AppendRequestHead would have to repair or skip: see
// HeaderEdits.Validate and the field docs. Call it once when the options are built.
func (o *RequestOptions) Validate() error {
	if err := o.Edits.Validate(); err != nil {
		return err
	}
	if err := validFields(o.ExtraFields); err != nil {
		return err
	}
	if o.Path != nil && (len(o.Path) == 0 || o.Path[0] != '/' || !validPath(o.Path)) {
		return errorf("bad path option", o.Path)
	}
	if o.Host != nil && !validHost(o.Host, false) {
		return errorf("bad host option", o.Host)
	}
	if o.Via != nil && !isToken(o.Via) {
		return errorf("bad via pseudonym", o.Via)
	}
	if o.Proto != nil && !isToken(o.Proto) {
		return errorf("bad proto option", o.Proto)
	}
	return nil
}

// AppendRequestHead appends the head to send upstream for r: the request line in HTTP/1.1
// (RFC 9110 2.5: a proxy sends its own version) with an origin-form target (authority-form for
// CONNECT, "*" for OPTIONS *), Host first (RFC 9112 3.2), the received fields minus hop-by-hop
// ones and edits, the framing of r's body, X-Forwarded-For, X-Forwarded-Proto and -Host,
// Forwarded (RFC 7239), Via, Connection
// when upgrading, then the edits' Set and Add fields and ExtraFields. o may be nil. It does not
// allocate when dst has room.
func AppendRequestHead(dst []byte, r *Request, o *RequestOptions) []byte {
	if o == nil {
		o = &RequestOptions{}
	}
	h := &r.Headers

	dst = append(dst, r.Method()...)
	dst = append(dst, ' ')
	switch r.form {
	case FormOrigin, FormAbsolute:
		if o.Path != nil {
			dst = appendPath(dst, o.Path)
		} else {
			dst = append(dst, r.Path()...)
		}
		if q := r.Query(); q != nil {
			dst = append(dst, '?')
			dst = append(dst, q...)
		}
	default: // authority-form (CONNECT) and asterisk-form (OPTIONS *) have no path to rewrite
		dst = append(dst, r.Target()...)
	}
	dst = append(dst, " HTTP/1.1\r\n"...)

	// RFC 9112 3.2: an empty authority still gets a Host line, empty.
	host := r.Host()
	if o.Host != nil && r.form != FormAuthority {
		host = o.Host
	}
	dst = append(dst, "Host: "...)
	dst = appendFieldValue(dst, host)
	dst = append(dst, '\r', '\n')

	upgrade := o.Upgrade && r.Upgrade() != nil
	var conn connOptions
	conn.collect(h)
	xff, xfp, xfh := false, false, false
	for i := range h.fields {
		name := h.Name(i)
		if len(name) == 4 && equalFold(name, "host") || hopByHop(name, true) {
			continue
		}
		if len(name) == 7 && equalFold(name, "upgrade") {
			if !upgrade {
				continue
			}
		} else if conn.lists(name) {
			continue
		}
		if editedAway(name, o.Edits, o.ExtraFields) {
			continue
		}
		if o.ReplaceForwarded && forwardedName(name) {
			continue
		}
		switch len(name) {
		case 15:
			if equalFold(name, "x-forwarded-for") {
				xff = true
				continue // merged into one line below
			}
		case 16:
			if equalFold(name, "x-forwarded-host") {
				xfh = true
			}
		case 17:
			if equalFold(name, "x-forwarded-proto") {
				xfp = true
			}
		}
		dst = append(dst, h.buf[h.fields[i].nameStart:h.fields[i].valueEnd]...)
		dst = append(dst, '\r', '\n')
	}

	switch r.framing {
	case FramingLength:
		dst = appendContentLength(dst, r.contentLength)
	case FramingChunked:
		dst = appendTransferCodings(dst, h, false)
	}

	if xff || o.ClientIP != nil {
		dst = append(dst, "X-Forwarded-For: "...)
		sep := false
		if xff {
			dst, sep = appendForwardedChain(dst, h)
		}
		if o.ClientIP != nil {
			if sep {
				dst = append(dst, ',', ' ')
			}
			dst = appendFieldValue(dst, o.ClientIP)
		}
		dst = append(dst, '\r', '\n')
	}
	if o.Proto != nil && !xfp {
		dst = appendKnownFieldLine(dst, xForwardedProto, o.Proto)
	}
	// X-Forwarded-Host carries the Host the client asked for, since o.Host may replace it; a
	// trusted peer's value is kept, as for X-Forwarded-Proto.
	if o.Proto != nil && !xfh && len(r.Host()) > 0 {
		dst = appendKnownFieldLine(dst, xForwardedHost, r.Host())
	}
	// RFC 7239 Forwarded carries the same facts in the standard form. A trusted peer's
	// elements were kept above (an untrusted peer's dropped), and ours is one more field line,
	// which recipients read as appended to the list (RFC 9110 5.3).
	if o.ClientIP != nil {
		dst = appendForwardedElement(dst, o.ClientIP, o.Proto, r.Host())
	}
	if o.Via != nil {
		dst = appendVia(dst, r.Minor(), o.Via)
	}
	if upgrade {
		dst = append(dst, "Connection: upgrade\r\n"...)
	}
	if o.Edits != nil {
		dst = appendConfigFields(dst, o.Edits.Set)
		dst = appendConfigFields(dst, o.Edits.Add)
	}
	dst = appendConfigFields(dst, o.ExtraFields)
	return append(dst, '\r', '\n')
}

// appendForwardedElement writes "Forwarded: for=...;proto=...;host=..." (RFC 7239 4): an IPv6
// node is quoted and bracketed (section 6), the host is a quoted-string.
func appendForwardedElement(dst, ip, proto, host []byte) []byte {
	dst = append(dst, "Forwarded: for="...)
	v6 := false
	for _, c := range ip {
		if c == ':' {
			v6 = true
			break
		}
	}
	if v6 {
		dst = append(dst, '"', '[')
		dst = appendFieldValue(dst, ip)
		dst = append(dst, ']', '"')
	} else {
		dst = appendFieldValue(dst, ip)
	}
	if proto != nil && isToken(proto) {
		dst = append(dst, ";proto="...)
		dst = append(dst, proto...)
	}
	if len(host) > 0 {
		dst = append(dst, ";host=\""...)
		clean := true
		for _, c := range host {
			if c == '"' || c == '\\' || c < ' ' || c == 0x7f {
				clean = false
				break
			}
		}
		if clean {
			dst = append(dst, host...)
		} else {
			for _, c := range host {
				if c == '"' || c == '\\' || c < ' ' || c == 0x7f {
					continue // a parsed Host has none of these; never let one end the quoted-string
				}
				dst = append(dst, c)
			}
		}
		dst = append(dst, '"')
	}
	return append(dst, '\r', '\n')
}

var (
	xForwardedProto = []byte("X-Forwarded-Proto")
	xForwardedHost  = []byte("X-Forwarded-Host")
)

// appendForwardedChain writes the received X-Forwarded-For elements in order, from every line,
// and reports whether it wrote any. The caller has checked that the chain survives the
// hop-by-hop and edit rules (they apply to every line alike, all having the same name).
func appendForwardedChain(dst []byte, h *Headers) ([]byte, bool) {
	wrote := false
	for i := range h.fields {
		name := h.Name(i)
		if len(name) != 15 || !equalFold(name, "x-forwarded-for") {
			continue
		}
		v := h.Value(i)
		for len(v) > 0 {
			var e []byte
			e, v = nextListElem(v)
			if len(e) == 0 {
				continue
			}
			if wrote {
				dst = append(dst, ',', ' ')
			}
			wrote = true
			dst = append(dst, e...)
		}
	}
	return dst, wrote
}

// forwardedName: the fields an untrusted peer could use to claim another client address,
// host or scheme (X-Forwarded-*, RFC 7239 Forwarded, X-Real-IP).
func forwardedName(n []byte) bool {
	if len(n) > 12 && fieldNamesEqual(n[:12], xForwardedPrefix) {
		return true
	}
	return len(n) == 9 && (equalFold(n, "forwarded") || equalFold(n, "x-real-ip"))
}

var xForwardedPrefix = []byte("x-forwarded-")

// appendPath writes a replacement path. Bytes a request-target may not hold, and '?' and '#'
// which would start a query or fragment, are percent-encoded; a leading '/' is added when
// missing (origin-form needs an absolute-path, RFC 9112 3.2.1).
func appendPath(dst, path []byte) []byte {
	if len(path) == 0 || path[0] != '/' {
		dst = append(dst, '/')
	}
	for _, c := range path {
		if targetTable[c] && c != '?' {
			dst = append(dst, c)
			continue
		}
		const hex = "0123456789ABCDEF"
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

func validPath(p []byte) bool {
	for _, c := range p {
		if !targetTable[c] || c == '?' {
			return false
		}
	}
	return true
}

func errorf(what string, v []byte) error {
	return errors.New("http1: " + what + " " + strconv.Quote(string(v)))
}
