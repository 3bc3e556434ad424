package routing

import (
	"errors"
	"fmt"
	"strings"
)

// maxParams bounds the parameters of one template so that a Match holds them
// in fixed arrays and Lookup never allocates.
const maxParams = 32

var (
	errTemplateSyntax  = errors.New(`template segments are literals, "{name}" or a final "{name...}"`)
	errTemplateName    = errors.New("parameter names are letters, digits and '_', not starting with a digit")
	errTemplateDup     = errors.New("parameter name used twice")
	errTemplateParams  = fmt.Errorf("more than %d parameters", maxParams)
	errTemplateDot     = errors.New(`"." and ".." segments are not allowed`)
	errTemplateEmpty   = errors.New("empty segment (\"//\") is not allowed")
	errTemplateLiteral = errors.New("literal segment is not in normalized form")
)

// templateSegment is one parsed segment of a PathTemplate.
type templateSegment struct {
	literal string // normalized literal; "" with param set
	param   string // parameter name, or "" for a literal
	rest    bool   // final "{name...}" matching the remainder
}

func validParamName(s string) bool {
	if s == "" || '0' <= s[0] && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseTemplate splits a template such as "/users/{id}/orders" into
// segments. Literal segments are normalized like request paths, so a
// template and the requests it should match agree byte for byte. A trailing
// slash is a final empty literal segment ("/users/{id}/" matches "/users/7/").
func parseTemplate(t string) ([]templateSegment, error) {
	if !strings.HasPrefix(t, "/") {
		return nil, ErrPathNotAbsolute
	}
	parts := strings.Split(t[1:], "/")
	segs := make([]templateSegment, 0, len(parts))
	seen := make(map[string]bool)
	for i, p := range parts {
		last := i == len(parts)-1
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			name := p[1 : len(p)-1]
			rest := strings.HasSuffix(name, "...")
			if rest {
				if !last {
					return nil, errTemplateSyntax
				}
				name = strings.TrimSuffix(name, "...")
			}
			if !validParamName(name) {
				return nil, errTemplateName
			}
			if seen[name] {
				return nil, errTemplateDup
			}
			seen[name] = true
			if len(seen) > maxParams {
				return nil, errTemplateParams
			}
			segs = append(segs, templateSegment{param: name, rest: rest})
			continue
		}
		if strings.ContainsAny(p, "{}") {
			return nil, errTemplateSyntax
		}
		if p == "" && !last {
			return nil, errTemplateEmpty
		}
		if p == "" {
			segs = append(segs, templateSegment{})
			continue
		}
		norm, err := Normalize(nil, []byte("/"+p))
		if err != nil {
			return nil, err
		}
		lit := string(norm[1:])
		if lit == "" || strings.Contains(lit, "/") {
			return nil, errTemplateDot
		}
		segs = append(segs, templateSegment{literal: lit})
	}
	return segs, nil
}

// templateNode is a node of the per-host segment trie of template routes.
// Literal segments are map edges; "{name}" segments share one param edge, so
// templates differing only in parameter names share nodes (parameters are
// captured by position and named by the matched route).
type templateNode struct {
	static map[string]*templateNode
	// keys and nodes replace static when a node has few literal children:
	// comparing a handful of strings is cheaper than hashing the segment.
	keys   []string
	nodes  []*templateNode
	param  *templateNode
	routes []*Route // templates ending at this node
	rest   []*Route // templates whose next and final segment is "{name...}"
}

func (n *templateNode) insert(segs []templateSegment, r *Route) {
	for _, s := range segs {
		switch {
		case s.rest:
			n.rest = append(n.rest, r)
			return
		case s.param != "":
			if n.param == nil {
				n.param = &templateNode{}
			}
			n = n.param
		default:
			if n.static == nil {
				n.static = make(map[string]*templateNode)
			}
			c := n.static[s.literal]
			if c == nil {
				c = &templateNode{}
				n.static[s.literal] = c
			}
			n = c
		}
	}
	n.routes = append(n.routes, r)
}

// smallStatic is the number of literal children up to which a node keeps
// them in a slice instead of a map.
const smallStatic = 8

// finish compacts the subtree for lookups once all routes are inserted.
func (n *templateNode) finish() {
	if len(n.static) <= smallStatic {
		for k, c := range n.static {
			n.keys = append(n.keys, k)
			n.nodes = append(n.nodes, c)
		}
		n.static = nil
	}
	for _, c := range n.static {
		c.finish()
	}
	for _, c := range n.nodes {
		c.finish()
	}
	if n.param != nil {
		n.param.finish()
	}
}

func (n *templateNode) child(seg []byte) *templateNode {
	if n.static != nil {
		return n.static[string(seg)]
	}
	for i, k := range n.keys {
		if k == string(seg) {
			return n.nodes[i]
		}
	}
	return nil
}

// span is a parameter value: path[start:end] of the normalized path.
type span struct{ start, end int32 }

// templateSearch is the state of one template lookup. It visits every trie
// path the request path can follow (a literal edge and the param edge may
// both match a segment) and keeps the best candidate whose conditions hold,
// so a more specific template whose conditions fail falls back to the next
// one. A trie node stands for one sequence of edges, and the request path
// fixes which segment each depth consumes, so a lookup visits every node at
// most once: the work is bounded by the trie nodes along the request's
// segments (in practice a handful of map probes), never by the number of
// routes.
type templateSearch struct {
	path []byte
	req  request
	m    *Match // receives the best route and its parameters
	work [maxParams]span
}

func (s *templateSearch) consider(r *Route, hdr Headers, nparams int, rest span, hasRest bool) {
	if best := s.m.route; best != nil && !templateBetter(r, best) {
		return
	}
	if !r.conds.match(s.req, hdr) {
		return
	}
	s.m.route = r
	copy(s.m.params[:nparams], s.work[:nparams])
	n := nparams
	if hasRest {
		s.m.params[n] = rest
		n++
	}
	s.m.nparams = n
}

// visit matches path[i:] against the subtree at n; i is len(path) or the
// index of a '/'. depth is the number of parameters captured so far.
func (s *templateSearch) visit(n *templateNode, hdr Headers, i, depth int) {
	path := s.path
	if i == len(path) {
		for _, r := range n.routes {
			s.consider(r, hdr, depth, span{}, false)
		}
		return
	}
	for _, r := range n.rest {
		s.consider(r, hdr, depth, span{int32(i + 1), int32(len(path))}, true)
	}
	j := i + 1
	for j < len(path) && path[j] != '/' {
		j++
	}
	seg := path[i+1 : j]
	if c := n.child(seg); c != nil {
		s.visit(c, hdr, j, depth)
	}
	if n.param != nil && len(seg) > 0 && depth < maxParams {
		s.work[depth] = span{int32(i + 1), int32(j)}
		s.visit(n.param, hdr, j, depth+1)
	}
}

// templateBetter reports whether template route a precedes b: more literal
// segments first, then templates without a "{rest...}" before those with
// one, then more conditions, then declaration order.
func templateBetter(a, b *Route) bool {
	if a.literals != b.literals {
		return a.literals > b.literals
	}
	if a.catchAll != b.catchAll {
		return !a.catchAll
	}
	if a.ncond != b.ncond {
		return a.ncond > b.ncond
	}
	return a.index < b.index
}
