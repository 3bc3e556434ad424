package routing

import (
	"errors"
	"strings"
	"testing"
)

// hdrMap is a test Headers over lower-case names.
type hdrMap map[string]string

func (h hdrMap) Header(name string) ([]byte, bool) {
	v, ok := h[strings.ToLower(name)]
	return []byte(v), ok
}

type req struct {
	host, method, path, query string
	hdr                       hdrMap
}

func mustBuild(t testing.TB, specs []Spec) *Table {
	t.Helper()
	tab, err := Build(specs)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return tab
}

// lookupName returns the matched route's name, "" for no match, or
// "error: ..." when the path was refused.
func lookupName(t testing.TB, tab *Table, r req) string {
	t.Helper()
	var m Match
	method := r.method
	if method == "" {
		method = "GET"
	}
	var hdr Headers
	if r.hdr != nil {
		hdr = r.hdr
	}
	ok, err := tab.Lookup(&m, []byte(r.host), []byte(method), []byte(r.path), []byte(r.query), hdr)
	if err != nil {
		if ok || m.Route() != nil {
			t.Fatalf("Lookup returned a route with error %v", err)
		}
		return "error: " + err.Error()
	}
	if !ok {
		if m.Route() != nil {
			t.Fatalf("Lookup returned false with route %q", m.Route().Name())
		}
		return ""
	}
	return m.Route().Name()
}

type lookupCase struct {
	name string
	req  req
	want string
}

func runLookups(t *testing.T, tab *Table, cases []lookupCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := lookupName(t, tab, tc.req); got != tc.want {
				t.Fatalf("%+v routed to %q, want %q", tc.req, got, tc.want)
			}
		})
	}
}

func TestHostMatching(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "exact", Host: "API.example.com", PathPrefix: "/"},
		{Name: "wild", Host: "*.example.com", PathPrefix: "/"},
		{Name: "deeper-wild", Host: "*.eu.example.com", PathPrefix: "/"},
		{Name: "ipv6", Host: "[::1]", PathPrefix: "/"},
		{Name: "any", PathPrefix: "/only-any"},
	})
	runLookups(t, tab, []lookupCase{
		{"exact host", req{host: "api.example.com", path: "/"}, "exact"},
		{"exact host is case-insensitive", req{host: "Api.EXAMPLE.com", path: "/"}, "exact"},
		{"exact host ignores port", req{host: "api.example.com:8443", path: "/"}, "exact"},
		{"exact host with root dot", req{host: "api.example.com.", path: "/"}, "exact"},
		{"wildcard one label", req{host: "www.example.com", path: "/"}, "wild"},
		{"wildcard several labels", req{host: "a.b.c.example.com", path: "/"}, "wild"},
		{"wildcard ignores port and case", req{host: "WWW.example.com:80", path: "/"}, "wild"},
		{"longer wildcard suffix wins", req{host: "x.eu.example.com", path: "/"}, "deeper-wild"},
		{"wildcard does not match bare suffix", req{host: "example.com", path: "/"}, ""},
		{"wildcard needs a non-empty label", req{host: ".example.com", path: "/"}, ""},
		{"ipv6 literal with port", req{host: "[::1]:8080", path: "/"}, "ipv6"},
		{"other host falls to any-host routes", req{host: "other.org", path: "/only-any/x"}, "any"},
		{"empty host falls to any-host routes", req{host: "", path: "/only-any"}, "any"},
		{"unknown host and path", req{host: "other.org", path: "/"}, ""},
		{"exact host takes precedence over any-host route", req{host: "api.example.com", path: "/only-any"}, "exact"},
	})
}

func TestHostFallsBackWhenHostRoutesDoNotMatch(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "exact-api", Host: "api.example.com", PathPrefix: "/api"},
		{Name: "wild-static", Host: "*.example.com", PathPrefix: "/static"},
		{Name: "any", PathPrefix: "/"},
	})
	runLookups(t, tab, []lookupCase{
		{"exact host route", req{host: "api.example.com", path: "/api/x"}, "exact-api"},
		{"exact host misses, wildcard matches", req{host: "api.example.com", path: "/static/a.css"}, "wild-static"},
		{"both miss, any host matches", req{host: "api.example.com", path: "/other"}, "any"},
	})
}

func TestPathExactMatching(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "users", Path: "/users"},
		{Name: "users-slash", Path: "/users/"},
		{Name: "tilde", Path: "/%7euser"},
	})
	runLookups(t, tab, []lookupCase{
		{"exact", req{path: "/users"}, "users"},
		{"trailing slash is a different path", req{path: "/users/"}, "users-slash"},
		{"longer path does not match", req{path: "/users/1"}, ""},
		{"shorter path does not match", req{path: "/user"}, ""},
		{"matches after normalization", req{path: "//users/./"}, "users-slash"},
		{"route path normalized at build", req{path: "/~user"}, "tilde"},
		{"encoded request matches decoded route", req{path: "/%7Euser"}, "tilde"},
	})
}

func TestPathPrefixMatchesOnSegmentBoundary(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "api", PathPrefix: "/api"},
		{Name: "api-v2", PathPrefix: "/api/v2"},
		{Name: "public-slash", PathPrefix: "/public/"},
	})
	runLookups(t, tab, []lookupCase{
		{"prefix itself", req{path: "/api"}, "api"},
		{"below prefix", req{path: "/api/users"}, "api"},
		{"not a segment boundary", req{path: "/apis"}, ""},
		{"longest prefix wins", req{path: "/api/v2/users"}, "api-v2"},
		{"longer prefix needs its boundary", req{path: "/api/v2x"}, "api"},
		{"prefix with trailing slash", req{path: "/public/a"}, "public-slash"},
		{"prefix with trailing slash itself", req{path: "/public/"}, "public-slash"},
		{"prefix with trailing slash needs the slash", req{path: "/public"}, ""},
	})
}

func TestPathTemplateMatching(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "user", PathTemplate: "/users/{id}"},
		{Name: "orders", PathTemplate: "/users/{id}/orders"},
		{Name: "order", PathTemplate: "/users/{uid}/orders/{oid}"},
		{Name: "files", PathTemplate: "/files/{path...}"},
		{Name: "slash", PathTemplate: "/dirs/{name}/"},
	})
	cases := []struct {
		name   string
		path   string
		want   string
		params map[string]string
	}{
		{"one param", "/users/42", "user", map[string]string{"id": "42"}},
		{"param then literal", "/users/42/orders", "orders", map[string]string{"id": "42"}},
		{"two params", "/users/7/orders/99", "order", map[string]string{"uid": "7", "oid": "99"}},
		{"param needs a non-empty segment", "/users/", "", nil},
		{"param does not cross slashes", "/users/1/2", "", nil},
		{"rest matches remainder", "/files/a/b/c.txt", "files", map[string]string{"path": "a/b/c.txt"}},
		{"rest may be empty", "/files/", "files", map[string]string{"path": ""}},
		{"rest needs the slash", "/files", "", nil},
		{"trailing slash literal", "/dirs/x/", "slash", map[string]string{"name": "x"}},
		{"trailing slash literal required", "/dirs/x", "", nil},
		{"params are normalized views", "/users/%7Ebob", "user", map[string]string{"id": "~bob"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m Match
			ok, err := tab.Lookup(&m, nil, []byte("GET"), []byte(tc.path), nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if ok {
				got = m.Route().Name()
			}
			if got != tc.want {
				t.Fatalf("%s routed to %q, want %q", tc.path, got, tc.want)
			}
			if !ok {
				return
			}
			if m.NumParams() != len(tc.params) {
				t.Fatalf("NumParams = %d, want %d", m.NumParams(), len(tc.params))
			}
			for i := 0; i < m.NumParams(); i++ {
				name, v := m.ParamAt(i)
				if tc.params[name] != string(v) {
					t.Fatalf("ParamAt(%d) = %s=%q, want %q", i, name, v, tc.params[name])
				}
			}
			for name, want := range tc.params {
				v, ok := m.Param(name)
				if !ok || string(v) != want {
					t.Fatalf("Param(%q) = %q, %v; want %q", name, v, ok, want)
				}
			}
			if _, ok := m.Param("nope"); ok {
				t.Fatal("Param of an unknown name reported present")
			}
		})
	}
}

func TestMethodMatching(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "read", Path: "/x", Methods: []string{"GET", "HEAD"}},
		{Name: "write", Path: "/x", Methods: []string{"POST"}},
	})
	runLookups(t, tab, []lookupCase{
		{"GET", req{method: "GET", path: "/x"}, "read"},
		{"HEAD", req{method: "HEAD", path: "/x"}, "read"},
		{"POST", req{method: "POST", path: "/x"}, "write"},
		{"methods are case-sensitive", req{method: "post", path: "/x"}, ""},
		{"unlisted method", req{method: "DELETE", path: "/x"}, ""},
	})
}

func TestHeaderMatching(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "canary", PathPrefix: "/", Headers: []HeaderMatch{{"X-Canary", "yes"}, {"x-region", "eu"}}},
		{Name: "default", PathPrefix: "/"},
	})
	runLookups(t, tab, []lookupCase{
		{"all headers match", req{path: "/", hdr: hdrMap{"x-canary": "yes", "x-region": "eu"}}, "canary"},
		{"one header missing", req{path: "/", hdr: hdrMap{"x-canary": "yes"}}, "default"},
		{"value is exact", req{path: "/", hdr: hdrMap{"x-canary": "YES", "x-region": "eu"}}, "default"},
		{"value is not a prefix", req{path: "/", hdr: hdrMap{"x-canary": "yess", "x-region": "eu"}}, "default"},
		{"nil header source", req{path: "/"}, "default"},
	})
}

func TestHeaderNamesReachSourceLowerCased(t *testing.T) {
	tab := mustBuild(t, []Spec{{Name: "h", Path: "/", Headers: []HeaderMatch{{"X-Mixed-Case", "1"}}}})
	var asked []string
	src := HeaderFunc(func(name string) ([]byte, bool) {
		asked = append(asked, name)
		return []byte("1"), true
	})
	var m Match
	if ok, _ := tab.Lookup(&m, nil, []byte("GET"), []byte("/"), nil, src); !ok {
		t.Fatal("no match")
	}
	if len(asked) != 1 || asked[0] != "x-mixed-case" {
		t.Fatalf("asked %q", asked)
	}
}

func TestQueryMatching(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "v2", PathPrefix: "/", Query: []HeaderMatch{{"version", "2"}, {"q", "a b/c"}}},
		{Name: "flag", PathPrefix: "/", Query: []HeaderMatch{{"debug", ""}}},
		{Name: "default", PathPrefix: "/"},
	})
	runLookups(t, tab, []lookupCase{
		{"all match", req{path: "/", query: "version=2&q=a+b%2Fc"}, "v2"},
		{"order does not matter", req{path: "/", query: "q=a%20b/c&version=2"}, "v2"},
		{"encoded key", req{path: "/", query: "%76ersion=2&q=a+b/c"}, "v2"},
		{"first occurrence counts", req{path: "/", query: "version=1&version=2&q=a+b/c"}, "default"},
		{"first occurrence counts when it matches", req{path: "/", query: "version=2&version=1&q=a+b/c"}, "v2"},
		{"value must be exact", req{path: "/", query: "version=22&q=a+b/c"}, "default"},
		{"missing parameter", req{path: "/", query: "version=2"}, "default"},
		{"malformed escape never matches", req{path: "/", query: "version=%2&q=a+b/c"}, "default"},
		{"empty pairs skipped", req{path: "/", query: "&&version=2&&q=a+b/c&"}, "v2"},
		{"key without value matches empty", req{path: "/", query: "debug"}, "flag"},
		{"key with empty value", req{path: "/", query: "debug="}, "flag"},
		{"no query", req{path: "/"}, "default"},
	})
}

func TestFormDecodedEqual(t *testing.T) {
	cases := []struct {
		enc, want string
		eq        bool
	}{
		{"", "", true},
		{"abc", "abc", true},
		{"a+b", "a b", true},
		{"a%2Bb", "a+b", true},
		{"a%2bb", "a+b", true},
		{"%e2%82%ac", "\u20ac", true},
		{"abc", "ab", false},
		{"ab", "abc", false},
		{"%4", "%4", false},
		{"%zz", "%zz", false},
	}
	for _, tc := range cases {
		if got := formDecodedEqual([]byte(tc.enc), tc.want); got != tc.eq {
			t.Errorf("formDecodedEqual(%q, %q) = %v", tc.enc, tc.want, got)
		}
	}
}

func TestLookupRefusesBadPathWithError(t *testing.T) {
	tab := mustBuild(t, []Spec{{Name: "all", PathPrefix: "/"}})
	var m Match
	ok, err := tab.Lookup(&m, nil, []byte("GET"), []byte("/a%2fb"), nil, nil)
	if ok || !errors.Is(err, ErrEncodedSlash) || m.Route() != nil {
		t.Fatalf("ok=%v err=%v route=%v", ok, err, m.Route())
	}
	// The Match is reusable after an error.
	ok, err = tab.Lookup(&m, nil, []byte("GET"), []byte("/a/b"), nil, nil)
	if !ok || err != nil || string(m.Path()) != "/a/b" {
		t.Fatalf("ok=%v err=%v path=%q", ok, err, m.Path())
	}
}

func TestMatchReuseClearsPreviousResult(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "user", PathTemplate: "/users/{id}"},
		{Name: "static", Path: "/static"},
	})
	var m Match
	if ok, _ := tab.Lookup(&m, nil, []byte("GET"), []byte("/users/1"), nil, nil); !ok || m.NumParams() != 1 {
		t.Fatal("template lookup failed")
	}
	if ok, _ := tab.Lookup(&m, nil, []byte("GET"), []byte("/static"), nil, nil); !ok || m.NumParams() != 0 {
		t.Fatalf("params leaked into next lookup: %d", m.NumParams())
	}
	if ok, _ := tab.Lookup(&m, nil, []byte("GET"), []byte("/nothing"), nil, nil); ok || m.Route() != nil {
		t.Fatal("route leaked into a miss")
	}
}

func TestTableAccessors(t *testing.T) {
	target := &struct{ upstream string }{"users"}
	tab := mustBuild(t, []Spec{
		{Name: "a", Path: "/a"},
		{Name: "b", PathTemplate: "/b/{x}/{y...}", Target: target},
	})
	if tab.Len() != 2 {
		t.Fatalf("Len = %d", tab.Len())
	}
	r := tab.Route(1)
	if r.Name() != "b" || r.Index() != 1 || r.Target() != target || r.Pattern() != "/b/{x}/{y...}" {
		t.Fatalf("route accessors: %q %d %v %q", r.Name(), r.Index(), r.Target(), r.Pattern())
	}
	if got := strings.Join(r.ParamNames(), ","); got != "x,y" {
		t.Fatalf("ParamNames = %q", got)
	}
}

// TestLookupIsSafeForConcurrentUse shares one Table between goroutines, each
// with its own Match; run with -race it checks Lookup never writes shared
// state.
func TestLookupIsSafeForConcurrentUse(t *testing.T) {
	tab := mustBuild(t, realisticSpecs(500))
	reqs := realisticRequests(500)
	done := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			var m Match
			for i := 0; i < 2000; i++ {
				r := &reqs[(i+g)%len(reqs)]
				ok, err := tab.Lookup(&m, r.host, r.method, r.path, r.query, benchHeaders)
				if err != nil || ok != (string(r.path) != "/nowhere/at/all") {
					done <- string(r.path)
					return
				}
			}
			done <- ""
		}()
	}
	for g := 0; g < 4; g++ {
		if bad := <-done; bad != "" {
			t.Errorf("lookup of %s failed under concurrency", bad)
		}
	}
}
