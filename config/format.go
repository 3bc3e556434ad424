package config

import (
	"bytes"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Format renders c as a configuration file with every default written out:
// what `sluice check -print` shows, so an operator sees the values Sluice
// will really use. Parsing the result gives back an equal Config, with one
// exception: admin.token is a secret, and is written as RedactedToken.
func (c *Config) Format() []byte {
	root := mapping(
		"engine", str(c.Engine),
		"loops", num(int64(c.Loops)),
		"listen", c.formatListen(),
		"admin", c.formatAdmin(),
		"http", c.formatHTTP(),
		"shutdown_timeout", str(c.ShutdownTimeout.String()),
		"upstreams", c.formatUpstreams(),
		"routes", c.formatRoutes(),
		"access_log", mapping("path", str(c.AccessLog.Path), "format", str(c.AccessLog.Format)),
	)
	if len(c.Limits) > 0 {
		add(root, "limits", c.formatLimits())
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	// Encoding a tree of plain scalars, mappings and sequences cannot fail.
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		panic("config: Format: " + err.Error())
	}
	_ = enc.Close()
	return b.Bytes()
}

// RedactedToken stands in for admin.token in Format's output.
const RedactedToken = "REDACTED"

func (c *Config) formatListen() *yaml.Node {
	var items []*yaml.Node
	for _, l := range c.Listen {
		m := mapping("name", str(l.Name), "address", str(l.Address))
		if l.TLS != nil {
			add(m, "tls", l.TLS.format())
		}
		items = append(items, m)
	}
	return seq(items...)
}

func (c *Config) formatAdmin() *yaml.Node {
	addr := c.Admin.Address
	if addr == "" {
		addr = "off"
	}
	m := mapping("address", str(addr))
	if c.Admin.Token != "" {
		// Keep the output a valid file (a non-loopback address needs a
		// token) without printing the secret.
		tok := str(RedactedToken)
		tok.LineComment = "the real token is not shown"
		add(m, "token", tok)
	}
	return m
}

func (c *Config) formatHTTP() *yaml.Node {
	h := c.HTTP
	var proxies []*yaml.Node
	for _, p := range h.TrustedProxies {
		proxies = append(proxies, str(p.String()))
	}
	tp := seq(proxies...)
	tp.Style = yaml.FlowStyle
	return mapping(
		"max_request_line", str(h.MaxRequestLine.String()),
		"max_header_bytes", str(h.MaxHeaderBytes.String()),
		"max_headers", num(int64(h.MaxHeaders)),
		"max_body", str(h.MaxBody.String()),
		"header_read_timeout", str(h.HeaderReadTimeout.String()),
		"idle_timeout", str(h.IdleTimeout.String()),
		"max_connections", num(int64(h.MaxConnections)),
		"trusted_proxies", tp,
		"via", str(h.Via),
	)
}

func (c *Config) formatUpstreams() *yaml.Node {
	m := mapping()
	for _, u := range c.Upstreams {
		var targets []*yaml.Node
		for _, t := range u.Targets {
			targets = append(targets, formatTarget(t))
		}
		body := mapping("balancer", str(u.Balancer))
		if u.Balancer == BalancerConsistentHash {
			add(body, "hash_key", str(u.HashKey.String()))
		}
		add(body,
			"targets", seq(targets...),
			"connect_timeout", str(u.ConnectTimeout.String()),
			"response_timeout", str(u.ResponseTimeout.String()),
			"read_timeout", str(u.ReadTimeout.String()),
			"pool", mapping(
				"max_idle", num(int64(u.Pool.MaxIdle)),
				"max_connections", num(int64(u.Pool.MaxConnections)),
				"idle_timeout", str(u.Pool.IdleTimeout.String()),
			),
			"retries", num(int64(u.Retries)),
		)
		formatResilience(body, u)
		formatUpstreamTLS(body, u)
		formatUpstreamLimits(body, u)
		add(m, u.Name, body)
	}
	return m
}

func (c *Config) formatRoutes() *yaml.Node {
	var items []*yaml.Node
	for _, r := range c.Routes {
		m := r.Match
		match := mapping()
		if m.Host != "" {
			add(match, "host", str(m.Host))
		}
		switch {
		case m.Path != "":
			add(match, "path", str(m.Path))
		case m.PathPrefix != "":
			add(match, "path_prefix", str(m.PathPrefix))
		case m.PathTemplate != "":
			add(match, "path_template", str(m.PathTemplate))
		}
		if len(m.Methods) > 0 {
			var ms []*yaml.Node
			for _, x := range m.Methods {
				ms = append(ms, str(x))
			}
			s := seq(ms...)
			s.Style = yaml.FlowStyle
			add(match, "methods", s)
		}
		if len(m.Headers) > 0 {
			add(match, "headers", pairs(m.Headers))
		}
		if len(m.Query) > 0 {
			add(match, "query", pairs(m.Query))
		}
		route := mapping("name", str(r.Name), "match", match, "upstream", str(r.Upstream))
		if r.StripPrefix != "" {
			add(route, "strip_prefix", str(r.StripPrefix))
		}
		if r.Rewrite != "" {
			add(route, "rewrite", str(r.Rewrite))
		}
		add(route, "timeout", str(r.Timeout.String()), "max_body", str(r.MaxBody.String()))
		if !r.RequestHeaders.Empty() {
			add(route, "request_headers", headerOps(r.RequestHeaders))
		}
		if !r.ResponseHeaders.Empty() {
			add(route, "response_headers", headerOps(r.ResponseHeaders))
		}
		formatRouteLimits(route, r)
		items = append(items, route)
	}
	return seq(items...)
}

func headerOps(h HeaderOps) *yaml.Node {
	m := mapping()
	if len(h.Set) > 0 {
		add(m, "set", pairs(h.Set))
	}
	if len(h.Add) > 0 {
		add(m, "add", pairs(h.Add))
	}
	if len(h.Remove) > 0 {
		var rs []*yaml.Node
		for _, x := range h.Remove {
			rs = append(rs, str(x))
		}
		s := seq(rs...)
		s.Style = yaml.FlowStyle
		add(m, "remove", s)
	}
	return m
}

func pairs(hs []Header) *yaml.Node {
	m := mapping()
	for _, h := range hs {
		add(m, h.Name, str(h.Value))
	}
	return m
}

// str is a string scalar; the encoder quotes it when it would otherwise read
// back as another type ("2", "true", "").
func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func num(n int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(n, 10)}
}

func seq(items ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: items}
}

func mapping(kv ...any) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add(m, kv...)
	return m
}

// add appends key/value pairs (string, *yaml.Node) to mapping m.
func add(m *yaml.Node, kv ...any) {
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content, str(kv[i].(string)), kv[i+1].(*yaml.Node))
	}
}
