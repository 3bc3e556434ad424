package routing

import "testing"

func TestReplacePrefixJoinsWithOneSlash(t *testing.T) {
	cases := []struct {
		name, path, prefix, repl, want string
	}{
		{"strip to root", "/api", "/api", "/", "/"},
		{"strip below", "/api/users", "/api", "/", "/users"},
		{"strip trailing-slash prefix", "/api/users", "/api/", "/", "/users"},
		{"strip trailing-slash prefix itself", "/api/", "/api/", "/", "/"},
		{"strip keeps trailing slash", "/api/users/", "/api", "/", "/users/"},
		{"replace", "/api/users", "/api", "/v2", "/v2/users"},
		{"replace with trailing slash", "/api/users", "/api", "/v2/", "/v2/users"},
		{"replace trailing-slash prefix", "/api/users", "/api/", "/v2", "/v2/users"},
		{"replace whole path", "/api", "/api", "/v2", "/v2"},
		{"replace whole path slash", "/api/", "/api", "/v2", "/v2/"},
		{"root prefix", "/users", "/", "/svc", "/svc/users"},
		{"root prefix replaced by root", "/users", "/", "/", "/users"},
		{"empty replacement behaves as strip", "/api/x", "/api", "", "/x"},
		{"empty replacement at end", "/api", "/api", "", "/"},
		{"not a boundary: unchanged", "/apis", "/api", "/v2", "/apis"},
		{"not a prefix: unchanged", "/other", "/api", "/v2", "/other"},
		{"shorter path: unchanged", "/ap", "/api", "/v2", "/ap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ReplacePrefix([]byte("X"), []byte(tc.path), tc.prefix, tc.repl)
			if string(got) != "X"+tc.want {
				t.Fatalf("ReplacePrefix(%q, %q, %q) = %q, want %q", tc.path, tc.prefix, tc.repl, got[1:], tc.want)
			}
		})
	}
	if got := StripPrefix(nil, []byte("/api/x"), "/api"); string(got) != "/x" {
		t.Fatalf("StripPrefix = %q", got)
	}
}

func TestUpstreamPathAppliesRouteRewrite(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "strip", PathPrefix: "/strip", Rewrite: RewriteSpec{StripPrefix: true}},
		{Name: "replace", PathPrefix: "/old/", Rewrite: RewriteSpec{ReplacePrefix: "/new"}},
		{Name: "exact-replace", Path: "/health", Rewrite: RewriteSpec{ReplacePrefix: "/internal/healthz"}},
		{Name: "template", PathTemplate: "/users/{id}/files/{rest...}", Rewrite: RewriteSpec{ReplacePath: "/v1/accounts/{id}/blobs/{rest}"}},
		{Name: "rest-middle", PathTemplate: "/mid/{rest...}", Rewrite: RewriteSpec{ReplacePath: "/x/{rest}/y"}},
		{Name: "literal-path", PathPrefix: "/legacy", Rewrite: RewriteSpec{ReplacePath: "/gone"}},
		{Name: "as-is", PathPrefix: "/"},
	})
	cases := []struct {
		name, path, route, want string
	}{
		{"strip prefix", "/strip/a/b", "strip", "/a/b"},
		{"strip prefix itself", "/strip", "strip", "/"},
		{"replace prefix", "/old/a", "replace", "/new/a"},
		{"replace exact path", "/health", "exact-replace", "/internal/healthz"},
		{"template substitution", "/users/42/files/a/b.txt", "template", "/v1/accounts/42/blobs/a/b.txt"},
		{"template with empty rest", "/users/42/files/", "template", "/v1/accounts/42/blobs/"},
		{"fixed replacement", "/legacy/x", "literal-path", "/gone"},
		{"rest in the middle", "/mid/a/b", "rest-middle", "/x/a/b/y"},
		{"empty rest in the middle leaves no double slash", "/mid/", "rest-middle", "/x/y"},
		{"normalized path forwarded", "/a//b/./c/%7e", "as-is", "/a/b/c/~"},
		{"rewrite sees normalized path", "//strip/../strip/x", "strip", "/x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m Match
			ok, err := tab.Lookup(&m, nil, []byte("GET"), []byte(tc.path), nil, nil)
			if !ok || err != nil {
				t.Fatalf("no match: %v", err)
			}
			if m.Route().Name() != tc.route {
				t.Fatalf("routed to %q, want %q", m.Route().Name(), tc.route)
			}
			got := m.AppendUpstreamPath([]byte("GET "))
			if string(got) != "GET "+tc.want {
				t.Fatalf("upstream path %q, want %q", got[4:], tc.want)
			}
		})
	}
}
