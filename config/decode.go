package config

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file maps the schema onto Config, section by section, validating each
// value where it is decoded so every error points at the node that caused it.
// Checks that span sections (route -> upstream references, names that must be
// unique) run in crossCheck after the whole file is read.

// Limits on values that are legal in form but would be mistakes.
const (
	maxLoops          = 1024
	minRequestLine    = 64
	maxRequestLine    = 1 << 20
	minHeaderBytes    = 1 << 10
	maxHeaderBytes    = 16 << 20
	maxHeaderCount    = 10000
	maxWeight         = 1000
	maxRetries        = 10
	maxNameLen        = 64
	maxPoolIdle       = 1 << 20
	maxConnectionsCap = 1 << 30
)

type upstreamState struct {
	u          *Upstream
	key        *yaml.Node
	maxIdleSet bool
}

type routeState struct {
	node       *yaml.Node // the route's mapping
	path       string
	nameNode   *yaml.Node
	upstream   *yaml.Node
	maxBodySet bool
	timeoutSet bool
}

type configDecoder struct {
	decoder
	c         *Config
	upstreams []upstreamState
	routes    []routeState
	// rejected holds upstream names that were reported as broken already,
	// so routes naming them do not repeat the error as "unknown upstream".
	// upstreamsBroken is set when the section as a whole could not be read.
	rejected        map[string]bool
	upstreamsBroken bool
	adminNode       *yaml.Node // admin.address when it was read and valid
	limitRefs       []limitRef // routes' limit names, checked in crossCheck
}

func (d *configDecoder) root(n *yaml.Node) {
	c := d.c
	seen := d.fields(n, "", fieldDecoders{
		"engine": func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, EngineGnet, EngineEpoll); ok {
				c.Engine = s
			}
		},
		"loops":            d.intTo(&c.Loops, 0, maxLoops),
		"listen":           d.listen,
		"admin":            d.admin,
		"http":             d.http,
		"upstreams":        d.upstreamMap,
		"routes":           d.routeList,
		"shutdown_timeout": d.durationTo(&c.ShutdownTimeout, 1, 0),
		"access_log":       d.accessLog,
		"limits":           d.limitMap,
	})
	if seen == nil {
		return
	}
	for _, req := range []string{"listen", "upstreams", "routes"} {
		if seen[req] == nil {
			d.errorf(n, req, "missing required section %q", req)
		}
	}
}

func (d *configDecoder) listen(n *yaml.Node, path string) {
	items, ok := d.list(n, path)
	if !ok {
		return
	}
	if len(items) == 0 {
		d.errorf(deref(n), path, "at least one listener is required")
		return
	}
	names := map[string]int{}
	nameNodes := map[int]*yaml.Node{}
	for i, it := range items {
		p := index(path, i)
		var l Listener
		seen := d.fields(it, p, fieldDecoders{
			"address": func(v *yaml.Node, p string) {
				s, ok := d.str(v, p)
				if !ok {
					return
				}
				if err := checkHostPort(s, true); err != nil {
					d.errorf(deref(v), p, "%v", err)
					return
				}
				for j, prev := range d.c.Listen {
					if socketsOverlap(s, prev.Address) {
						d.errorf(deref(v), p, "address %q overlaps listen[%d] (%q)", s, j, prev.Address)
						return
					}
				}
				l.Address = s
			},
			"name": func(v *yaml.Node, p string) {
				s, ok := d.name(v, p)
				if !ok {
					return
				}
				if j, dup := names[s]; dup {
					d.errorf(deref(v), p, "name %q is already used by listen[%d]", s, j)
					return
				}
				names[s] = i
				nameNodes[i] = deref(v)
				l.Name = s
			},
			"tls": func(v *yaml.Node, p string) { d.listenerTLS(&l, v, p) },
		})
		if seen != nil && seen["address"] == nil {
			d.errorf(it, field(p, "address"), "missing required field \"address\"")
		}
		d.c.Listen = append(d.c.Listen, l)
	}
	// A default name must not collide with an explicit one.
	for i, l := range d.c.Listen {
		if l.Name == "" {
			if j, dup := names[defaultListenerName(i)]; dup {
				d.errorf(nameNodes[j], field(index(path, j), "name"), "name %q is the default name of listen[%d]; choose another", defaultListenerName(i), i)
			}
		}
	}
}

// name reads an identifier used in metrics labels and logs.
func (d *configDecoder) name(n *yaml.Node, path string) (string, bool) {
	s, ok := d.str(n, path)
	if !ok {
		return "", false
	}
	if err := checkName(s, false); err != nil {
		d.errorf(deref(n), path, "%v", err)
		return "", false
	}
	return s, true
}

// checkName validates names that end up in metric labels, log lines and
// admin API paths. Upstream names are stricter (lower case) because they are
// also typed in route definitions and URLs.
func checkName(s string, lower bool) error {
	if s == "" {
		return fmt.Errorf("empty name")
	}
	if len(s) > maxNameLen {
		return fmt.Errorf("name %q is longer than %d bytes", s, maxNameLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if !lower {
			ok = ok || c >= 'A' && c <= 'Z' || c == '.'
		}
		if !ok {
			if lower {
				return fmt.Errorf("invalid name %q (use lower-case letters, digits, '_' and '-')", s)
			}
			return fmt.Errorf("invalid name %q (use letters, digits, '.', '_' and '-')", s)
		}
	}
	return nil
}

func (d *configDecoder) admin(n *yaml.Node, path string) {
	a := &d.c.Admin
	var addrNode, tokenNode *yaml.Node
	tokenGiven := false
	d.fields(n, path, fieldDecoders{
		"address": func(v *yaml.Node, p string) {
			addrNode = deref(v)
			if isNull(addrNode) {
				a.Address = ""
				return
			}
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if s == "" || s == "off" {
				a.Address = ""
				return
			}
			if err := checkHostPort(s, true); err != nil {
				d.errorf(addrNode, p, "%v", err)
				addrNode = nil
				return
			}
			a.Address = s
			d.adminNode = addrNode
		},
		"token": func(v *yaml.Node, p string) {
			tokenNode = deref(v)
			if isNull(tokenNode) {
				return
			}
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			tokenGiven = s != ""
			if err := checkBearerToken(s); err != nil {
				d.errorf(tokenNode, p, "%v", err)
				return
			}
			a.Token = s
		},
	})
	// The admin API can reload the configuration and drain upstreams: off
	// loopback it must not be open to anyone who can connect.
	if a.Address != "" && !tokenGiven && addrNode != nil {
		host, _, _ := net.SplitHostPort(a.Address)
		if !isLoopbackHost(host) {
			d.errorf(addrNode, field(path, "address"), "admin address %q is not loopback; set admin.token so the admin API is not open to the network", a.Address)
		}
	}
}

// checkBearerToken validates an admin token as RFC 6750 §2.1 defines the
// credential: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func checkBearerToken(s string) error {
	body := strings.TrimRight(s, "=")
	if body == "" && s != "" {
		return fmt.Errorf("token %q has no characters before its '=' padding", s)
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return fmt.Errorf("invalid character %q in token (RFC 6750 §2.1 allows letters, digits, -._~+/ and trailing '=')", c)
		}
	}
	return nil
}

func (d *configDecoder) http(n *yaml.Node, path string) {
	h := &d.c.HTTP
	d.fields(n, path, fieldDecoders{
		"max_request_line":    d.sizeTo(&h.MaxRequestLine, minRequestLine, maxRequestLine),
		"max_header_bytes":    d.sizeTo(&h.MaxHeaderBytes, minHeaderBytes, maxHeaderBytes),
		"max_headers":         d.intTo(&h.MaxHeaders, 1, maxHeaderCount),
		"max_body":            d.sizeTo(&h.MaxBody, 0, 0),
		"header_read_timeout": d.durationTo(&h.HeaderReadTimeout, 1, 0),
		"idle_timeout":        d.durationTo(&h.IdleTimeout, 1, 0),
		"max_connections":     d.intTo(&h.MaxConnections, 0, maxConnectionsCap),
		"trusted_proxies": func(v *yaml.Node, p string) {
			items, ok := d.list(v, p)
			if !ok {
				return
			}
			h.TrustedProxies = make([]netip.Prefix, 0, len(items))
			for i, it := range items {
				ip := index(p, i)
				s, ok := d.str(it, ip)
				if !ok {
					continue
				}
				pfx, err := parsePrefix(s)
				if err != nil {
					d.errorf(it, ip, "%v", err)
					continue
				}
				h.TrustedProxies = append(h.TrustedProxies, pfx)
			}
		},
		"via": func(v *yaml.Node, p string) {
			if isNull(deref(v)) {
				h.Via = ""
				return
			}
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			// received-by is a host or a pseudonym (RFC 9110 §7.6.3);
			// a pseudonym is a token.
			if s != "" {
				if err := checkToken(s, "Via pseudonym"); err != nil {
					d.errorf(deref(v), p, "%v", err)
					return
				}
			}
			h.Via = s
		},
	})
}

// parsePrefix reads a CIDR; a bare address means just that address.
func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("invalid CIDR %q (for example \"10.0.0.0/8\")", s)
		}
		if p.Masked() != p {
			return netip.Prefix{}, fmt.Errorf("CIDR %q has host bits set (did you mean %q?)", s, p.Masked().String())
		}
		return p, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("invalid CIDR or address %q (for example \"10.0.0.0/8\")", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (d *configDecoder) upstreamMap(n *yaml.Node, path string) {
	nd := deref(n)
	if isNull(nd) || (nd.Kind == yaml.MappingNode && len(nd.Content) == 0) {
		d.errorf(nd, path, "at least one upstream is required")
		return
	}
	if nd.Kind != yaml.MappingNode {
		d.upstreamsBroken = true
	}
	d.entries(n, path, func(k, v *yaml.Node, name, p string) {
		nameErr := checkName(name, true)
		if nameErr != nil {
			d.errorf(k, p, "%v", nameErr)
			if d.rejected == nil {
				d.rejected = map[string]bool{}
			}
			d.rejected[name] = true
		}
		// Decode the body even under a bad name so its problems are
		// reported in the same run.
		u := defaultUpstream(name)
		st := upstreamState{u: u, key: k}
		d.upstream(u, &st, k, v, p)
		if nameErr == nil {
			d.upstreams = append(d.upstreams, st)
			d.c.Upstreams = append(d.c.Upstreams, u)
		}
	})
}

func (d *configDecoder) upstream(u *Upstream, st *upstreamState, k, n *yaml.Node, path string) {
	var hashKeyNode, maxIdleNode *yaml.Node
	fd := fieldDecoders{
		"balancer": func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, BalancerRoundRobin, BalancerWeightedRoundRobin, BalancerRandom,
				BalancerLeastRequest, BalancerPeakEWMA, BalancerConsistentHash); ok {
				u.Balancer = s
			}
		},
		"hash_key": func(v *yaml.Node, p string) {
			hashKeyNode = deref(v)
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			hk, err := parseHashKey(s)
			if err != nil {
				d.errorf(hashKeyNode, p, "%v", err)
				return
			}
			u.HashKey = hk
		},
		"targets":          func(v *yaml.Node, p string) { d.targets(u, v, p) },
		"connect_timeout":  d.durationTo(&u.ConnectTimeout, 1, 0),
		"response_timeout": d.durationTo(&u.ResponseTimeout, 1, 0),
		"read_timeout":     d.durationTo(&u.ReadTimeout, 1, 0),
		"pool": func(v *yaml.Node, p string) {
			d.fields(v, p, fieldDecoders{
				"max_idle": func(v *yaml.Node, p string) {
					if x, ok := d.intIn(v, p, 0, maxPoolIdle); ok {
						u.Pool.MaxIdle = x
						maxIdleNode = deref(v)
						st.maxIdleSet = true
					}
				},
				"max_connections": d.intTo(&u.Pool.MaxConnections, 0, maxConnectionsCap),
				"idle_timeout":    d.durationTo(&u.Pool.IdleTimeout, 1, 0),
			})
		},
		"retries": d.intTo(&u.Retries, 0, maxRetries),
	}
	d.resilienceDecoders(u, fd)
	d.upstreamTLSDecoders(u, fd)
	d.limitDecoders(u, fd)
	seen := d.fields(n, path, fd)
	if seen == nil {
		return
	}
	if seen["targets"] == nil {
		d.errorf(deref(n), field(path, "targets"), "missing required field \"targets\"")
		if isNull(deref(n)) {
			// "users:" with nothing under it: point at the name.
			d.errs[len(d.errs)-1].Line, d.errs[len(d.errs)-1].Column = k.Line, k.Column
		}
	}
	if hashKeyNode != nil && u.HashKey.Kind != HashKeyNone && u.Balancer != BalancerConsistentHash {
		d.errorf(hashKeyNode, field(path, "hash_key"), "hash_key is used only by balancer consistent_hash (this upstream uses %s)", u.Balancer)
	}
	if maxIdleNode != nil && u.Pool.MaxConnections > 0 && u.Pool.MaxIdle > u.Pool.MaxConnections {
		d.errorf(maxIdleNode, field(path, "pool.max_idle"), "max_idle %d is above pool.max_connections %d", u.Pool.MaxIdle, u.Pool.MaxConnections)
	}
}

func parseHashKey(s string) (HashKey, error) {
	switch s {
	case "client_ip":
		return HashKey{Kind: HashKeyClientIP}, nil
	case "path":
		return HashKey{Kind: HashKeyPath}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if ok && (kind == "header" || kind == "cookie") {
		if name == "" {
			return HashKey{}, fmt.Errorf("hash_key %q needs a name after %q", s, kind+":")
		}
		if kind == "header" {
			if err := checkToken(name, "header name"); err != nil {
				return HashKey{}, err
			}
			return HashKey{Kind: HashKeyHeader, Name: name}, nil
		}
		// cookie-name is a token (RFC 6265 §4.1.1).
		if err := checkToken(name, "cookie name"); err != nil {
			return HashKey{}, err
		}
		return HashKey{Kind: HashKeyCookie, Name: name}, nil
	}
	return HashKey{}, fmt.Errorf("invalid hash_key %q (allowed: client_ip, header:NAME, cookie:NAME, path)", s)
}

func (d *configDecoder) targets(u *Upstream, n *yaml.Node, path string) {
	items, ok := d.list(n, path)
	if !ok {
		return
	}
	if len(items) == 0 {
		d.errorf(deref(n), path, "at least one target is required")
		return
	}
	addrs := map[string]int{}
	for i, it := range items {
		p := index(path, i)
		t := defaultTarget()
		fd := fieldDecoders{
			"address": func(v *yaml.Node, p string) {
				s, ok := d.str(v, p)
				if !ok {
					return
				}
				if err := checkHostPort(s, false); err != nil {
					d.errorf(deref(v), p, "%v", err)
					return
				}
				if j, dup := addrs[s]; dup {
					d.errorf(deref(v), p, "target %q is already listed as targets[%d] (raise its weight instead)", s, j)
					return
				}
				addrs[s] = i
				t.Address = s
			},
			"weight": d.intTo(&t.Weight, 1, maxWeight),
		}
		d.discoveryDecoders(&t, fd)
		seen := d.fields(it, p, fd)
		d.checkTargetKind(seen, it, p)
		u.Targets = append(u.Targets, t)
	}
}

func (d *configDecoder) routeList(n *yaml.Node, path string) {
	items, ok := d.list(n, path)
	if !ok {
		return
	}
	if len(items) == 0 {
		d.errorf(deref(n), path, "at least one route is required")
		return
	}
	for i, it := range items {
		p := index(path, i)
		r := &Route{}
		st := routeState{node: it, path: p}
		d.route(r, &st, it, p)
		d.c.Routes = append(d.c.Routes, r)
		d.routes = append(d.routes, st)
	}
}

func (d *configDecoder) route(r *Route, st *routeState, n *yaml.Node, path string) {
	var stripNode, rewriteNode *yaml.Node
	seen := d.fields(n, path, fieldDecoders{
		"name": func(v *yaml.Node, p string) {
			if s, ok := d.name(v, p); ok {
				r.Name = s
				st.nameNode = deref(v)
			}
		},
		"match": func(v *yaml.Node, p string) { d.match(&r.Match, v, p) },
		"upstream": func(v *yaml.Node, p string) {
			if s, ok := d.str(v, p); ok {
				r.Upstream = s
				st.upstream = deref(v)
			}
		},
		"strip_prefix": func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if err := checkPath(s); err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			r.StripPrefix = s
			stripNode = deref(v)
		},
		"rewrite": func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if err := checkPath(s); err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			r.Rewrite = s
			rewriteNode = deref(v)
		},
		"timeout": func(v *yaml.Node, p string) {
			if x, ok := d.durationIn(v, p, 1, 0); ok {
				r.Timeout = x
				st.timeoutSet = true
			}
		},
		"max_body": func(v *yaml.Node, p string) {
			if x, ok := d.sizeIn(v, p, 0, 0); ok {
				r.MaxBody = x
				st.maxBodySet = true
			}
		},
		"request_headers":  func(v *yaml.Node, p string) { d.headerOps(&r.RequestHeaders, v, p) },
		"response_headers": func(v *yaml.Node, p string) { d.headerOps(&r.ResponseHeaders, v, p) },
		"limits":           func(v *yaml.Node, p string) { d.routeLimits(r, v, p) },
		"concurrency":      func(v *yaml.Node, p string) { d.concurrency(&r.Concurrency, v, p) },
	})
	if seen == nil {
		return
	}
	for _, req := range []string{"match", "upstream"} {
		if seen[req] == nil {
			d.errorf(n, field(path, req), "missing required field %q", req)
		}
	}
	if stripNode != nil && rewriteNode != nil {
		d.errorf(rewriteNode, field(path, "rewrite"), "set at most one of strip_prefix and rewrite")
		return
	}
	if stripNode != nil {
		m := r.Match
		var base, kind string
		switch {
		case m.PathPrefix != "":
			base, kind = m.PathPrefix, "path_prefix"
		case m.Path != "":
			base, kind = m.Path, "path"
		case m.PathTemplate != "":
			base, kind = templateLiteralPrefix(m.PathTemplate), "the literal start of path_template"
		}
		if kind != "" && !strings.HasPrefix(base, r.StripPrefix) {
			d.errorf(stripNode, field(path, "strip_prefix"), "strip_prefix %q is not a prefix of %s %q, so it would never apply", r.StripPrefix, kind, base)
		}
	}
}

func (d *configDecoder) match(m *Match, n *yaml.Node, path string) {
	var pathNodes []string
	pathField := func(check func(string) error, dst *string) func(v *yaml.Node, p string) {
		return func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			if err := check(s); err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			*dst = s
		}
	}
	seen := d.fields(n, path, fieldDecoders{
		"host": func(v *yaml.Node, p string) {
			s, ok := d.str(v, p)
			if !ok {
				return
			}
			h, err := checkHostPattern(s)
			if err != nil {
				d.errorf(deref(v), p, "%v", err)
				return
			}
			m.Host = h
		},
		"path":          pathField(checkPath, &m.Path),
		"path_prefix":   pathField(checkPath, &m.PathPrefix),
		"path_template": pathField(checkTemplate, &m.PathTemplate),
		"methods": func(v *yaml.Node, p string) {
			items, ok := d.list(v, p)
			if !ok {
				return
			}
			have := map[string]bool{}
			for i, it := range items {
				ip := index(p, i)
				s, ok := d.str(it, ip)
				if !ok {
					continue
				}
				if err := checkToken(s, "method"); err != nil {
					d.errorf(it, ip, "%v", err)
					continue
				}
				// Methods are case-sensitive (RFC 9110 §9.1): "get" never
				// matches a GET request.
				if up := strings.ToUpper(s); up != s && isStandardMethod(up) {
					d.errorf(it, ip, "method %q is case-sensitive and would never match %s (RFC 9110 §9.1); write %q", s, up, up)
					continue
				}
				if have[s] {
					d.errorf(it, ip, "method %q is listed twice", s)
					continue
				}
				have[s] = true
				m.Methods = append(m.Methods, s)
			}
		},
		"headers": func(v *yaml.Node, p string) { m.Headers = d.headerMap(v, p, false) },
		"query": func(v *yaml.Node, p string) {
			d.entries(v, p, func(k, v *yaml.Node, name, p string) {
				if name == "" {
					d.errorf(k, p, "empty query parameter name")
					return
				}
				s, ok := d.str(v, p)
				if !ok {
					return
				}
				m.Query = append(m.Query, Header{Name: name, Value: s})
			})
		},
	})
	if seen == nil {
		return
	}
	for _, k := range []string{"path", "path_prefix", "path_template"} {
		if seen[k] != nil {
			pathNodes = append(pathNodes, k)
		}
	}
	switch len(pathNodes) {
	case 0:
		d.errorf(deref(n), path, "set exactly one of path, path_prefix, path_template")
	case 1:
	default:
		d.errorf(seen[pathNodes[1]], field(path, pathNodes[1]), "set exactly one of path, path_prefix, path_template (%s is also set)", pathNodes[0])
	}
}

func isStandardMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return true
	}
	return false
}

// proxyOwnedHeaders are the fields a configuration may not set, add or
// remove: framing (Content-Length, Transfer-Encoding; editing them would
// desynchronise message boundaries, RFC 9112 §6) and hop-by-hop fields, which
// the proxy itself strips and generates per connection (RFC 9110 §7.6.1).
var proxyOwnedHeaders = []string{
	"Connection", "Content-Length", "Keep-Alive", "Proxy-Connection", "TE",
	"Trailer", "Transfer-Encoding", "Upgrade",
	// Written by the proxy itself (http1's generated fields): an edit would only be dropped.
	"Via", "Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto",
}

func proxyOwned(name string) bool {
	for _, h := range proxyOwnedHeaders {
		if strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// headerMap reads NAME: VALUE pairs in file order. Header names compare
// case-insensitively (RFC 9110 §5.1), so "X-A" and "x-a" are duplicates.
func (d *configDecoder) headerMap(n *yaml.Node, path string, edit bool) []Header {
	var out []Header
	lower := map[string]string{}
	d.entries(n, path, func(k, v *yaml.Node, name, p string) {
		if err := checkToken(name, "header name"); err != nil {
			d.errorf(k, p, "%v", err)
			return
		}
		if edit && proxyOwned(name) {
			d.errorf(k, p, "header %q is managed by the proxy (framing, hop-by-hop per RFC 9110 §7.6.1, or forwarding fields it writes itself) and cannot be edited", name)
			return
		}
		if first, dup := lower[strings.ToLower(name)]; dup {
			d.errorf(k, p, "header %q repeats %q (header names are case-insensitive)", name, first)
			return
		}
		lower[strings.ToLower(name)] = name
		s, ok := d.str(v, p)
		if !ok {
			return
		}
		if err := checkFieldValue(s); err != nil {
			d.errorf(deref(v), p, "%v", err)
			return
		}
		out = append(out, Header{Name: name, Value: s})
	})
	return out
}

func (d *configDecoder) headerOps(h *HeaderOps, n *yaml.Node, path string) {
	removed := map[string]*yaml.Node{}
	seen := d.fields(n, path, fieldDecoders{
		"set": func(v *yaml.Node, p string) { h.Set = d.headerMap(v, p, true) },
		"add": func(v *yaml.Node, p string) { h.Add = d.headerMap(v, p, true) },
		"remove": func(v *yaml.Node, p string) {
			items, ok := d.list(v, p)
			if !ok {
				return
			}
			for i, it := range items {
				ip := index(p, i)
				s, ok := d.str(it, ip)
				if !ok {
					continue
				}
				if err := checkToken(s, "header name"); err != nil {
					d.errorf(it, ip, "%v", err)
					continue
				}
				if proxyOwned(s) {
					d.errorf(it, ip, "header %q is managed by the proxy (framing, hop-by-hop per RFC 9110 §7.6.1, or forwarding fields it writes itself) and cannot be edited", s)
					continue
				}
				if _, dup := removed[strings.ToLower(s)]; dup {
					d.errorf(it, ip, "header %q is listed twice", s)
					continue
				}
				removed[strings.ToLower(s)] = it
				h.Remove = append(h.Remove, s)
			}
		},
	})
	if seen == nil {
		return
	}
	// Removing a field that is also set is contradictory: say which wins
	// rather than let the order of operations decide silently.
	for _, s := range h.Set {
		if it, both := removed[strings.ToLower(s.Name)]; both {
			d.errorf(it, field(path, "remove"), "header %q is both set and removed", s.Name)
		}
	}
}

func (d *configDecoder) accessLog(n *yaml.Node, path string) {
	a := &d.c.AccessLog
	d.fields(n, path, fieldDecoders{
		"path": func(v *yaml.Node, p string) {
			if isNull(deref(v)) {
				a.Path = ""
				return
			}
			if s, ok := d.str(v, p); ok {
				if strings.ContainsRune(s, 0) {
					d.errorf(deref(v), p, "path must not contain NUL")
					return
				}
				a.Path = s
			}
		},
		"format": func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, AccessLogJSON, AccessLogCommon); ok {
				a.Format = s
			}
		},
	})
}

// crossCheck runs the checks that need the whole file: the admin API does
// not share a socket with a listener, every route's upstream exists and route
// names are unique (default names included).
func (d *configDecoder) crossCheck() {
	c := d.c
	d.checkLimitRefs()
	if d.adminNode != nil && c.Admin.Address != "" {
		for j, l := range c.Listen {
			if l.Address != "" && socketsOverlap(c.Admin.Address, l.Address) {
				d.errorf(d.adminNode, "admin.address", "admin address %q overlaps listen[%d] (%q)", c.Admin.Address, j, l.Address)
				break
			}
		}
	}
	c.upstreamByName = make(map[string]*Upstream, len(c.Upstreams))
	names := make([]string, 0, len(c.Upstreams))
	for _, u := range c.Upstreams {
		c.upstreamByName[u.Name] = u
		names = append(names, u.Name)
	}
	sort.Strings(names)
	routeNames := map[string]int{}
	for i, st := range d.routes {
		r := c.Routes[i]
		if st.upstream != nil && c.upstreamByName[r.Upstream] == nil && !d.upstreamsBroken && !d.rejected[r.Upstream] {
			msg := fmt.Sprintf("unknown upstream %q", r.Upstream)
			if s := suggest(r.Upstream, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else if len(names) > 0 {
				msg += fmt.Sprintf(" (defined: %s)", strings.Join(names, ", "))
			}
			d.errorf(st.upstream, field(st.path, "upstream"), "%s", msg)
		}
		if r.Name != "" {
			if j, dup := routeNames[r.Name]; dup {
				d.errorf(st.nameNode, field(st.path, "name"), "name %q is already used by routes[%d]", r.Name, j)
				continue
			}
			routeNames[r.Name] = i
		}
	}
	for i, r := range c.Routes {
		if r.Name == "" {
			if j, dup := routeNames[defaultRouteName(i)]; dup {
				d.errorf(d.routes[j].nameNode, field(d.routes[j].path, "name"), "name %q is the default name of routes[%d]; choose another", defaultRouteName(i), i)
			}
		}
	}
}
