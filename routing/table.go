package routing

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Spec is one route as the operator declares it. The lead maps configuration
// onto Specs; Build validates and compiles them.
type Spec struct {
	// Name identifies the route in errors, logs and metrics. Non-empty names
	// must be unique.
	Name string
	// Host is "" for any host, an exact name ("api.example.com", matched
	// case-insensitively, the request's port ignored), a wildcard
	// ("*.example.com", matching one or more labels before the suffix but not
	// the bare suffix) or a bracketed IPv6 literal.
	Host string
	// Exactly one of Path, PathPrefix and PathTemplate is set. All are
	// normalized like request paths (see Normalize) before use.
	//
	// Path matches the whole path. PathPrefix matches on a segment
	// boundary: "/api" matches "/api" and "/api/x" but not "/apis"; "/api/"
	// matches only below "/api/". PathTemplate is a path whose segments are
	// literals, "{name}" (one non-empty segment) or a final "{name...}" (the
	// rest of the path after the preceding '/', possibly empty).
	Path, PathPrefix, PathTemplate string
	// Methods lists the accepted methods, compared case-sensitively
	// (RFC 9110 9.1); empty accepts any method.
	Methods []string
	// Headers must all be present with exactly these values; names are
	// case-insensitive.
	Headers []HeaderMatch
	// Query must all be present with exactly these decoded values. Names
	// are case-sensitive; keys and values are form-decoded ('+' is a
	// space); when a name repeats, its first occurrence counts.
	Query []HeaderMatch
	// Rewrite says how the upstream path is derived from the normalized
	// request path; the zero value forwards it unchanged.
	Rewrite RewriteSpec
	// Target is the caller's payload (upstream, policies), returned as is.
	Target any
}

type pathKind uint8

const (
	kindExact pathKind = iota + 1
	kindPrefix
	kindTemplate
)

// Route is a compiled Spec. Routes are immutable and shared by all
// goroutines using the Table.
type Route struct {
	name    string
	index   int
	target  any
	host    string
	kind    pathKind
	pattern string // normalized Path or PathPrefix, or the template as given
	conds   conditions
	ncond   int
	rewrite RewriteSpec

	segs     []templateSegment // parsed template, dropped once inserted
	params   []string          // template parameter names in capture order
	literals int               // literal segments of a template
	catchAll bool              // template ends in "{name...}"
}

// Name returns Spec.Name.
func (r *Route) Name() string { return r.name }

// Index returns the position of the route's Spec in the slice given to Build.
func (r *Route) Index() int { return r.index }

// Target returns Spec.Target.
func (r *Route) Target() any { return r.target }

// Pattern returns the normalized Path or PathPrefix, or the PathTemplate.
func (r *Route) Pattern() string { return r.pattern }

// ParamNames returns the template's parameter names in path order; nil for
// exact and prefix routes. The slice must not be modified.
func (r *Route) ParamNames() []string { return r.params }

// hostTree holds the routes of one host key.
type hostTree struct {
	radix     radixNode // while building
	paths     radixTree // exact and prefix routes, for lookups
	templates templateNode
	hasTmpl   bool
}

// Table is an immutable, compiled routing table. Lookup is safe for
// concurrent use by any number of goroutines; swap whole Tables (for example
// through an atomic.Pointer) to reload.
type Table struct {
	routes []*Route
	exact  map[string]*hostTree // lower-case host
	wild   map[string]*hostTree // ".example.com" for "*.example.com"
	any    *hostTree

	// wildLens has bit n set when some wildcard key is n bytes long. Only
	// host suffixes of those lengths are looked up, so a request host costs
	// map probes only where a wildcard could match, however many labels
	// it has.
	wildLens [(maxHostLen + 64) / 64]uint64
}

// Len returns the number of routes.
func (t *Table) Len() int { return len(t.routes) }

// Route returns the route built from specs[i].
func (t *Table) Route(i int) *Route { return t.routes[i] }

var (
	errPathCount   = errors.New("exactly one of Path, PathPrefix and PathTemplate must be set")
	errDupName     = errors.New("route name used twice")
	errNotAbsolute = errors.New(`must start with "/"`)
	errShadowed    = errors.New("unreachable route")
)

// shape identifies what a route matches: two routes with the same shape
// match exactly the same requests, and the later one never wins.
// Template parameter names do not matter; condition order does not either.
func (r *Route) shape() string {
	var b strings.Builder
	b.WriteString(r.host)
	b.WriteByte(0)
	b.WriteByte(byte(r.kind))
	if r.kind == kindTemplate {
		for _, sg := range r.segs {
			b.WriteByte('/')
			switch {
			case sg.rest:
				b.WriteString("{...}")
			case sg.param != "":
				b.WriteString("{}")
			default:
				b.WriteString(sg.literal)
			}
		}
	} else {
		b.WriteString(r.pattern)
	}
	methods := slices.Sorted(slices.Values(r.conds.methods))
	for _, m := range methods {
		b.WriteByte(0)
		b.WriteString(m)
	}
	for _, list := range [][]HeaderMatch{r.conds.headers, r.conds.query} {
		b.WriteByte(1)
		sorted := slices.Clone(list)
		slices.SortFunc(sorted, func(a, b HeaderMatch) int { return strings.Compare(a.Name, b.Name) })
		for _, h := range sorted {
			b.WriteByte(0)
			b.WriteString(h.Name)
			b.WriteByte(0)
			b.WriteString(h.Value)
		}
	}
	return b.String()
}

// Host returns the route's host key: "" for any host, the lower-case name,
// or ".example.com" for "*.example.com".
func (r *Route) Host() string { return r.host }

// Build validates specs and compiles them into a Table. A validation error
// is a *SpecError (or several joined with errors.Join) naming the route's
// index, name and field.
func Build(specs []Spec) (*Table, error) {
	t := &Table{
		routes: make([]*Route, 0, len(specs)),
		exact:  make(map[string]*hostTree),
		wild:   make(map[string]*hostTree),
	}
	var errs []error
	names := make(map[string]int)
	shapes := make(map[string]int)
	for i := range specs {
		s := &specs[i]
		fail := func(field string, err error) {
			errs = append(errs, &SpecError{Index: i, Name: s.Name, Field: field, Err: err})
		}
		if s.Name != "" {
			if j, dup := names[s.Name]; dup {
				fail("Name", fmt.Errorf("%w (also route %d)", errDupName, j))
			}
			names[s.Name] = i
		}
		r, field, err := compile(i, s)
		if err != nil {
			fail(field, err)
			continue
		}
		shape := r.shape()
		if j, dup := shapes[shape]; dup {
			fail("Path", fmt.Errorf("%w: same host, path and conditions as route %d, so it can never match", errShadowed, j))
		}
		shapes[shape] = i
		t.routes = append(t.routes, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, r := range t.routes {
		t.treeFor(r.host).add(r)
	}
	trees := make([]*hostTree, 0, len(t.exact)+len(t.wild)+1)
	for _, ht := range t.exact {
		trees = append(trees, ht)
	}
	for key, ht := range t.wild {
		trees = append(trees, ht)
		t.wildLens[len(key)/64] |= 1 << (len(key) % 64)
	}
	if t.any != nil {
		trees = append(trees, t.any)
	}
	for _, ht := range trees {
		ht.finish()
	}
	return t, nil
}

func (t *Table) treeFor(host string) *hostTree {
	var m map[string]*hostTree
	key := host
	switch {
	case host == "":
		if t.any == nil {
			t.any = &hostTree{}
		}
		return t.any
	case strings.HasPrefix(host, "."):
		m = t.wild
	default:
		m = t.exact
	}
	ht := m[key]
	if ht == nil {
		ht = &hostTree{}
		m[key] = ht
	}
	return ht
}

func (ht *hostTree) add(r *Route) {
	switch r.kind {
	case kindExact:
		ht.radix.insert(r.pattern, r, false)
	case kindPrefix:
		ht.radix.insert(r.pattern, r, true)
	case kindTemplate:
		ht.templates.insert(r.segs, r)
		r.segs = nil
		ht.hasTmpl = true
	}
}

// finish orders every candidate list (more conditions first, then
// declaration order) and links the prefix chain.
func (ht *hostTree) finish() {
	var sortRadix func(n *radixNode)
	sortRadix = func(n *radixNode) {
		slices.SortStableFunc(n.exact, byConditions)
		slices.SortStableFunc(n.prefix, byConditions)
		for _, c := range n.children {
			sortRadix(c)
		}
	}
	sortRadix(&ht.radix)
	ht.paths = freeze(&ht.radix)
	ht.radix = radixNode{}
	ht.templates.finish()
}

func byConditions(a, b *Route) int {
	if a.ncond != b.ncond {
		return b.ncond - a.ncond
	}
	return a.index - b.index
}

// compile validates one Spec. On error it returns the field at fault.
func compile(i int, s *Spec) (*Route, string, error) {
	r := &Route{name: s.Name, index: i, target: s.Target}
	var err error
	if s.Host != "" {
		if r.host, err = hostSpecKey(s.Host); err != nil {
			return nil, "Host", err
		}
	}

	set := 0
	for _, p := range []string{s.Path, s.PathPrefix, s.PathTemplate} {
		if p != "" {
			set++
		}
	}
	if set != 1 {
		return nil, "Path", errPathCount
	}
	switch {
	case s.Path != "":
		r.kind = kindExact
		if r.pattern, err = normalizeSpecPath(s.Path); err != nil {
			return nil, "Path", err
		}
	case s.PathPrefix != "":
		r.kind = kindPrefix
		if r.pattern, err = normalizeSpecPath(s.PathPrefix); err != nil {
			return nil, "PathPrefix", err
		}
	default:
		r.kind = kindTemplate
		segs, err := parseTemplate(s.PathTemplate)
		if err != nil {
			return nil, "PathTemplate", err
		}
		r.pattern = s.PathTemplate
		r.segs = segs
		for _, sg := range segs {
			switch {
			case sg.param == "":
				r.literals++
			default:
				r.params = append(r.params, sg.param)
				r.catchAll = r.catchAll || sg.rest
			}
		}
	}

	for j, m := range s.Methods {
		field := fmt.Sprintf("Methods[%d]", j)
		if !isToken(m) {
			return nil, field, errBadToken
		}
		if up := strings.ToUpper(m); up != m && isStandardMethod(up) {
			return nil, field, fmt.Errorf("methods are case-sensitive (RFC 9110 9.1): %q never matches %s", m, up)
		}
		if slices.Contains(s.Methods[:j], m) {
			return nil, field, errDupMethod
		}
	}
	r.conds.methods = slices.Clone(s.Methods)
	for j, h := range s.Headers {
		if !isToken(h.Name) {
			return nil, fmt.Sprintf("Headers[%d].Name", j), errBadToken
		}
		if hasCTL(h.Value) {
			return nil, fmt.Sprintf("Headers[%d].Value", j), errBadValue
		}
		lower := strings.ToLower(h.Name)
		for _, prev := range r.conds.headers {
			if prev.Name == lower {
				return nil, fmt.Sprintf("Headers[%d].Name", j), errDupHeader
			}
		}
		r.conds.headers = append(r.conds.headers, HeaderMatch{Name: lower, Value: h.Value})
	}
	for j, q := range s.Query {
		if q.Name == "" {
			return nil, fmt.Sprintf("Query[%d].Name", j), errEmptyName
		}
		for _, prev := range r.conds.query {
			if prev.Name == q.Name {
				return nil, fmt.Sprintf("Query[%d].Name", j), errDupQueryKey
			}
		}
		r.conds.query = append(r.conds.query, q)
	}
	r.ncond = r.conds.count()

	if field, err := s.Rewrite.validate(r); err != nil {
		return nil, "Rewrite." + field, err
	}
	r.rewrite = s.Rewrite
	return r, "", nil
}

func isStandardMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH":
		return true
	}
	return false
}

// normalizeSpecPath normalizes a configured path and insists it was written
// in a form requests can reach.
func normalizeSpecPath(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", errNotAbsolute
	}
	n, err := Normalize(nil, []byte(p))
	if err != nil {
		return "", err
	}
	return string(n), nil
}

// Lookup normalizes path into m (see Normalize) and finds the route the
// request selects, in the precedence order documented in the package
// comment. host is the request's Host (or :authority) value, with or without
// a port; rawQuery is the query without the '?', still encoded; hdr may be
// nil, and then routes with header conditions never match.
//
// It returns false with a nil error when no route matches (404), and a
// normalization error (400) when the path is refused; then m holds no route.
// Lookup does not allocate once m's path buffer has grown to the longest
// path seen. A Match must not be shared by concurrent Lookups, and path must
// not alias m.Path().
func (t *Table) Lookup(m *Match, host, method, path, rawQuery []byte, hdr Headers) (bool, error) {
	m.route = nil
	m.nparams = 0
	var err error
	if m.path, err = Normalize(m.path[:0], path); err != nil {
		return false, err
	}
	req := request{method: method, rawQuery: rawQuery}
	if len(t.exact) > 0 || len(t.wild) > 0 {
		if t.lookupHost(m, req, hdr, host) {
			return true, nil
		}
	}
	if t.any != nil && t.any.lookup(m, req, hdr) {
		return true, nil
	}
	return false, nil
}

// lookupHost tries the routes of the request's host, exact then wildcard; a table without
// host routes never pays for folding the Host value.
func (t *Table) lookupHost(m *Match, req request, hdr Headers, host []byte) bool {
	var buf [maxHostLen]byte
	if h, ok := requestHostKey(&buf, host); ok {
		if ht := t.exact[string(h)]; ht != nil && ht.lookup(m, req, hdr) {
			return true
		}
		if len(t.wild) > 0 {
			// Longer suffixes first: "a.b.example.com" tries
			// ".b.example.com" before ".example.com". The loop starts at 1
			// so a wildcard needs at least one non-empty label.
			for i := 1; i < len(h); i++ {
				if n := len(h) - i; h[i] != '.' || t.wildLens[n/64]&(1<<(n%64)) == 0 {
					continue
				}
				if ht := t.wild[string(h[i:])]; ht != nil && ht.lookup(m, req, hdr) {
					return true
				}
			}
		}
	}
	return false
}

func (ht *hostTree) lookup(m *Match, req request, hdr Headers) bool {
	path := m.path
	exact, deepest := ht.paths.walk(path)
	if exact >= 0 {
		for _, r := range ht.paths.exactRoutes(exact) {
			if r.conds.match(req, hdr) {
				m.route = r
				return true
			}
		}
	}
	if ht.hasTmpl {
		s := templateSearch{path: path, req: req, m: m}
		s.visit(&ht.templates, hdr, 0, 0)
		if m.route != nil {
			return true
		}
	}
	for n := deepest; n >= 0; n = ht.paths.nodes[n].prefixUp {
		if !prefixMatches(path, int(ht.paths.nodes[n].depth)) {
			continue
		}
		for _, r := range ht.paths.prefixRoutes(n) {
			if r.conds.match(req, hdr) {
				m.route = r
				return true
			}
		}
	}
	return false
}
