package http1

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

// reqCase is one request head and what ParseRequest must say about it.
type reqCase struct {
	name  string
	in    string
	err   error               // nil: accepted
	check func(*Request) bool // extra assertions on an accepted request
}

// hostLine makes HTTP/1.1 fixtures valid without repeating the Host line everywhere.
const hostLine = "Host: example.com\r\n"

func runRequestCases(t *testing.T, cases []reqCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Request
			n, err := ParseRequest([]byte(c.in), &r)
			if err != c.err {
				t.Fatalf("ParseRequest(%q) error = %v, want %v", c.in, err, c.err)
			}
			if err != nil {
				if n != 0 {
					t.Fatalf("n = %d on error", n)
				}
				return
			}
			if n != strings.Index(c.in, "\r\n\r\n")+4 && !strings.HasPrefix(c.in, "\r\n") {
				t.Fatalf("n = %d, head ends at %d", n, strings.Index(c.in, "\r\n\r\n")+4)
			}
			if c.check != nil && !c.check(&r) {
				t.Fatalf("check failed for %q: method %q target %q path %q query %q host %q cl %d framing %v keepalive %v",
					c.in, r.Method(), r.Target(), r.Path(), r.Query(), r.Host(), r.ContentLength(), r.Framing(), r.KeepAlive())
			}
		})
	}
}

func eq(b []byte, s string) bool { return string(b) == s }

// RFC 9112 section 3: the request line.
func TestRequestLine(t *testing.T) {
	long := "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\n" + hostLine + "\r\n"
	runRequestCases(t, []reqCase{
		{"AcceptsOriginForm", "GET /a/b?x=1&y=2 HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return eq(r.Method(), "GET") && r.MethodID() == MethodGet && eq(r.Target(), "/a/b?x=1&y=2") &&
				eq(r.Path(), "/a/b") && eq(r.Query(), "x=1&y=2") && r.TargetForm() == FormOrigin && r.Minor() == 1
		}},
		{"QueryIsNilWithoutQuestionMark", "GET /a HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return r.Query() == nil && eq(r.Path(), "/a")
		}},
		{"EmptyQueryIsEmptyNotNil", "GET /a? HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return r.Query() != nil && len(r.Query()) == 0
		}},
		{"AcceptsAbsoluteFormAndTakesHostFromIt", "GET http://origin.test:8080/p?q HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return r.TargetForm() == FormAbsolute && eq(r.Host(), "origin.test:8080") && eq(r.Path(), "/p") && eq(r.Query(), "q")
		}},
		{"AbsoluteFormWithEmptyPathIsSlash", "GET http://origin.test HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return eq(r.Path(), "/") && eq(r.Host(), "origin.test")
		}},
		{"AcceptsAuthorityFormForConnect", "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\r\n", nil, func(r *Request) bool {
			return r.TargetForm() == FormAuthority && eq(r.Host(), "origin.test:443") && r.Path() == nil && r.Framing() == FramingNone
		}},
		{"AcceptsIPv6AuthorityForConnect", "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n", nil, nil},
		{"AcceptsAsteriskFormForOptions", "OPTIONS * HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return r.TargetForm() == FormAsterisk && r.MethodID() == MethodOptions
		}},
		{"AcceptsExtensionMethod", "PROPFIND /dav HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return r.MethodID() == MethodOther && eq(r.Method(), "PROPFIND")
		}},
		{"MethodsAreCaseSensitive", "get / HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return r.MethodID() == MethodOther
		}},
		{"AcceptsHTTP10WithoutHost", "GET / HTTP/1.0\r\n\r\n", nil, func(r *Request) bool { return r.Minor() == 0 && r.Host() == nil }},
		{"IgnoresLeadingEmptyLines", "\r\n\r\nGET / HTTP/1.1\r\n" + hostLine + "\r\n", nil, nil},
		{"AcceptsQueryBytesClientsSendUnescaped", "GET /s?q={\"a\":[1|2]}&b=^ HTTP/1.1\r\n" + hostLine + "\r\n", nil, nil},
		{"RejectsEmptyMethod", " / HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadMethod, nil},
		{"RejectsNonTokenMethod", "GE(T / HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadMethod, nil},
		{"RejectsTabAfterMethod", "GET\t/ HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadMethod, nil},
		{"RejectsTwoSpacesBeforeTarget", "GET  / HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadRequestLine, nil},
		{"RejectsTwoSpacesBeforeVersion", "GET /  HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadVersion, nil},
		{"RejectsTrailingSpaceAfterVersion", "GET / HTTP/1.1 \r\n" + hostLine + "\r\n", ErrBadVersion, nil},
		{"RejectsHTTP09SimpleRequest", "GET /\r\n\r\n", ErrBadRequestLine, nil},
		{"RejectsLowercaseProtocol", "GET / http/1.1\r\n" + hostLine + "\r\n", ErrBadVersion, nil},
		{"RejectsTwoDigitMinor", "GET / HTTP/1.10\r\n" + hostLine + "\r\n", ErrBadVersion, nil},
		{"RejectsHTTP2With505", "GET / HTTP/2.0\r\n" + hostLine + "\r\n", ErrUnsupportedVersion, nil},
		{"RejectsHTTP12With505", "GET / HTTP/1.2\r\n" + hostLine + "\r\n", ErrUnsupportedVersion, nil},
		{"RejectsRTSP", "OPTIONS * RTSP/1.0\r\n" + hostLine + "\r\n", ErrBadVersion, nil},
		{"RejectsNULInTarget", "GET /a\x00b HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsControlInTarget", "GET /a\x7fb HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsNonASCIIInTarget", "GET /caf\xc3\xa9 HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"AcceptsPercentEncoding", "GET /a%20b%2F?q=%e2%82%ac HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return eq(r.Path(), "/a%20b%2F") // raw, not decoded
		}},
		{"RejectsTruncatedPercentEncoding", "GET /a%2 HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsNonHexPercentEncoding", "GET /a?b=%zz HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsFragmentInTarget", "GET /a#frag HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsOriginFormForConnect", "CONNECT /a HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsConnectWithoutPort", "CONNECT origin.test HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsConnectWithUserinfo", "CONNECT u@origin.test:443 HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsAsteriskForGet", "GET * HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsAuthorityFormForGet", "GET origin.test:80 HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsAbsoluteFormWithUserinfo", "GET http://user:pw@origin.test/ HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsAbsoluteFormWithoutAuthority", "GET http:///p HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsRelativeTarget", "GET a/b HTTP/1.1\r\n" + hostLine + "\r\n", ErrBadTarget, nil},
		{"RejectsRequestLineOverLimitWith414", long, ErrRequestLineTooLong, nil},
	})
}

// RFC 9112 section 2.2: CRLF line endings, no bare CR or LF.
func TestLineEndings(t *testing.T) {
	runRequestCases(t, []reqCase{
		{"RejectsBareLFAfterRequestLine", "GET / HTTP/1.1\n" + hostLine + "\r\n", ErrBareLF, nil},
		{"RejectsBareLFAfterField", "GET / HTTP/1.1\r\nHost: a\n\r\n", ErrBareLF, nil},
		{"RejectsBareLFAsFinalLine", "GET / HTTP/1.1\r\n" + hostLine + "\n", ErrBareLF, nil},
		{"RejectsBareLFBeforeRequestLine", "\nGET / HTTP/1.1\r\n" + hostLine + "\r\n", ErrBareLF, nil},
		{"RejectsBareCRInValue", "GET / HTTP/1.1\r\nX: a\rb\r\n" + hostLine + "\r\n", ErrBareCR, nil},
		{"RejectsBareCRAfterRequestLine", "GET / HTTP/1.1\rX\r\n" + hostLine + "\r\n", ErrBareCR, nil},
		{"RejectsBareCRAsFinalLine", "GET / HTTP/1.1\r\n" + hostLine + "\rX", ErrBareCR, nil},
		{"RejectsBareCRInName", "GET / HTTP/1.1\r\nX\r-Y: 1\r\n" + hostLine + "\r\n", ErrBadHeaderName, nil},
	})
}

// RFC 9112 section 5 and RFC 9110 section 5.5: field line syntax.
func TestFieldLines(t *testing.T) {
	runRequestCases(t, []reqCase{
		{"TrimsSpacesAndTabsAroundValues", "GET / HTTP/1.1\r\n" + hostLine + "X-A: \t v a l \t \r\nX-B:v\r\n\r\n", nil, func(r *Request) bool {
			return eq(r.Peek("x-a"), "v a l") && eq(r.Peek("X-B"), "v")
		}},
		{"NamesAreCaseInsensitive", "GET / HTTP/1.1\r\nhOsT: example.com\r\nCONTENT-LENGTH: 3\r\n\r\n", nil, func(r *Request) bool {
			return eq(r.Host(), "example.com") && r.ContentLength() == 3 && r.Has("Content-Length") && eq(r.Name(1), "CONTENT-LENGTH")
		}},
		{"AcceptsEmptyValue", "GET / HTTP/1.1\r\n" + hostLine + "X-Empty:\r\nX-Spaces:   \r\n\r\n", nil, func(r *Request) bool {
			return r.Has("x-empty") && len(r.Peek("x-empty")) == 0 && r.Peek("x-spaces") != nil && len(r.Peek("x-spaces")) == 0
		}},
		{"AcceptsObsTextInValue", "GET / HTTP/1.1\r\n" + hostLine + "X-City: D\xc3\xbcsseldorf\r\n\r\n", nil, func(r *Request) bool {
			return eq(r.Peek("X-City"), "D\xc3\xbcsseldorf")
		}},
		{"KeepsFieldOrderAndDuplicates", "GET / HTTP/1.1\r\n" + hostLine + "A: 1\r\nB: 2\r\nA: 3\r\n\r\n", nil, func(r *Request) bool {
			return r.NumHeaders() == 4 && eq(r.Name(3), "A") && eq(r.Value(3), "3") && eq(r.Peek("a"), "1")
		}},
		{"PeekMissingIsNil", "GET / HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool {
			return r.Peek("x-none") == nil && !r.Has("x-none")
		}},
		{"RejectsSpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrSpaceBeforeColon, nil},
		{"RejectsTabBeforeColon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", ErrSpaceBeforeColon, nil},
		{"RejectsSpaceInsideName", "GET / HTTP/1.1\r\n" + hostLine + "X Y: v\r\n\r\n", ErrBadHeaderName, nil},
		{"RejectsObsFold", "GET / HTTP/1.1\r\n" + hostLine + "X: a\r\n b\r\n\r\n", ErrObsFold, nil},
		{"RejectsObsFoldWithTab", "GET / HTTP/1.1\r\n" + hostLine + "X: a\r\n\tb\r\n\r\n", ErrObsFold, nil},
		{"RejectsWhitespaceBeforeFirstField", "GET / HTTP/1.1\r\n " + hostLine + "\r\n", ErrWhitespaceAfterLine, nil},
		{"RejectsEmptyName", "GET / HTTP/1.1\r\n" + hostLine + ": v\r\n\r\n", ErrBadHeaderName, nil},
		{"RejectsNonTokenName", "GET / HTTP/1.1\r\n" + hostLine + "Fo@: v\r\n\r\n", ErrBadHeaderName, nil},
		{"RejectsNameWithoutColon", "GET / HTTP/1.1\r\n" + hostLine + "NoColon\r\n\r\n", ErrBadHeaderName, nil},
		{"RejectsNULInName", "GET / HTTP/1.1\r\n" + hostLine + "X\x00Y: v\r\n\r\n", ErrBadHeaderName, nil},
		{"RejectsNULInValue", "GET / HTTP/1.1\r\n" + hostLine + "X: a\x00b\r\n\r\n", ErrBadHeaderValue, nil},
		{"RejectsControlInLongValue", "GET / HTTP/1.1\r\n" + hostLine + "X: " + strings.Repeat("a", 40) + "\x01" + strings.Repeat("b", 40) + "\r\n\r\n", ErrBadHeaderValue, nil},
		{"RejectsDELInValue", "GET / HTTP/1.1\r\n" + hostLine + "X: " + strings.Repeat("a", 20) + "\x7f\r\n\r\n", ErrBadHeaderValue, nil},
		{"RejectsFormFeedInValue", "GET / HTTP/1.1\r\n" + hostLine + "X: a\x0cb\r\n\r\n", ErrBadHeaderValue, nil},
	})
}

// RFC 9112 section 6 (and RFC 9110 8.6): request body framing and the smuggling vectors.
func TestRequestFraming(t *testing.T) {
	framing := func(f Framing, cl int64) func(*Request) bool {
		return func(r *Request) bool { return r.Framing() == f && r.ContentLength() == cl }
	}
	runRequestCases(t, []reqCase{
		{"NoBodyWithoutLengthOrCoding", "POST / HTTP/1.1\r\n" + hostLine + "\r\n", nil, framing(FramingNone, -1)},
		{"ContentLengthFramesBody", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 42\r\n\r\n", nil, framing(FramingLength, 42)},
		{"ContentLengthZeroIsEmptyLengthBody", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 0\r\n\r\n", nil, framing(FramingLength, 0)},
		{"ContentLengthLeadingZerosAreDigits", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 003\r\n\r\n", nil, framing(FramingLength, 3)},
		{"ContentLengthMaxInt64", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 9223372036854775807\r\n\r\n", nil, framing(FramingLength, 1<<63-1)},
		{"ChunkedFramesBody", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: chunked\r\n\r\n", nil, framing(FramingChunked, -1)},
		{"ChunkedNameAndValueCaseInsensitive", "POST / HTTP/1.1\r\n" + hostLine + "transfer-ENCODING: ChUnKeD\r\n\r\n", nil, framing(FramingChunked, -1)},
		{"GzipThenChunked", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: gzip, chunked\r\n\r\n", nil, framing(FramingChunked, -1)},
		{"CodingListAcrossFieldLines", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", nil, func(r *Request) bool {
			return r.Framing() == FramingChunked && eq(r.TransferEncoding(), "gzip")
		}},
		{"ConnectIgnoresContentLength", "CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nContent-Length: 10\r\n\r\n", nil, framing(FramingNone, 10)},
		{"RejectsContentLengthWithTransferEncoding", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ErrContentLengthAndTransferEncoding, nil},
		{"RejectsTransferEncodingWithContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrContentLengthAndTransferEncoding, nil},
		{"RejectsDuplicateContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n", ErrDuplicateContentLength, nil},
		{"RejectsRepeatedEqualContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n", ErrDuplicateContentLength, nil},
		{"RejectsContentLengthList", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 5, 5\r\n\r\n", ErrDuplicateContentLength, nil},
		{"RejectsNegativeContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: -1\r\n\r\n", ErrBadContentLength, nil},
		{"RejectsSignedContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: +5\r\n\r\n", ErrBadContentLength, nil},
		{"RejectsSpaceInsideContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 4 2\r\n\r\n", ErrBadContentLength, nil},
		{"RejectsHexContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 0x10\r\n\r\n", ErrBadContentLength, nil},
		{"RejectsEmptyContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length:\r\n\r\n", ErrBadContentLength, nil},
		{"RejectsOverflowingContentLength", "POST / HTTP/1.1\r\n" + hostLine + "Content-Length: 9223372036854775808\r\n\r\n", ErrBadContentLength, nil},
		{"RejectsFinalCodingNotChunked", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: gzip\r\n\r\n", ErrBadTransferEncoding, nil},
		{"RejectsCodingAfterChunked", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: chunked, gzip\r\n\r\n", ErrBadTransferEncoding, nil},
		{"RejectsChunkedTwice", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrBadTransferEncoding, nil},
		{"RejectsEmptyTransferEncoding", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: \r\n\r\n", ErrBadTransferEncoding, nil},
		{"RejectsOnlyCommasTransferEncoding", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: , ,\r\n\r\n", ErrBadTransferEncoding, nil},
		{"RejectsUnknownCodingWith501", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: pigeons, chunked\r\n\r\n", ErrUnsupportedTransferCoding, nil},
		{"RejectsIdentityCodingWith501", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: identity\r\n\r\n", ErrUnsupportedTransferCoding, nil},
		{"RejectsChunkedLookalike", "POST / HTTP/1.1\r\n" + hostLine + "Transfer-Encoding: chunkedchunked\r\n\r\n", ErrUnsupportedTransferCoding, nil},
		{"RejectsTransferEncodingInHTTP10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncodingHTTP10, nil},
	})
}

// RFC 9112 section 3.2: Host.
func TestHost(t *testing.T) {
	runRequestCases(t, []reqCase{
		{"HostFromField", "GET / HTTP/1.1\r\nHost: api.test:8443\r\n\r\n", nil, func(r *Request) bool { return eq(r.Host(), "api.test:8443") }},
		{"EmptyHostIsAllowed", "GET / HTTP/1.1\r\nHost:\r\n\r\n", nil, func(r *Request) bool { return r.Host() != nil && len(r.Host()) == 0 }},
		{"IPv6Host", "GET / HTTP/1.1\r\nHost: [2001:db8::1]:80\r\n\r\n", nil, nil},
		{"RejectsMissingHostInHTTP11", "GET / HTTP/1.1\r\nX: y\r\n\r\n", ErrMissingHost, nil},
		{"RejectsMissingHostEvenWithAbsoluteForm", "GET http://a.test/ HTTP/1.1\r\n\r\n", ErrMissingHost, nil},
		{"RejectsDuplicateHost", "GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\n\r\n", ErrDuplicateHost, nil},
		{"RejectsDuplicateHostInHTTP10", "GET / HTTP/1.0\r\nHost: a.test\r\nhost: a.test\r\n\r\n", ErrDuplicateHost, nil},
		{"RejectsHostWithSpace", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", ErrBadHost, nil},
		{"RejectsHostWithPath", "GET / HTTP/1.1\r\nHost: a.test/x\r\n\r\n", ErrBadHost, nil},
		{"RejectsHostWithUserinfo", "GET / HTTP/1.1\r\nHost: u@a.test\r\n\r\n", ErrBadHost, nil},
		{"RejectsHostWithBadPort", "GET / HTTP/1.1\r\nHost: a.test:8x\r\n\r\n", ErrBadHost, nil},
		{"RejectsUnclosedIPv6Host", "GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", ErrBadHost, nil},
	})
}

// RFC 9112 section 9.3 (persistence), RFC 9110 7.6.1 (Connection), 7.8 (Upgrade), 10.1.1 (Expect).
func TestConnectionOptions(t *testing.T) {
	runRequestCases(t, []reqCase{
		{"HTTP11IsPersistentByDefault", "GET / HTTP/1.1\r\n" + hostLine + "\r\n", nil, func(r *Request) bool { return r.KeepAlive() }},
		{"CloseEndsHTTP11", "GET / HTTP/1.1\r\n" + hostLine + "Connection: close\r\n\r\n", nil, func(r *Request) bool { return !r.KeepAlive() }},
		{"CloseWinsOverKeepAlive", "GET / HTTP/1.1\r\n" + hostLine + "Connection: keep-alive, CLOSE\r\n\r\n", nil, func(r *Request) bool { return !r.KeepAlive() }},
		{"CloseInSecondConnectionField", "GET / HTTP/1.1\r\n" + hostLine + "Connection: te\r\nConnection: close\r\n\r\n", nil, func(r *Request) bool {
			return !r.KeepAlive() && r.ConnectionHas("TE") && r.ConnectionHas("close") && !r.ConnectionHas("upgrade")
		}},
		{"HTTP10IsNotPersistentByDefault", "GET / HTTP/1.0\r\n\r\n", nil, func(r *Request) bool { return !r.KeepAlive() }},
		{"HTTP10KeepAlive", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", nil, func(r *Request) bool { return r.KeepAlive() }},
		{"UpgradeNeedsConnectionOption", "GET / HTTP/1.1\r\n" + hostLine + "Upgrade: websocket\r\n\r\n", nil, func(r *Request) bool { return r.Upgrade() == nil }},
		{"UpgradeWithConnectionOption", "GET / HTTP/1.1\r\n" + hostLine + "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", nil, func(r *Request) bool {
			return eq(r.Upgrade(), "websocket")
		}},
		{"UpgradeIgnoredInHTTP10", "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", nil, func(r *Request) bool { return r.Upgrade() == nil }},
		{"ExpectContinueCaseInsensitive", "PUT / HTTP/1.1\r\n" + hostLine + "Expect: 100-Continue\r\nContent-Length: 5\r\n\r\n", nil, func(r *Request) bool {
			return r.ExpectContinue()
		}},
		{"OtherExpectationIsNotContinue", "PUT / HTTP/1.1\r\n" + hostLine + "Expect: 200-ok\r\n\r\n", nil, func(r *Request) bool { return !r.ExpectContinue() }},
		{"ExpectContinueIgnoredInHTTP10", "PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", nil, func(r *Request) bool { return !r.ExpectContinue() }},
		{"TEAndTrailerFields", "GET / HTTP/1.1\r\n" + hostLine + "TE: trailers\r\nTrailer: X-Sum\r\n\r\n", nil, func(r *Request) bool {
			return eq(r.TE(), "trailers") && eq(r.Trailer(), "X-Sum") && r.TransferEncoding() == nil
		}},
	})
}

// Limits: RFC 9112 3 (414) and RFC 6585 5 (431).
func TestLimits(t *testing.T) {
	fields := func(n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString("X-F: v\r\n")
		}
		return b.String()
	}
	cases := []struct {
		name string
		lim  Limits
		in   string
		err  error
	}{
		{"RequestLineAtLimit", Limits{MaxRequestLine: 16}, "GET /0123 HTTP/1.1\r\n" + hostLine + "\r\n", ErrRequestLineTooLong},
		{"RequestLineJustFits", Limits{MaxRequestLine: 18}, "GET /0123 HTTP/1.1\r\n" + hostLine + "\r\n", nil},
		{"RequestLineOverLimitWhileIncomplete", Limits{MaxRequestLine: 16}, "GET /0123456789abcdef", ErrRequestLineTooLong},
		{"HeadOverLimit", Limits{MaxHeaderBytes: 64}, "GET / HTTP/1.1\r\n" + hostLine + fields(5) + "\r\n", ErrHeaderTooLarge},
		{"HeadOverLimitWhileIncomplete", Limits{MaxHeaderBytes: 64}, "GET / HTTP/1.1\r\n" + hostLine + fields(5), ErrHeaderTooLarge},
		{"HeadExactlyAtLimit", Limits{MaxHeaderBytes: 16 + 19 + 2}, "GET / HTTP/1.1\r\n" + hostLine + "\r\n", nil},
		{"HeadOneOverLimit", Limits{MaxHeaderBytes: 16 + 19 + 1}, "GET / HTTP/1.1\r\n" + hostLine + "\r\n", ErrHeaderTooLarge},
		{"TooManyFields", Limits{MaxHeaders: 3}, "GET / HTTP/1.1\r\n" + hostLine + fields(3) + "\r\n", ErrTooManyHeaders},
		{"FieldCountAtLimit", Limits{MaxHeaders: 4}, "GET / HTTP/1.1\r\n" + hostLine + fields(3) + "\r\n", nil},
		{"DefaultFieldCount", Limits{}, "GET / HTTP/1.1\r\n" + hostLine + fields(100) + "\r\n", ErrTooManyHeaders},
		{"DefaultHeadBytes", Limits{}, "GET / HTTP/1.1\r\n" + hostLine + "X: " + strings.Repeat("a", 33<<10) + "\r\n\r\n", ErrHeaderTooLarge},
		{"DefaultRequestLine", Limits{}, "GET /" + strings.Repeat("a", 8<<10) + " HTTP/1.1\r\n" + hostLine + "\r\n", ErrRequestLineTooLong},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Request{Limits: c.lim}
			_, err := ParseRequest([]byte(c.in), &r)
			if err != c.err {
				t.Fatalf("error = %v, want %v", err, c.err)
			}
		})
	}
}

// Incremental parsing: every split, pipelining, moved buffers.
func TestIncrementalParsingMatchesWholeParse(t *testing.T) {
	heads := []string{
		string(benchBrowserRequest), string(benchAPIRequest),
		"\r\nGET http://a.test/x?y HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 700) + "\r\n\r\n",
	}
	for _, h := range heads {
		in := []byte(h)
		var whole Request
		n, err := ParseRequest(in, &whole)
		if err != nil {
			t.Fatalf("%q: %v", h, err)
		}
		// byte by byte, into a fresh copy each time so that the buffer moves
		var r Request
		for k := 1; k <= len(in); k++ {
			buf := append([]byte(nil), in[:k]...)
			m, err := ParseRequest(buf, &r)
			if k < n {
				if err != ErrNeedMore {
					t.Fatalf("%q at %d: %v", h[:k], k, err)
				}
				continue
			}
			if err != nil || m != n {
				t.Fatalf("at %d: n=%d err=%v, whole n=%d", k, m, err, n)
			}
			if !bytes.Equal(r.Bytes(), whole.Bytes()) || r.NumHeaders() != whole.NumHeaders() ||
				!bytes.Equal(r.Target(), whole.Target()) || r.Framing() != whole.Framing() || !bytes.Equal(r.Host(), whole.Host()) {
				t.Fatalf("byte-by-byte parse differs from whole parse")
			}
			for i := 0; i < r.NumHeaders(); i++ {
				if !bytes.Equal(r.Name(i), whole.Name(i)) || !bytes.Equal(r.Value(i), whole.Value(i)) {
					t.Fatalf("field %d differs", i)
				}
			}
			break
		}
	}
}

func TestPipelinedRequestsInOneBuffer(t *testing.T) {
	buf := []byte("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhiGET /3 HTTP/1.1\r\nHost: a\r\n\r\nGET /4 HT")
	var r Request
	var targets []string
	for {
		n, err := ParseRequest(buf, &r)
		if err == ErrNeedMore {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		targets = append(targets, string(r.Target()))
		buf = buf[n:]
		if r.Framing() == FramingLength {
			buf = buf[r.ContentLength():]
		}
	}
	if strings.Join(targets, " ") != "/1 /2 /3" || string(buf) != "GET /4 HT" {
		t.Fatalf("targets %q, left %q", targets, buf)
	}
}

func TestErrorIsNotStickyAcrossRequests(t *testing.T) {
	var r Request
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nBad : x\r\n\r\n"), &r); err != ErrSpaceBeforeColon {
		t.Fatal(err)
	}
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
}

func TestShorterBufferAfterNeedMoreRestarts(t *testing.T) {
	var r Request
	if _, err := ParseRequest([]byte("GET /long/path HTTP/1.1\r\nHo"), &r); err != ErrNeedMore {
		t.Fatal(err)
	}
	n, err := ParseRequest([]byte("GET / HTTP/1.0\r\n\r\n"), &r)
	if err != nil || n != 18 || !eq(r.Target(), "/") {
		t.Fatal(n, err, string(r.Target()))
	}
}

func TestResetAbandonsPartialRequest(t *testing.T) {
	r := Request{Limits: Limits{MaxHeaders: 7}}
	if _, err := ParseRequest([]byte("GET /a HTTP/1.1\r\nHost: a\r\nX: 1\r\n"), &r); err != ErrNeedMore {
		t.Fatal(err)
	}
	r.Reset()
	if r.Limits.MaxHeaders != 7 || r.NumHeaders() != 0 || r.HeadLen() != 0 || r.Bytes() != nil {
		t.Fatal("Reset kept the view or dropped the limits")
	}
	if _, err := ParseRequest([]byte("PUT /b HTTP/1.1\r\nHost: b\r\n\r\n"), &r); err != nil || !eq(r.Target(), "/b") || r.NumHeaders() != 1 {
		t.Fatal(err)
	}
}

// An invalid byte in a line not yet terminated is reported at once, whatever the split.
func TestErrorsReportedBeforeLineEnds(t *testing.T) {
	for _, in := range []string{"GET / HTTP/5.6", "GET / HTTP/1.1\r\n Host: a", "GET / HTTP/1.1\r\nHost: a\r\nX: a\x00", "GE(T"} {
		for k := 1; k <= len(in); k++ {
			var r Request
			ParseRequest([]byte(in[:k]), &r)
			_, err := ParseRequest([]byte(in), &r)
			if err == nil || err == ErrNeedMore {
				t.Fatalf("%q split at %d: %v", in, k, err)
			}
		}
	}
}

// A head drip-fed one byte at a time costs linear, not quadratic, work: a long value line is
// re-parsed only when it doubles.
func TestDripFeedIsNotQuadratic(t *testing.T) {
	in := []byte("GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("v", 30000) + "\r\n\r\n")
	var r Request
	reparsed := 0
	for k := 1; k <= len(in); k++ {
		before := r.partial
		_, err := ParseRequest(in[:k], &r)
		if err != nil && err != ErrNeedMore {
			t.Fatal(err)
		}
		if r.partial != before {
			reparsed += int(r.partial)
		}
	}
	if reparsed > 8*len(in) {
		t.Fatalf("re-parsed %d bytes for a %d-byte head", reparsed, len(in))
	}
}

// RFC 9112 section 4: the status line; 6.3: response framing.
func TestStatusLine(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		err    error
		status int
		reason string
	}{
		{"AcceptsStatusAndReason", "HTTP/1.1 404 Not Found\r\n\r\n", nil, 404, "Not Found"},
		{"AcceptsEmptyReason", "HTTP/1.1 200 \r\n\r\n", nil, 200, ""},
		{"AcceptsMissingReasonAndSpace", "HTTP/1.1 301\r\n\r\n", nil, 301, ""},
		{"AcceptsObsTextReason", "HTTP/1.1 500 Ori\xc3\xabnt\r\n\r\n", nil, 500, "Ori\xc3\xabnt"},
		{"AcceptsHTTP10", "HTTP/1.0 200 OK\r\n\r\n", nil, 200, "OK"},
		{"RejectsTwoDigitStatus", "HTTP/1.1 20 OK\r\n\r\n", ErrBadStatus, 0, ""},
		{"RejectsFourDigitStatus", "HTTP/1.1 2000 OK\r\n\r\n", ErrBadStatus, 0, ""},
		{"RejectsStatusBelow100", "HTTP/1.1 099 Odd\r\n\r\n", ErrBadStatus, 0, ""},
		{"RejectsDoubleSpaceBeforeStatus", "HTTP/1.1  200 OK\r\n\r\n", ErrBadStatus, 0, ""},
		{"RejectsTabAfterVersion", "HTTP/1.1\t200 OK\r\n\r\n", ErrBadStatusLine, 0, ""},
		{"RejectsControlInReason", "HTTP/1.1 200 O\x01K\r\n\r\n", ErrBadReason, 0, ""},
		{"RejectsBareLFStatusLine", "HTTP/1.1 200 OK\nX: y\r\n\r\n", ErrBareLF, 0, ""},
		{"RejectsHTTP09Version", "HTTP/0.9 200 OK\r\n\r\n", ErrUnsupportedVersion, 0, ""},
		{"RejectsNonHTTP", "ICE/1.0 200 OK\r\n\r\n", ErrBadVersion, 0, ""},
		{"RejectsLongStatusLine", "HTTP/1.1 200 " + strings.Repeat("k", 9000) + "\r\n\r\n", ErrStatusLineTooLong, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Response
			_, err := ParseResponse([]byte(c.in), &r)
			if err != c.err {
				t.Fatalf("error = %v, want %v", err, c.err)
			}
			if err == nil && (r.Status() != c.status || string(r.Reason()) != c.reason) {
				t.Fatalf("status %d %q", r.Status(), r.Reason())
			}
		})
	}
}

func TestResponseFraming(t *testing.T) {
	cases := []struct {
		name string
		in   string
		req  Method
		err  error
		want Framing
	}{
		{"ContentLength", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", MethodGet, nil, FramingLength},
		{"Chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", MethodGet, nil, FramingChunked},
		{"GzipLastIsCloseDelimited", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", MethodGet, nil, FramingClose},
		{"UnknownCodingIsCloseDelimited", "HTTP/1.1 200 OK\r\nTransfer-Encoding: pigeons\r\n\r\n", MethodGet, nil, FramingClose},
		{"NoLengthIsCloseDelimited", "HTTP/1.1 200 OK\r\n\r\n", MethodGet, nil, FramingClose},
		{"HeadHasNoBody", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", MethodHead, nil, FramingNone},
		{"InformationalHasNoBody", "HTTP/1.1 100 Continue\r\n\r\n", MethodGet, nil, FramingNone},
		{"NoContentHasNoBody", "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", MethodGet, nil, FramingNone},
		{"NotModifiedHasNoBody", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", MethodGet, nil, FramingNone},
		{"ConnectSuccessIsTunnel", "HTTP/1.1 200 Connection Established\r\n\r\n", MethodConnect, nil, FramingNone},
		{"ConnectFailureHasBody", "HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n", MethodConnect, nil, FramingLength},
		{"RejectsContentLengthWithTransferEncoding", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", MethodGet, ErrContentLengthAndTransferEncoding, 0},
		{"RejectsDuplicateContentLength", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", MethodGet, ErrDuplicateContentLength, 0},
		{"RejectsChunkedTwice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", MethodGet, ErrBadTransferEncoding, 0},
		{"RejectsTransferEncodingInHTTP10", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", MethodGet, ErrTransferEncodingHTTP10, 0},
		{"RejectsObsFold", "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", MethodGet, ErrObsFold, 0},
		{"IgnoresDuplicateHostInResponse", "HTTP/1.1 200 OK\r\nHost: a\r\nHost: b\r\nContent-Length: 0\r\n\r\n", MethodGet, nil, FramingLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var r Response
			_, err := ParseResponse([]byte(c.in), &r)
			if err != c.err {
				t.Fatalf("error = %v, want %v", err, c.err)
			}
			if err == nil && r.Framing(c.req) != c.want {
				t.Fatalf("framing %v, want %v", r.Framing(c.req), c.want)
			}
		})
	}
}

func TestResponseConnectionOptions(t *testing.T) {
	parse := func(s string) *Response {
		var r Response
		if _, err := ParseResponse([]byte(s), &r); err != nil {
			t.Fatal(err)
		}
		return &r
	}
	if !parse("HTTP/1.1 200 OK\r\n\r\n").KeepAlive() || parse("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n").KeepAlive() ||
		parse("HTTP/1.0 200 OK\r\n\r\n").KeepAlive() || !parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n\r\n").KeepAlive() {
		t.Fatal("keep-alive rules")
	}
	if u := parse("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n").Upgrade(); !eq(u, "websocket") {
		t.Fatalf("101 upgrade %q", u)
	}
	if parse("HTTP/1.1 200 OK\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n").Upgrade() != nil {
		t.Fatal("a 200 is not an upgrade")
	}
	r := parse("HTTP/1.1 200 OK\r\nContent-Length: 7\r\nX: y\r\n\r\nbody")
	if r.ContentLength() != 7 || r.HeadLen() != 44 || len(r.Bytes()) != 44 || !eq(r.Peek("x"), "y") || r.Minor() != 1 {
		t.Fatal("accessors", r.HeadLen())
	}
}

func TestResponseIncrementalSplits(t *testing.T) {
	in := benchResponse
	var whole Response
	n, err := ParseResponse(in, &whole)
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < len(in); k++ {
		var r Response
		if _, err := ParseResponse(in[:k], &r); err != ErrNeedMore {
			t.Fatalf("at %d: %v", k, err)
		}
		if m, err := ParseResponse(in, &r); err != nil || m != n || r.NumHeaders() != whole.NumHeaders() || r.Status() != 200 {
			t.Fatalf("at %d: %d %v", k, m, err)
		}
	}
}

func TestMethodIdempotent(t *testing.T) {
	for m, want := range map[Method]bool{MethodGet: true, MethodHead: true, MethodPut: true, MethodDelete: true,
		MethodOptions: true, MethodTrace: true, MethodPost: false, MethodPatch: false, MethodConnect: false, MethodOther: false} {
		if m.Idempotent() != want {
			t.Errorf("%v.Idempotent() = %v", m, !want)
		}
	}
	for _, name := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"} {
		if m := lookupMethod([]byte(name)); m.String() != name {
			t.Errorf("lookupMethod(%q) = %v", name, m)
		}
	}
}

func TestErrorsHaveDistinctReasonsAndServerStatuses(t *testing.T) {
	all := []*Error{ErrRequestLineTooLong, ErrStatusLineTooLong, ErrHeaderTooLarge, ErrTooManyHeaders, ErrBadMethod,
		ErrBadTarget, ErrBadRequestLine, ErrBadVersion, ErrUnsupportedVersion, ErrBadStatus, ErrBadStatusLine,
		ErrBadReason, ErrWhitespaceAfterLine, ErrBareCR, ErrBareLF, ErrBadHeaderName, ErrBadHeaderValue,
		ErrSpaceBeforeColon, ErrObsFold, ErrContentLengthAndTransferEncoding, ErrDuplicateContentLength,
		ErrBadContentLength, ErrBadTransferEncoding, ErrUnsupportedTransferCoding, ErrTransferEncodingHTTP10,
		ErrMissingHost, ErrDuplicateHost, ErrBadHost}
	seen := map[string]bool{}
	for _, e := range all {
		switch e.Status {
		case 400, 414, 431, 501, 502, 505:
		default:
			t.Errorf("%v: status %d", e, e.Status)
		}
		if seen[e.Reason] || !strings.HasPrefix(e.Error(), "http1: ") || strings.ToLower(e.Reason) != e.Reason {
			t.Errorf("%v: duplicate or malformed reason", e)
		}
		seen[e.Reason] = true
	}
}

// The 8-byte fast paths must agree exactly with the byte tables they skip over: the lowest
// flagged byte is the first byte the table rejects, for every byte in every position and for
// random words with several rejected bytes (where borrows propagate).
func TestSWARMasksMatchByteTables(t *testing.T) {
	var words [][8]byte
	for b := 0; b < 256; b++ {
		for p := 0; p < 8; p++ {
			for _, fill := range []byte{'a', 0xff, 0x80, '~', '!'} {
				w := [8]byte{fill, fill, fill, fill, fill, fill, fill, fill}
				w[p] = byte(b)
				words = append(words, w)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var w [8]byte
		for k := range w {
			w[k] = byte(rng.IntN(256))
			if rng.IntN(3) > 0 {
				w[k] = byte(0x21 + rng.IntN(0x5e)) // mostly printable, like real heads
			}
		}
		words = append(words, w)
	}
	for _, w := range words {
		x := uint64(0)
		for k := 7; k >= 0; k-- {
			x = x<<8 | uint64(w[k])
		}
		firstCtl, firstBad := 8, 8
		for k := 7; k >= 0; k-- {
			if c := w[k]; !valueTable[c] || c == '\t' {
				firstCtl = k
			}
			if !targetTable[w[k]] {
				firstBad = k
			}
		}
		if got := bits.TrailingZeros64(ctlMask(x)) >> 3; got != firstCtl || hasCtl(x) != (firstCtl < 8) {
			t.Fatalf("ctlMask(% x) first at %d, want %d", w, got, firstCtl)
		}
		if got := bits.TrailingZeros64(targetMask(x)) >> 3; got != firstBad {
			t.Fatalf("targetMask(% x) first at %d, want %d", w, got, firstBad)
		}
	}
}
