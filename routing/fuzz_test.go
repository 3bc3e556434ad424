package routing

import (
	"bytes"
	"errors"
	"path"
	"strings"
	"testing"
)

var normalizeSeeds = []string{
	"/", "/users/42/orders", "/a//b/./c/../d", "/%7euser/%3a", "/caf%c3%a9", "/caf\xc3\xa9",
	"/public/../admin", "/public/%2e%2e/admin", "/public/%2E%2e/admin", "/public/..%2fadmin",
	"/public/%2e%2e%2fadmin", "//admin", "/public/./../admin", "/admin%00", "/public\\..\\admin",
	"/public/%c0%ae%c0%ae/admin", "/..", "/a/b/..", "/a/.", "/%25%32%65", "/a|b{c}",
	"/%F0%9F%98%80", "/%ed%a0%80", "/%", "/%2", "/%zz", "/a b", "/a?b", "////",
}

// percentDecode decodes every escape; it is the reference decoder for the
// differential check below.
func percentDecode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, _ := unhex(s[i+1])
			lo, _ := unhex(s[i+2])
			b.WriteByte(hi<<4 | lo)
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func FuzzNormalize(f *testing.F) {
	for _, s := range normalizeSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize([]byte("pre"), []byte(in))
		slow, slowErr := normalizeSlow([]byte("pre"), []byte(in))
		if !bytes.Equal(out, slow) || !errors.Is(err, slowErr) {
			t.Fatalf("%q: fast path %q, %v; slow path %q, %v", in, out, err, slow, slowErr)
		}
		if err != nil {
			if string(out) != "pre" {
				t.Fatalf("error %v but dst changed to %q", err, out)
			}
			return
		}
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatalf("dst prefix lost: %q", out)
		}
		out = out[3:]
		s := string(out)
		if !strings.HasPrefix(s, "/") {
			t.Fatalf("%q -> %q: not absolute", in, s)
		}
		for _, bad := range []string{"//", "/./", "/../", "\\", "/.;", "/..;", "/.%3B", "/..%3B"} {
			if strings.Contains(s, bad) {
				t.Fatalf("%q -> %q contains %q", in, s, bad)
			}
		}
		if strings.HasSuffix(s, "/.") || strings.HasSuffix(s, "/..") {
			t.Fatalf("%q -> %q ends in a dot-segment", in, s)
		}
		if len(s) > 3*len(in) {
			t.Fatalf("%q -> %q longer than 3x", in, s)
		}
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c >= 0x80 || byteClass(pathByteClass[c]) != classKeep && c != '/' && c != '%' {
				t.Fatalf("%q -> %q has raw byte %#x", in, s, c)
			}
			if c != '%' {
				continue
			}
			if i+2 >= len(s) || !strings.ContainsRune(upperHex, rune(s[i+1])) || !strings.ContainsRune(upperHex, rune(s[i+2])) {
				t.Fatalf("%q -> %q: escape at %d not upper-case hex", in, s, i)
			}
			v, _ := unhex(s[i+1])
			w, _ := unhex(s[i+2])
			if v := v<<4 | w; isUnreserved(v) || v == 0 || v == '/' || v == '\\' {
				t.Fatalf("%q -> %q: escape %s should not be there", in, s, s[i:i+3])
			}
		}
		again, err := Normalize(nil, out)
		if err != nil || !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", in, out, again, err)
		}
		// Differential: decoded, the output names the same resource as
		// path.Clean of the decoded input (trailing slashes aside, which
		// Clean drops and Normalize keeps).
		want := strings.TrimSuffix(path.Clean(percentDecode(in)), "/")
		if got := strings.TrimSuffix(percentDecode(s), "/"); got != want {
			t.Fatalf("%q -> %q decodes to %q, path.Clean gives %q", in, s, got, want)
		}
	})
}

// FuzzLookup checks that no request panics the router and that nothing
// routed to the "/public/" prefix has a normalized path outside it.
func FuzzLookup(f *testing.F) {
	tab, err := Build([]Spec{
		{Name: "public", PathPrefix: "/public/", Rewrite: RewriteSpec{ReplacePrefix: "/srv"}},
		{Name: "admin", Path: "/admin", Headers: []HeaderMatch{{"x-token", "t"}}},
		{Name: "user", Host: "*.example.com", PathTemplate: "/users/{id}/{rest...}", Query: []HeaderMatch{{"v", "1"}}},
		{Name: "exact", Host: "api.example.com", Path: "/x", Methods: []string{"GET"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range normalizeSeeds {
		f.Add("a.example.com", "GET", s, "v=1")
	}
	f.Add("API.example.com:80", "GET", "/x", "")
	f.Add("[::1]:80", "POST", "/users/1/", "v=%31")
	f.Fuzz(func(t *testing.T, host, method, p, query string) {
		var m Match
		ok, err := tab.Lookup(&m, []byte(host), []byte(method), []byte(p), []byte(query), hdrMap{})
		if err != nil {
			if ok || m.Route() != nil {
				t.Fatal("route with error")
			}
			return
		}
		if !ok {
			return
		}
		up := m.AppendUpstreamPath(nil)
		switch m.Route().Name() {
		case "public":
			if !bytes.HasPrefix(m.Path(), []byte("/public/")) || !bytes.HasPrefix(up, []byte("/srv/")) {
				t.Fatalf("%q routed to public as %q, upstream %q", p, m.Path(), up)
			}
		case "admin":
			t.Fatalf("%q reached admin without the token", p)
		}
		if again, err := Normalize(nil, up); err != nil || !bytes.Equal(again, up) {
			t.Fatalf("%q: upstream %q is not normalized (%q, %v)", p, up, again, err)
		}
	})
}

// FuzzBuild checks that arbitrary route definitions are accepted or refused
// with a SpecError, never a panic, and that a built template route matches
// its own literal spelling when that is a valid request path.
func FuzzBuild(f *testing.F) {
	f.Add("/users/{id}", "api.example.com", "/users/{id}")
	f.Add("/{a}/{b...}", "*.x.org", "/q/r/s")
	f.Add("/a/./{b}", "*", "/a")
	f.Add("/{", "[::1]", "/")
	f.Add("/x/{rest...}", "", "/x/")
	f.Add("/{a}/{rest...}", "", "/.;b/c")
	f.Fuzz(func(t *testing.T, tmpl, host, p string) {
		tab, err := Build([]Spec{{Name: "t", Host: host, PathTemplate: tmpl, Rewrite: RewriteSpec{ReplacePath: tmpl}}})
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a SpecError", err)
			}
			return
		}
		var m Match
		_, _ = tab.Lookup(&m, []byte(strings.TrimPrefix(host, "*")), []byte("GET"), []byte(p), nil, nil)
		if m.Route() != nil {
			// The upstream path is built from the template's own text and
			// the captured values; it must come out normalized.
			up := m.AppendUpstreamPath(nil)
			if again, err := Normalize(nil, up); err != nil || !bytes.Equal(again, up) {
				t.Fatalf("template %q, path %q: upstream %q is not normalized (%q, %v)", tmpl, p, up, again, err)
			}
		}
	})
}
