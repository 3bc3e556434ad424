package routing

// Match receives the result of Table.Lookup: the route, the normalized path
// and the template parameters. A Match is reused from request to request
// (keep one per connection); its views are valid until the next Lookup with
// it. The zero value is ready to use. A Match is not safe for concurrent use.
type Match struct {
	route   *Route
	path    []byte
	params  [maxParams]span
	nparams int
}

// Route returns the matched route, or nil after a Lookup that found none.
func (m *Match) Route() *Route { return m.route }

// Path returns the normalized request path (see Normalize). It is valid
// after any Lookup that returned a nil error, even when no route matched.
func (m *Match) Path() []byte { return m.path }

// NumParams returns the number of template parameters captured.
func (m *Match) NumParams() int { return m.nparams }

// ParamAt returns the name and value of the i-th captured parameter, in path
// order. The value is a view into Path. Like a slice index, it panics unless
// 0 <= i < NumParams().
func (m *Match) ParamAt(i int) (name string, value []byte) {
	sp := m.params[i]
	return m.route.params[i], m.path[sp.start:sp.end]
}

// Param returns the value of the named template parameter as a view into
// Path, and whether the matched route has that parameter. A "{rest...}"
// parameter may be present with an empty value.
func (m *Match) Param(name string) ([]byte, bool) {
	if m.route == nil {
		return nil, false
	}
	for i, n := range m.route.params[:m.nparams] {
		if n == name {
			sp := m.params[i]
			return m.path[sp.start:sp.end], true
		}
	}
	return nil, false
}
