package routing

import (
	"errors"
	"strings"
	"testing"
)

func TestBuildRejectsInvalidSpecs(t *testing.T) {
	cases := []struct {
		name  string
		spec  Spec
		field string
		msg   string
	}{
		{"no path", Spec{Name: "r"}, "Path", "exactly one"},
		{"two paths", Spec{Name: "r", Path: "/a", PathPrefix: "/a"}, "Path", "exactly one"},
		{"relative path", Spec{Name: "r", Path: "a"}, "Path", `must start with "/"`},
		{"path climbs", Spec{Name: "r", Path: "/.."}, "Path", "above the root"},
		{"prefix with encoded slash", Spec{Name: "r", PathPrefix: "/a%2fb"}, "PathPrefix", "encoded slash"},
		{"template relative", Spec{Name: "r", PathTemplate: "users/{id}"}, "PathTemplate", "does not start"},
		{"template partial param", Spec{Name: "r", PathTemplate: "/users/id-{id}"}, "PathTemplate", "template segments"},
		{"template rest not last", Spec{Name: "r", PathTemplate: "/{a...}/b"}, "PathTemplate", "template segments"},
		{"template bad name", Spec{Name: "r", PathTemplate: "/{1a}"}, "PathTemplate", "parameter names"},
		{"template empty name", Spec{Name: "r", PathTemplate: "/{}"}, "PathTemplate", "parameter names"},
		{"template duplicate name", Spec{Name: "r", PathTemplate: "/{a}/{a}"}, "PathTemplate", "used twice"},
		{"template dot segment", Spec{Name: "r", PathTemplate: "/a/./{b}"}, "PathTemplate", `"." and ".."`},
		{"template empty segment", Spec{Name: "r", PathTemplate: "/a//{b}"}, "PathTemplate", "empty segment"},
		{"template too many params", Spec{Name: "r", PathTemplate: manyParams(maxParams + 1)}, "PathTemplate", "more than"},
		{"host with port", Spec{Name: "r", Host: "a.com:80", Path: "/"}, "Host", "port"},
		{"host bad wildcard", Spec{Name: "r", Host: "a.*.com", Path: "/"}, "Host", "not a valid host"},
		{"host star alone", Spec{Name: "r", Host: "*", Path: "/"}, "Host", "wildcard"},
		{"host wildcard without dot", Spec{Name: "r", Host: "*example.com", Path: "/"}, "Host", "wildcard"},
		{"host empty label", Spec{Name: "r", Host: "a..com", Path: "/"}, "Host", "not a valid host"},
		{"host ipv6 with port", Spec{Name: "r", Host: "[::1]:80", Path: "/"}, "Host", "port"},
		{"method not a token", Spec{Name: "r", Path: "/", Methods: []string{"GET", "BAD METHOD"}}, "Methods[1]", "token"},
		{"lower-case standard method", Spec{Name: "r", Path: "/", Methods: []string{"get"}}, "Methods[0]", "case-sensitive"},
		{"method twice", Spec{Name: "r", Path: "/", Methods: []string{"GET", "GET"}}, "Methods[1]", "twice"},
		{"header name not a token", Spec{Name: "r", Path: "/", Headers: []HeaderMatch{{"x y", "1"}}}, "Headers[0].Name", "token"},
		{"header value with CR", Spec{Name: "r", Path: "/", Headers: []HeaderMatch{{"x", "1\r\n"}}}, "Headers[0].Value", "control"},
		{"header twice ignoring case", Spec{Name: "r", Path: "/", Headers: []HeaderMatch{{"X-A", "1"}, {"x-a", "2"}}}, "Headers[1].Name", "twice"},
		{"query empty name", Spec{Name: "r", Path: "/", Query: []HeaderMatch{{"", "1"}}}, "Query[0].Name", "empty"},
		{"query twice", Spec{Name: "r", Path: "/", Query: []HeaderMatch{{"a", "1"}, {"a", "2"}}}, "Query[1].Name", "twice"},
		{"rewrite two kinds", Spec{Name: "r", PathPrefix: "/a", Rewrite: RewriteSpec{StripPrefix: true, ReplacePrefix: "/b"}}, "Rewrite.StripPrefix", "at most one"},
		{"strip on template", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{StripPrefix: true}}, "Rewrite.StripPrefix", "need a Path or PathPrefix"},
		{"replace prefix not normalized", Spec{Name: "r", PathPrefix: "/a", Rewrite: RewriteSpec{ReplacePrefix: "/b/../c"}}, "Rewrite.ReplacePrefix", "normalized"},
		{"replace path unknown param", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "/x/{c}"}}, "Rewrite.ReplacePath", "parameter"},
		{"replace path unbalanced", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "/x/{b"}}, "Rewrite.ReplacePath", "unbalanced"},
		{"replace path stray brace", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "/x}/{b}"}}, "Rewrite.ReplacePath", "unbalanced"},
		{"replace path reference at start", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "{b}/x"}}, "Rewrite.ReplacePath", "whole path segment"},
		{"replace path reference glued to text", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "/.{b}"}}, "Rewrite.ReplacePath", "whole path segment"},
		{"replace path reference followed by text", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "/{b}.json"}}, "Rewrite.ReplacePath", "whole path segment"},
		{"replace path nested brace", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "/{{b}"}}, "Rewrite.ReplacePath", "unbalanced"},
		{"replace path dot segment", Spec{Name: "r", PathTemplate: "/a/{b}", Rewrite: RewriteSpec{ReplacePath: "/x/../{b}"}}, "Rewrite.ReplacePath", "normalized"},
		{"replace path relative", Spec{Name: "r", Path: "/a", Rewrite: RewriteSpec{ReplacePath: "x"}}, "Rewrite.ReplacePath", "normalized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			specs := []Spec{{Name: "fine", Path: "/fine"}, tc.spec}
			tab, err := Build(specs)
			if err == nil {
				t.Fatalf("Build accepted %+v", tc.spec)
			}
			if tab != nil {
				t.Fatal("Build returned a table with an error")
			}
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *SpecError", err)
			}
			if se.Index != 1 || se.Name != "r" || se.Field != tc.field {
				t.Fatalf("SpecError{Index:%d Name:%q Field:%q}, want index 1, name r, field %q", se.Index, se.Name, se.Field, tc.field)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.msg) || !strings.Contains(msg, `route 1 ("r")`) || !strings.Contains(msg, tc.field) {
				t.Fatalf("message %q lacks route, field or %q", msg, tc.msg)
			}
		})
	}
}

func manyParams(n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString("/{p")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString("}")
	}
	return b.String()
}

func TestBuildReportsEveryInvalidRoute(t *testing.T) {
	_, err := Build([]Spec{
		{Name: "a"},
		{Path: "/ok"},
		{Host: "x:1", Path: "/"},
	})
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	if !strings.Contains(msg, `route 0 ("a"): Path`) || !strings.Contains(msg, "route 2: Host") {
		t.Fatalf("message %q", msg)
	}
}

func TestBuildRejectsDuplicateNames(t *testing.T) {
	_, err := Build([]Spec{{Name: "a", Path: "/1"}, {Name: "a", Path: "/2"}})
	var se *SpecError
	if !errors.As(err, &se) || se.Index != 1 || se.Field != "Name" || !strings.Contains(err.Error(), "also route 0") {
		t.Fatalf("err %v", err)
	}
}

func TestBuildAcceptsEmptyTable(t *testing.T) {
	tab, err := Build(nil)
	if err != nil {
		t.Fatal(err)
	}
	var m Match
	if ok, err := tab.Lookup(&m, []byte("a"), []byte("GET"), []byte("/"), nil, nil); ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
}

func TestBuildAcceptsMaxParams(t *testing.T) {
	tab := mustBuild(t, []Spec{{Name: "many", PathTemplate: manyParams(maxParams)}})
	path := strings.Repeat("/v", maxParams)
	var m Match
	if ok, _ := tab.Lookup(&m, nil, []byte("GET"), []byte(path), nil, nil); !ok || m.NumParams() != maxParams {
		t.Fatalf("ok=%v n=%d", ok, m.NumParams())
	}
}

func TestBuildRejectsUnreachableDuplicates(t *testing.T) {
	cases := []struct {
		name string
		a, b Spec
	}{
		{"same exact path", Spec{Path: "/a"}, Spec{Path: "/a"}},
		{"same path after normalization", Spec{PathPrefix: "/a/"}, Spec{PathPrefix: "//a/./"}},
		{"template differing in names only", Spec{PathTemplate: "/u/{id}/{rest...}"}, Spec{PathTemplate: "/u/{uid}/{r...}"}},
		{"same conditions in another order", Spec{Path: "/a", Methods: []string{"GET", "PUT"}, Headers: []HeaderMatch{{"a", "1"}, {"b", "2"}}},
			Spec{Path: "/a", Methods: []string{"PUT", "GET"}, Headers: []HeaderMatch{{"B", "2"}, {"A", "1"}}}},
		{"host case", Spec{Host: "A.example.com", Path: "/"}, Spec{Host: "a.EXAMPLE.com", Path: "/"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.a.Name, tc.b.Name = "first", "second"
			_, err := Build([]Spec{tc.a, tc.b})
			var se *SpecError
			if !errors.As(err, &se) || se.Index != 1 || !strings.Contains(err.Error(), "as route 0") {
				t.Fatalf("err %v", err)
			}
		})
	}
	distinct := []Spec{
		{Name: "1", Path: "/a"},
		{Name: "2", PathPrefix: "/a"},
		{Name: "3", Path: "/a", Host: "x.org"},
		{Name: "4", Path: "/a", Host: "*.x.org"},
		{Name: "5", Path: "/a", Methods: []string{"GET"}},
		{Name: "6", Path: "/a", Query: []HeaderMatch{{"a", "1"}}},
		{Name: "7", Path: "/a", Headers: []HeaderMatch{{"a", "1"}}},
		{Name: "8", PathTemplate: "/a/{x}"},
		{Name: "9", PathTemplate: "/a/{x...}"},
	}
	if _, err := Build(distinct); err != nil {
		t.Fatalf("distinct routes refused: %v", err)
	}
}
