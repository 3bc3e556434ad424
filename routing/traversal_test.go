package routing

import (
	"bytes"
	"errors"
	"testing"
)

// The operator exposes "/public/" to the world and has an internal admin
// route that only requests carrying the internal token may reach. No
// spelling of "/admin" hidden behind "/public/" may reach the admin route or
// make the public route forward a path outside "/public/" upstream.
func TestTraversalAttemptsDoNotEscapePublicPrefix(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "public", PathPrefix: "/public/"},
		{Name: "admin", Path: "/admin", Headers: []HeaderMatch{{"x-internal-token", "s3cret"}}},
	})
	const (
		refused = "refused" // 400
		missed  = "missed"  // 404
	)
	cases := []struct {
		name, path string
		want       string // refused, missed or "public"
		wantErr    error
	}{
		{"dot-dot", "/public/../admin", missed, nil},
		{"encoded dot-dot", "/public/%2e%2e/admin", refused, ErrEncodedDotSegment},
		{"mixed-case encoded dot-dot", "/public/%2E%2e/admin", refused, ErrEncodedDotSegment},
		{"half-encoded dot-dot", "/public/.%2e/admin", refused, ErrEncodedDotSegment},
		{"dot-dot with encoded slash", "/public/..%2fadmin", refused, ErrEncodedSlash},
		{"encoded dot-dot and slash", "/public/%2e%2e%2fadmin", refused, ErrEncodedSlash},
		{"double slash", "//admin", missed, nil},
		{"double slash under public", "/public//../admin", missed, nil},
		{"dot then dot-dot", "/public/./../admin", missed, nil},
		{"encoded NUL", "/admin%00", refused, ErrEncodedNUL},
		{"encoded NUL under public", "/public/%00/../../admin", refused, ErrEncodedNUL},
		{"backslashes", "/public\\..\\admin", refused, ErrBackslash},
		{"encoded backslashes", "/public/..%5cadmin", refused, ErrEncodedSlash},
		{"overlong UTF-8 dots", "/public/%c0%ae%c0%ae/admin", refused, ErrInvalidUTF8},
		{"overlong UTF-8 slash", "/public/..%c0%afadmin", refused, ErrInvalidUTF8},
		{"three-byte overlong dot", "/public/%e0%80%ae%e0%80%ae/admin", refused, ErrInvalidUTF8},
		{"double-encoded dot-dot stays encoded", "/public/%252e%252e/admin", "public", nil},
		{"climb above root", "/public/../../admin", refused, ErrAboveRoot},
		{"dot-dot segments past public", "/public/a/../../admin", missed, nil},
		{"encoded dot-dot at end", "/public/%2e%2e", refused, ErrEncodedDotSegment},
		{"dot-dot with path parameter", "/public/..;/admin", refused, ErrDotSegmentParam},
		{"dot-dot with encoded path parameter", "/public/..%3bx/admin", refused, ErrDotSegmentParam},
		{"dot with path parameter", "/public/.;x/../../admin", refused, ErrDotSegmentParam},
		{"encoded dot-dot with path parameter", "/public/%2e%2e;/admin", refused, ErrDotSegmentParam},
		{"semicolon in a name is fine", "/public/a;b=1", "public", nil},
		{"tab in path", "/public/\t/../admin", refused, ErrBadPathByte},
		{"question mark smuggled in path", "/public/?/../admin", refused, ErrBadPathByte},
		{"harmless dot-dot inside public", "/public/a/../b", "public", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var m Match
			ok, err := tab.Lookup(&m, []byte("gw.example.com"), []byte("GET"), []byte(tc.path), nil, hdrMap{})
			switch {
			case err != nil:
				if tc.want != refused || !errors.Is(err, tc.wantErr) {
					t.Fatalf("%q refused with %v, want %s %v", tc.path, err, tc.want, tc.wantErr)
				}
				return
			case !ok:
				if tc.want != missed {
					t.Fatalf("%q matched nothing (path %q), want %s", tc.path, m.Path(), tc.want)
				}
				return
			}
			name := m.Route().Name()
			if name == "admin" {
				t.Fatalf("%q reached the admin route", tc.path)
			}
			if name != tc.want {
				t.Fatalf("%q routed to %q, want %s", tc.path, name, tc.want)
			}
			up := m.AppendUpstreamPath(nil)
			if !bytes.HasPrefix(up, []byte("/public/")) {
				t.Fatalf("%q forwards %q upstream, outside /public/", tc.path, up)
			}
			if again, err := Normalize(nil, up); err != nil || !bytes.Equal(again, up) {
				t.Fatalf("upstream path %q is not in normalized form (%q, %v)", up, again, err)
			}
		})
	}
}

// With the token, "/admin" is reachable: the admin route in the test above is
// live, so "missed" outcomes there are not an artefact of a dead route.
func TestTraversalAdminRouteIsLive(t *testing.T) {
	tab := mustBuild(t, []Spec{
		{Name: "public", PathPrefix: "/public/"},
		{Name: "admin", Path: "/admin", Headers: []HeaderMatch{{"x-internal-token", "s3cret"}}},
	})
	got := lookupName(t, tab, req{path: "/admin", hdr: hdrMap{"x-internal-token": "s3cret"}})
	if got != "admin" {
		t.Fatalf("got %q", got)
	}
}
