package routing

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeCanonicalForms(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"root", "/", "/"},
		{"plain path unchanged", "/users/42/orders", "/users/42/orders"},
		{"trailing slash kept", "/users/", "/users/"},
		{"unreserved escapes decoded", "/%7Euser/%41%62%2D%5f%30", "/~user/Ab-_0"},
		{"reserved escapes keep encoding with upper-case hex", "/a%3ab/x%3f%23%25", "/a%3Ab/x%3F%23%25"},
		{"sub-delims kept raw", "/a!$&'()*+,;=:@b", "/a!$&'()*+,;=:@b"},
		{"disallowed printable ASCII encoded", "/a|b{c}\"<>^`[]", "/a%7Cb%7Bc%7D%22%3C%3E%5E%60%5B%5D"},
		{"raw UTF-8 encoded", "/caf\xc3\xa9", "/caf%C3%A9"},
		{"encoded UTF-8 upper-cased", "/caf%c3%a9", "/caf%C3%A9"},
		{"mixed raw and encoded UTF-8", "/caf\xc3%a9", "/caf%C3%A9"},
		{"four-byte UTF-8", "/%F0%9F%98%80", "/%F0%9F%98%80"},
		{"U+FFFD is valid", "/%EF%BF%BD", "/%EF%BF%BD"},
		{"duplicate slashes merged", "//a///b//", "/a/b/"},
		{"single dot removed", "/a/./b", "/a/b"},
		{"trailing single dot leaves slash", "/a/.", "/a/"},
		{"double dot pops a segment", "/a/b/../c", "/a/c"},
		{"trailing double dot leaves slash", "/a/b/..", "/a/"},
		{"double dot to root", "/a/..", "/"},
		{"dots inside names kept", "/a/..b/c../.d/...", "/a/..b/c../.d/..."},
		{"three dots with parameters kept", "/a/...;x", "/a/...;x"},
		{"parameters on a name kept", "/a;v=1/b;x", "/a;v=1/b;x"},
		{"encoded dots inside names decoded", "/a/%2e%2ebar", "/a/..bar"},
		{"RFC 3986 5.2.4 example", "/a/b/c/./../../g", "/a/g"},
		{"RFC 3986 5.2.4 second example", "/mid/content=5/../6", "/mid/6"},
		{"slash and dot mix", "/a/.//./b/", "/a/b/"},
		{"percent-encoded percent kept", "/%25%32%65", "/%252e"},
		{"only slashes", "////", "/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Normalize(nil, []byte(tc.in))
			if err != nil {
				t.Fatalf("Normalize(%q) error %v", tc.in, err)
			}
			if string(got) != tc.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			again, err := Normalize(nil, got)
			if err != nil || string(again) != string(got) {
				t.Fatalf("not idempotent: Normalize(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestNormalizeRejectsHostilePaths(t *testing.T) {
	cases := []struct {
		name, in string
		want     error
	}{
		{"empty", "", ErrPathNotAbsolute},
		{"relative", "a/b", ErrPathNotAbsolute},
		{"asterisk form", "*", ErrPathNotAbsolute},
		{"encoded slash", "/a%2fb", ErrEncodedSlash},
		{"encoded slash upper", "/a%2Fb", ErrEncodedSlash},
		{"encoded backslash", "/a%5cb", ErrEncodedSlash},
		{"encoded NUL", "/admin%00", ErrEncodedNUL},
		{"encoded double dot", "/public/%2e%2e/admin", ErrEncodedDotSegment},
		{"half encoded double dot", "/public/.%2E/admin", ErrEncodedDotSegment},
		{"encoded single dot", "/a/%2e/b", ErrEncodedDotSegment},
		{"raw backslash", "/public\\..\\admin", ErrBackslash},
		{"climb above root", "/..", ErrAboveRoot},
		{"climb above root later", "/a/../../b", ErrAboveRoot},
		{"truncated escape", "/a%2", ErrBadEscape},
		{"escape at end", "/a%", ErrBadEscape},
		{"non-hex escape", "/a%zz", ErrBadEscape},
		{"space", "/a b", ErrBadPathByte},
		{"tab", "/a\tb", ErrBadPathByte},
		{"raw NUL", "/a\x00", ErrBadPathByte},
		{"DEL", "/a\x7f", ErrBadPathByte},
		{"query mark", "/a?b", ErrBadPathByte},
		{"fragment", "/a#b", ErrBadPathByte},
		{"overlong dot", "/%c0%ae", ErrInvalidUTF8},
		{"overlong slash", "/%c0%af", ErrInvalidUTF8},
		{"overlong three-byte", "/%e0%80%ae", ErrInvalidUTF8},
		{"surrogate", "/%ed%a0%80", ErrInvalidUTF8},
		{"beyond U+10FFFF", "/%f4%90%80%80", ErrInvalidUTF8},
		{"lone continuation", "/%80", ErrInvalidUTF8},
		{"truncated sequence", "/%c3", ErrInvalidUTF8},
		{"sequence cut by slash", "/%c3/", ErrInvalidUTF8},
		{"raw invalid UTF-8", "/\xff", ErrInvalidUTF8},
		{"raw overlong", "/\xc0\xae", ErrInvalidUTF8},
		{"bad escape inside sequence", "/%c3%zz", ErrBadEscape},
		{"dot-dot with parameters", "/a/..;jsessionid=1/b", ErrDotSegmentParam},
		{"dot with parameters", "/a/.;/b", ErrDotSegmentParam},
		{"dot-dot with encoded semicolon", "/a/..%3B/b", ErrDotSegmentParam},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dst := []byte("keep")
			got, err := Normalize(dst, []byte(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Normalize(%q) = %q, %v; want error %v", tc.in, got, err, tc.want)
			}
			if string(got) != "keep" {
				t.Fatalf("on error dst = %q, want it unchanged", got)
			}
		})
	}
}

func TestNormalizeAppendsToDst(t *testing.T) {
	got, err := Normalize([]byte("GET "), []byte("/a/./b"))
	if err != nil || string(got) != "GET /a/b" {
		t.Fatalf("got %q, %v", got, err)
	}
	// A dot-segment must never pop into bytes dst held before the call.
	got, err = Normalize([]byte("/x/"), []byte("/.."))
	if !errors.Is(err, ErrAboveRoot) || string(got) != "/x/" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestNormalizeOutputAtMostThreeTimesInput(t *testing.T) {
	in := "/" + strings.Repeat("|", 100)
	got, err := Normalize(nil, []byte(in))
	if err != nil || len(got) != 1+300 {
		t.Fatalf("len %d, %v", len(got), err)
	}
}
