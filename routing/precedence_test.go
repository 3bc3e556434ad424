package routing

import "testing"

func TestPrecedenceExactBeatsTemplateBeatsPrefix(t *testing.T) {
	// Declared least specific first so that declaration order cannot be
	// what decides.
	tab := mustBuild(t, []Spec{
		{Name: "prefix", PathPrefix: "/users"},
		{Name: "template", PathTemplate: "/users/{id}"},
		{Name: "exact", Path: "/users/me"},
	})
	runLookups(t, tab, []lookupCase{
		{"exact wins", req{path: "/users/me"}, "exact"},
		{"template beats prefix", req{path: "/users/42"}, "template"},
		{"prefix when template does not fit", req{path: "/users/42/x"}, "prefix"},
	})
}

func TestPrecedenceTemplatesWithMoreLiteralsFirst(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "one-literal", PathTemplate: "/a/{x}/{y}"},
		{Name: "two-literals", PathTemplate: "/{x}/b/c"},
		{Name: "catch-all", PathTemplate: "/a/{rest...}"},
		{Name: "fixed", PathTemplate: "/a/{x}"},
	})
	runLookups(t, tab, []lookupCase{
		// A depth-first search preferring literal edges would find
		// one-literal first; precedence counts literals over the whole path.
		{"more literals win over literal-first search order", req{path: "/a/b/c"}, "two-literals"},
		{"one literal", req{path: "/a/b/d"}, "one-literal"},
		{"fixed-length template before rest at equal literals", req{path: "/a/z"}, "fixed"},
		{"rest takes what others do not", req{path: "/a/z/y/x"}, "catch-all"},
	})
}

func TestPrecedenceLongestPrefixFirst(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "root", PathPrefix: "/"},
		{Name: "a", PathPrefix: "/a"},
		{Name: "ab", PathPrefix: "/a/b"},
		{Name: "abc", PathPrefix: "/a/b/c"},
	})
	runLookups(t, tab, []lookupCase{
		{"deepest", req{path: "/a/b/c/d"}, "abc"},
		{"middle", req{path: "/a/b/x"}, "ab"},
		{"boundary skips to shorter prefix", req{path: "/a/bx"}, "a"},
		{"root", req{path: "/z"}, "root"},
	})
}

func TestPrecedenceMoreConditionsFirstThenDeclarationOrder(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "plain", Path: "/x"},
		{Name: "get", Path: "/x", Methods: []string{"GET"}},
		{Name: "get-canary", Path: "/x", Methods: []string{"GET"}, Headers: []HeaderMatch{{"x-canary", "1"}}},
		{Name: "get-canary-debug", Path: "/x", Methods: []string{"GET"}, Headers: []HeaderMatch{{"x-canary", "1"}}, Query: []HeaderMatch{{"debug", "1"}}},
		{Name: "post-first", Path: "/x", Methods: []string{"POST"}},
		{Name: "beta-second", Path: "/x", Headers: []HeaderMatch{{"x-beta", "1"}}},
	})
	runLookups(t, tab, []lookupCase{
		{"three conditions", req{path: "/x", query: "debug=1", hdr: hdrMap{"x-canary": "1"}}, "get-canary-debug"},
		{"two conditions", req{path: "/x", hdr: hdrMap{"x-canary": "1"}}, "get-canary"},
		{"one condition", req{path: "/x"}, "get"},
		{"no condition", req{method: "PUT", path: "/x"}, "plain"},
		{"declaration order among equal counts", req{method: "POST", path: "/x", hdr: hdrMap{"x-beta": "1"}}, "post-first"},
	})
	// The same two routes declared the other way round swap the winner.
	tab = mustBuild(t, []Spec{
		{Name: "beta-first", Path: "/x", Headers: []HeaderMatch{{"x-beta", "1"}}},
		{Name: "post-second", Path: "/x", Methods: []string{"POST"}},
	})
	runLookups(t, tab, []lookupCase{
		{"reversed declaration order", req{method: "POST", path: "/x", hdr: hdrMap{"x-beta": "1"}}, "beta-first"},
	})
}

func TestPrecedenceFallsBackWhenConditionsFail(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "login-get", Path: "/login", Methods: []string{"GET"}},
		{Name: "user-put", PathTemplate: "/users/{id}", Methods: []string{"PUT"}},
		{Name: "user-any-v2", PathTemplate: "/{kind}/{id}", Query: []HeaderMatch{{"v", "2"}}},
		{Name: "users-prefix-post", PathPrefix: "/users", Methods: []string{"POST"}},
		{Name: "catch-all", PathPrefix: "/"},
	})
	runLookups(t, tab, []lookupCase{
		{"exact route when its method matches", req{method: "GET", path: "/login"}, "login-get"},
		{"exact route's method fails: catch-all", req{method: "POST", path: "/login"}, "catch-all"},
		{"template matches", req{method: "PUT", path: "/users/1"}, "user-put"},
		{"template fails: less literal template", req{method: "GET", path: "/users/1", query: "v=2"}, "user-any-v2"},
		{"templates fail: longest prefix", req{method: "POST", path: "/users/1"}, "users-prefix-post"},
		{"all specific fail: shorter prefix", req{method: "GET", path: "/users/1"}, "catch-all"},
	})
}

func TestPrecedenceTemplateParamsComeFromTheChosenRoute(t *testing.T) {
	// The search visits "/{a}/{b}" (capturing two params) and "/x/{c}"; the
	// chosen route's params must not be mixed with the other's.
	tab := mustBuild(t, []Spec{
		{Name: "two-params", PathTemplate: "/{a}/{b}"},
		{Name: "literal", PathTemplate: "/x/{c}", Methods: []string{"GET"}},
	})
	var m Match
	if ok, _ := tab.Lookup(&m, nil, []byte("GET"), []byte("/x/7"), nil, nil); !ok || m.Route().Name() != "literal" {
		t.Fatalf("got %v", m.Route())
	}
	if v, ok := m.Param("c"); !ok || string(v) != "7" || m.NumParams() != 1 {
		t.Fatalf("c=%q ok=%v n=%d", v, ok, m.NumParams())
	}
	if ok, _ := tab.Lookup(&m, nil, []byte("POST"), []byte("/x/7"), nil, nil); !ok || m.Route().Name() != "two-params" {
		t.Fatalf("got %v", m.Route())
	}
	a, _ := m.Param("a")
	b, _ := m.Param("b")
	if string(a) != "x" || string(b) != "7" || m.NumParams() != 2 {
		t.Fatalf("a=%q b=%q n=%d", a, b, m.NumParams())
	}
}
