//go:build !race

package routing

import "testing"

func TestNormalizeDoesNotAllocate(t *testing.T) {
	paths := []string{
		"/users/42/orders",
		"/a//b/./c/../d/%7euser/%3a/caf%c3%a9/|",
		"/public/%2e%2e/admin", // error path
	}
	dst := make([]byte, 0, 256)
	for _, p := range paths {
		in := []byte(p)
		if n := testing.AllocsPerRun(100, func() { dst, _ = Normalize(dst[:0], in) }); n != 0 {
			t.Errorf("Normalize(%q): %v allocs/op", p, n)
		}
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	const n = 1000
	tab := mustBuild(t, realisticSpecs(n))
	var m Match
	up := make([]byte, 0, 256)
	for _, r := range realisticRequests(n) {
		// Check the fixture is live: every request but the deliberate miss
		// matches.
		ok, err := tab.Lookup(&m, r.host, r.method, r.path, r.query, benchHeaders)
		if err != nil || ok != (string(r.path) != "/nowhere/at/all") {
			t.Fatalf("%s%s: ok=%v err=%v", r.host, r.path, ok, err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if ok, _ := tab.Lookup(&m, r.host, r.method, r.path, r.query, benchHeaders); ok {
				up = m.AppendUpstreamPath(up[:0])
				_, _ = m.Param("id")
			}
		})
		if allocs != 0 {
			t.Errorf("Lookup %s%s: %v allocs/op", r.host, r.path, allocs)
		}
	}
}

func TestLookupOfRefusedPathDoesNotAllocate(t *testing.T) {
	tab := mustBuild(t, realisticSpecs(100))
	var m Match
	path := []byte("/public/%2e%2e/admin")
	if n := testing.AllocsPerRun(100, func() { _, _ = tab.Lookup(&m, nil, []byte("GET"), path, nil, nil) }); n != 0 {
		t.Errorf("%v allocs/op", n)
	}
}

func TestUpstreamRewritesDoNotAllocate(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "t", PathTemplate: "/users/{id}/files/{rest...}", Rewrite: RewriteSpec{ReplacePath: "/v1/{id}/blobs/{rest}"}},
		{Name: "p", PathPrefix: "/api", Rewrite: RewriteSpec{ReplacePrefix: "/v2"}},
	})
	var m Match
	dst := make([]byte, 0, 128)
	for _, p := range []string{"/users/7/files/a/b", "/api/x/y"} {
		path := []byte(p)
		n := testing.AllocsPerRun(100, func() {
			_, _ = tab.Lookup(&m, nil, []byte("GET"), path, nil, nil)
			dst = m.AppendUpstreamPath(dst[:0])
		})
		if n != 0 {
			t.Errorf("%s: %v allocs/op", p, n)
		}
	}
}
