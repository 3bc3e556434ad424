package routing

import (
	"errors"
	"slices"
	"strings"
)

// RewriteSpec says how the path sent upstream is derived from the
// normalized request path. At most one field is set; the zero value forwards
// the normalized path unchanged. The query is never rewritten: the gateway
// forwards the raw query as received.
type RewriteSpec struct {
	// StripPrefix removes the matched Path or PathPrefix: a route with
	// PathPrefix "/api" forwards "/api/users" as "/users" and "/api" as "/".
	StripPrefix bool
	// ReplacePrefix replaces the matched Path or PathPrefix: with
	// PathPrefix "/api" and ReplacePrefix "/v2", "/api/users" becomes
	// "/v2/users".
	ReplacePrefix string
	// ReplacePath replaces the whole path. In a template route it may
	// reference the template's parameters as "{name}", each reference a
	// whole segment ("{rest}" for a "{rest...}" parameter): with template
	// "/users/{id}" and ReplacePath "/v1/accounts/{id}", "/users/42" becomes
	// "/v1/accounts/42". Parameter values are substituted in their
	// normalized form.
	ReplacePath string
}

var (
	errRewriteCount  = errors.New("set at most one of StripPrefix, ReplacePrefix and ReplacePath")
	errRewriteKind   = errors.New("StripPrefix and ReplacePrefix need a Path or PathPrefix route")
	errRewriteForm   = errors.New("must be an absolute path in normalized form")
	errRewriteParam  = errors.New("references a parameter the template does not have")
	errRewriteSyntax = errors.New(`unbalanced "{" or "}"`)
	errRewriteWhole  = errors.New(`a "{name}" reference must be a whole path segment`)
)

func (rw *RewriteSpec) validate(r *Route) (field string, err error) {
	n := 0
	if rw.StripPrefix {
		n++
	}
	if rw.ReplacePrefix != "" {
		n++
	}
	if rw.ReplacePath != "" {
		n++
	}
	if n > 1 {
		return "StripPrefix", errRewriteCount
	}
	if (rw.StripPrefix || rw.ReplacePrefix != "") && r.kind == kindTemplate {
		return "StripPrefix", errRewriteKind
	}
	if rw.ReplacePrefix != "" && !isNormalized(rw.ReplacePrefix) {
		return "ReplacePrefix", errRewriteForm
	}
	if rw.ReplacePath != "" {
		return "ReplacePath", validateReplacePath(rw.ReplacePath, r.params)
	}
	return "", nil
}

// validateReplacePath checks a ReplacePath: "{name}" references to the
// template's parameters, each a whole segment, and literal text in
// normalized form. Whole segments keep the result normalized whatever the
// values: a fixed parameter is a normalized segment, never "." or "..", and
// an empty "{rest...}" collapses with its slash. A reference glued to text
// could form one (".{x}" with x = ".;a" gives "..;a").
func validateReplacePath(tmpl string, params []string) error {
	var lit strings.Builder
	i := 0
	for i < len(tmpl) {
		c := tmpl[i]
		if c == '}' {
			return errRewriteSyntax
		}
		if c != '{' {
			lit.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return errRewriteSyntax
		}
		end += i
		name := tmpl[i+1 : end]
		if strings.IndexByte(name, '{') >= 0 {
			return errRewriteSyntax
		}
		if !slices.Contains(params, name) {
			return errRewriteParam
		}
		if i == 0 || tmpl[i-1] != '/' || end+1 < len(tmpl) && tmpl[end+1] != '/' {
			return errRewriteWhole
		}
		lit.WriteByte('p')
		i = end + 1
	}
	if !isNormalized(lit.String()) {
		return errRewriteForm
	}
	return nil
}

func isNormalized(p string) bool {
	n, err := Normalize(nil, []byte(p))
	return err == nil && string(n) == p
}

// AppendUpstreamPath appends the path to send upstream for the matched
// route, its RewriteSpec applied to the normalized request path, and returns
// the extended slice. It allocates only when dst lacks capacity. It must
// follow a Lookup that matched.
func (m *Match) AppendUpstreamPath(dst []byte) []byte {
	r := m.route
	rw := &r.rewrite
	switch {
	case rw.StripPrefix:
		return ReplacePrefix(dst, m.path, r.pattern, "/")
	case rw.ReplacePrefix != "":
		return ReplacePrefix(dst, m.path, r.pattern, rw.ReplacePrefix)
	case rw.ReplacePath != "":
		return m.appendTemplate(dst, rw.ReplacePath)
	}
	return append(dst, m.path...)
}

// appendTemplate expands "{name}" references (validated by Build).
func (m *Match) appendTemplate(dst []byte, tmpl string) []byte {
	for len(tmpl) > 0 {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			return append(dst, tmpl...)
		}
		dst = append(dst, tmpl[:open]...)
		end := strings.IndexByte(tmpl[open:], '}') + open
		v, _ := m.Param(tmpl[open+1 : end])
		dst = append(dst, v...)
		tmpl = tmpl[end+1:]
		// An empty "{rest...}" between two slashes must not leave "//".
		if len(v) == 0 && len(dst) > 0 && dst[len(dst)-1] == '/' && len(tmpl) > 0 && tmpl[0] == '/' {
			tmpl = tmpl[1:]
		}
	}
	return dst
}

// StripPrefix appends path with prefix removed on a segment boundary
// ("/api" strips "/api/x" to "/x" and "/api" to "/") and returns the
// extended slice. A path that prefix does not match is appended unchanged.
// path and prefix are expected in normalized form.
func StripPrefix(dst, path []byte, prefix string) []byte {
	return ReplacePrefix(dst, path, prefix, "/")
}

// ReplacePrefix appends path with prefix, matched on a segment boundary,
// replaced by repl, and returns the extended slice. Exactly one slash joins
// repl and the rest of the path: prefix "/api" with repl "/v2/" turns
// "/api/x" into "/v2/x". A path that prefix does not match is appended
// unchanged. path, prefix and repl are expected in normalized form.
func ReplacePrefix(dst, path []byte, prefix, repl string) []byte {
	plen := len(prefix)
	if plen == 0 || len(path) < plen || string(path[:plen]) != prefix || !prefixMatches(path, plen) {
		return append(dst, path...)
	}
	// rest is "" or starts with '/': a prefix ending in '/' gives its slash
	// back to the remainder.
	rest := path[plen:]
	if prefix[plen-1] == '/' {
		rest = path[plen-1:]
	}
	switch {
	case len(rest) == 0:
		if repl == "" {
			return append(dst, '/')
		}
		return append(dst, repl...)
	case repl != "" && repl[len(repl)-1] == '/':
		dst = append(dst, repl[:len(repl)-1]...)
	default:
		dst = append(dst, repl...)
	}
	return append(dst, rest...)
}
