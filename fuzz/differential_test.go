package fuzz

import (
	"bufio"
	"bytes"
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"slices"
	"testing"

	"github.com/sluice-gw/sluice/http1"
)

// Differential fuzzing of the http1 head parser against net/http (http.ReadRequest and
// http.ReadResponse). When both accept, the method, target, version, header fields and body
// framing must agree. When only one accepts, the input must match one of the documented
// strictness choices below, each a predicate over the input and the errors.

// strictness is one documented reason why Sluice and net/http may disagree.
type strictness struct {
	why     string
	applies func(in []byte, ours error) bool
}

var (
	bareLF           = regexp.MustCompile(`(^|[^\r])\n`)
	obsFold          = regexp.MustCompile(`\r?\n[ \t]`)
	spaceBeforeColon = regexp.MustCompile(`\n[^:\r\n]*[ \t]:`)
	teField          = regexp.MustCompile(`(?i)(^|\n)transfer-encoding:`)
	clField          = regexp.MustCompile(`(?i)(^|\n)content-length:`)
	hostField        = regexp.MustCompile(`(?i)(^|\n)host:`)
	httpVersion      = regexp.MustCompile(`^[^\r\n]* HTTP/1\.[01]\r?\n|^HTTP/1\.[01] `)
	teHTTP10Line     = regexp.MustCompile(`^[^\r\n]* HTTP/1\.0\r?\n|^HTTP/1\.0 `)
)

var (
	otherVersion = regexp.MustCompile(`HTTP/[0-9]\.[0-9]`)
	ctlByte      = regexp.MustCompile(`[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]`)
)

// firstLine returns the start line without its line end.
func firstLine(in []byte) []byte {
	in = bytes.TrimLeft(in, "\r\n")
	if i := bytes.IndexAny(in, "\r\n"); i >= 0 {
		return in[:i]
	}
	return in
}

// badTarget: the request-target is one Sluice rejects (see http1's targetTable and
// classifyTarget): a fragment, userinfo, a byte outside printable ASCII, '*' for a method other
// than OPTIONS, CONNECT without host:port, or neither '/' nor scheme "://".
func badTarget(line []byte) bool {
	parts := bytes.Split(line, []byte(" "))
	if len(parts) < 2 || len(parts[1]) == 0 {
		return true
	}
	m, t := string(parts[0]), parts[1]
	for i, c := range t {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return true
		}
		if c == '%' && (i+2 >= len(t) || !isHex(t[i+1]) || !isHex(t[i+2])) {
			return true // RFC 3986 2.1; net/http accepts some malformed escapes in queries
		}
	}
	switch {
	case bytes.Equal(t, []byte("*")):
		return m != "OPTIONS"
	case m == "CONNECT":
		return true // authority-form rules are exact; net/http's are looser
	case t[0] == '/':
		return false
	}
	// absolute-form: scheme "://" and an RFC 3986 host without userinfo are required, where
	// net/http's url.ParseRequestURI takes any absolute URI.
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f'
}

func head(in []byte) []byte {
	if i := bytes.Index(in, []byte("\r\n\r\n")); i >= 0 {
		return in[:i+4]
	}
	if i := bytes.Index(in, []byte("\n\n")); i >= 0 {
		return in[:i+2]
	}
	return in
}

// stricterThanNetHTTP: inputs net/http accepts and Sluice rejects on purpose.
var stricterThanNetHTTP = map[error]strictness{
	http1.ErrBareLF: {"RFC 9112 2.2: CRLF required; net/http accepts bare LF line ends",
		func(in []byte, _ error) bool { return bareLF.Match(head(in)) }},
	http1.ErrBareCR: {"RFC 9112 2.2: a CR not followed by LF; net/http keeps it inside values or ignores it",
		func(in []byte, _ error) bool { return bytes.Contains(in, []byte("\r")) }},
	http1.ErrSpaceBeforeColon: {"RFC 9112 5.1: whitespace before the colon MUST be rejected; ReadRequest keeps it in the name",
		func(in []byte, _ error) bool { return spaceBeforeColon.Match(head(in)) }},
	http1.ErrBadHeaderName: {"RFC 9110 5.1: field names are tokens; net/http keeps some non-token names",
		func(in []byte, _ error) bool { return true }},
	http1.ErrObsFold: {"RFC 9112 5.2: obs-fold rejected; net/http unfolds",
		func(in []byte, _ error) bool { return obsFold.Match(head(in)) }},
	http1.ErrMissingHost: {"RFC 9112 3.2: Host required in HTTP/1.1; net/http checks it in its server, not ReadRequest",
		func(in []byte, _ error) bool { return !hostField.Match(head(in)) }},
	http1.ErrDuplicateHost: {"RFC 9112 3.2: several Host lines are 400; net/http checks it in its server",
		func(in []byte, _ error) bool { return len(hostField.FindAll(head(in), -1)) > 1 }},
	http1.ErrBadHost: {"RFC 9112 3.2: invalid Host is 400; net/http checks it in its server",
		func(in []byte, _ error) bool { return hostField.Match(head(in)) }},
	http1.ErrContentLengthAndTransferEncoding: {"RFC 9112 6.3 rule 3: we fail closed; net/http drops Content-Length",
		func(in []byte, _ error) bool { return teField.Match(head(in)) && clField.Match(head(in)) }},
	http1.ErrDuplicateContentLength: {"RFC 9110 8.6: equal repeated Content-Length values are collapsed by net/http, rejected here",
		func(in []byte, _ error) bool {
			return len(clField.FindAll(head(in), -1)) > 1 || clField.Match(head(in)) && bytes.Contains(head(in), []byte(","))
		}},
	http1.ErrTransferEncodingHTTP10: {"RFC 9112 6.1: faulty framing; net/http ignores Transfer-Encoding in HTTP/1.0",
		func(in []byte, _ error) bool { return teField.Match(head(in)) && teHTTP10Line.Match(in) }},
	http1.ErrBadTransferEncoding: {"RFC 9112 6.1: codings after chunked, chunked twice or empty; net/http ignores some of these",
		func(in []byte, _ error) bool { return teField.Match(head(in)) }},
	http1.ErrUnsupportedVersion: {"only HTTP/1.0 and 1.1; net/http's ReadRequest parses any HTTP/x.y",
		func(in []byte, _ error) bool { return otherVersion.Match(firstLine(in)) }},
	http1.ErrBadVersion: {"RFC 9112 2.3 version syntax is exact; net/http accepts some variants",
		func(in []byte, _ error) bool { return true }},
	http1.ErrBadTarget: {"RFC 9112 3.2: no fragment, no userinfo, no non-ASCII, form must match the method; net/http's url parsing is broader",
		func(in []byte, _ error) bool { return badTarget(firstLine(in)) }},
	http1.ErrBadRequestLine: {"RFC 9112 3: exactly one SP between the parts, and a version",
		func(in []byte, _ error) bool { return bytes.Count(firstLine(in), []byte(" ")) != 2 }},
	http1.ErrWhitespaceAfterLine: {"RFC 9112 2.2: whitespace before the first field",
		func(in []byte, _ error) bool { return obsFold.Match(head(in)) }},
	http1.ErrBadHeaderValue: {"RFC 9110 5.5: control characters in values; net/http allows some",
		func(in []byte, _ error) bool { return ctlByte.Match(head(in)) }},
	http1.ErrBadStatus: {"RFC 9110 15: status 100..599 and three digits; net/http accepts others",
		func(in []byte, _ error) bool { return true }},
	http1.ErrBadReason: {"RFC 9112 4: controls in the reason phrase",
		func(in []byte, _ error) bool { return true }},
	http1.ErrStatusLineTooLong:  {"limit", func(in []byte, _ error) bool { return true }},
	http1.ErrRequestLineTooLong: {"limit", func(in []byte, _ error) bool { return true }},
	http1.ErrHeaderTooLarge:     {"limit", func(in []byte, _ error) bool { return true }},
	http1.ErrTooManyHeaders:     {"limit", func(in []byte, _ error) bool { return true }},
}

// explainOurReject reports whether our rejection of an input net/http accepts is documented.
func explainOurReject(in []byte, ours error) (string, bool) {
	if s, ok := stricterThanNetHTTP[ours]; ok && s.applies(in, ours) {
		return s.why, true
	}
	return "", false
}

// explainTheirReject reports whether net/http's rejection of an input we accept is a known
// net/http strictness that cannot hide a framing difference.
func explainTheirReject(in []byte, theirs error) (string, bool) {
	h := head(in)
	if teField.Match(h) {
		// RFC 9112 6.1 allows codings before chunked; net/http supports exactly one
		// "chunked" and one Transfer-Encoding line. Either way the final coding is chunked.
		return "net/http supports only a single chunked coding", true
	}
	return "", false
}

func canonical(name []byte) string { return textproto.CanonicalMIMEHeaderKey(string(name)) }

// compareHeaders checks that every field we parsed appears in net/http's header map in order.
func compareHeaders(h *http1.Headers, got http.Header, skip ...string) error {
	seen := map[string]int{}
	for i := 0; i < h.NumHeaders(); i++ {
		k := canonical(h.Name(i))
		if slices.Contains(skip, k) {
			continue
		}
		vals := got[k]
		j := seen[k]
		if j >= len(vals) {
			return fmt.Errorf("field %q=%q missing in net/http (%q)", h.Name(i), h.Value(i), vals)
		}
		if vals[j] != string(h.Value(i)) {
			return fmt.Errorf("field %q: %q, net/http %q", k, h.Value(i), vals[j])
		}
		seen[k] = j + 1
	}
	return nil
}

func FuzzRequestDifferential(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r http1.Request
		_, ours := http1.ParseRequest(in, &r)
		req, theirs := http.ReadRequest(bufio.NewReader(bytes.NewReader(in)))
		switch {
		case ours == nil && theirs == nil:
			if string(r.Method()) != req.Method || string(r.Target()) != req.RequestURI || r.Minor() != req.ProtoMinor || req.ProtoMajor != 1 {
				t.Fatalf("request line: ours %q %q 1.%d, net/http %q %q %d.%d",
					r.Method(), r.Target(), r.Minor(), req.Method, req.RequestURI, req.ProtoMajor, req.ProtoMinor)
			}
			if err := compareHeaders(&r.Headers, req.Header, "Host", "Transfer-Encoding"); err != nil {
				t.Fatal(err)
			}
			if req.Close == r.KeepAlive() {
				t.Fatalf("keep-alive %v, net/http Close %v", r.KeepAlive(), req.Close)
			}
			if r.TargetForm() == http1.FormOrigin && string(r.Host()) != req.Host && r.Host() != nil {
				t.Fatalf("host %q, net/http %q", r.Host(), req.Host)
			}
			switch r.Framing() {
			case http1.FramingChunked:
				if !slices.Equal(req.TransferEncoding, []string{"chunked"}) {
					t.Fatalf("framing chunked, net/http TE %q CL %d", req.TransferEncoding, req.ContentLength)
				}
			case http1.FramingLength:
				if req.ContentLength != r.ContentLength() && r.MethodID() != http1.MethodConnect {
					t.Fatalf("length %d, net/http %d", r.ContentLength(), req.ContentLength)
				}
			case http1.FramingNone:
				if req.ContentLength > 0 || len(req.TransferEncoding) > 0 {
					if r.MethodID() != http1.MethodConnect {
						t.Fatalf("no body, net/http TE %q CL %d", req.TransferEncoding, req.ContentLength)
					}
				}
			}
		case ours == nil && theirs != nil:
			if _, ok := explainTheirReject(in, theirs); !ok {
				t.Fatalf("we accept %q, net/http rejects: %v", in, theirs)
			}
		case ours != nil && theirs == nil:
			if ours == http1.ErrNeedMore {
				t.Fatalf("we need more of %q, net/http accepts", in)
			}
			if _, ok := explainOurReject(in, ours); !ok {
				t.Fatalf("we reject %q (%v), net/http accepts: %s %s", in, ours, req.Method, req.RequestURI)
			}
		}
	})
}

func FuzzResponseDifferential(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var r http1.Response
		_, ours := http1.ParseResponse(in, &r)
		resp, theirs := http.ReadResponse(bufio.NewReader(bytes.NewReader(in)), nil)
		switch {
		case ours == nil && theirs == nil:
			if r.Status() != resp.StatusCode || r.Minor() != resp.ProtoMinor || resp.ProtoMajor != 1 {
				t.Fatalf("status line: ours %d 1.%d, net/http %d %d.%d", r.Status(), r.Minor(), resp.StatusCode, resp.ProtoMajor, resp.ProtoMinor)
			}
			// net/http moves "Connection: close" into resp.Close.
			if err := compareHeaders(&r.Headers, resp.Header, "Transfer-Encoding", "Connection"); err != nil {
				t.Fatal(err)
			}
			// A body read until the close ends the connection whatever the head says.
			reuse := r.KeepAlive() && r.Framing(http1.MethodGet) != http1.FramingClose
			if resp.Close == reuse {
				t.Fatalf("reuse %v, net/http Close %v", reuse, resp.Close)
			}
			switch r.Framing(http1.MethodGet) {
			case http1.FramingChunked:
				if !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
					t.Fatalf("chunked, net/http TE %q CL %d", resp.TransferEncoding, resp.ContentLength)
				}
			case http1.FramingLength:
				if resp.ContentLength != r.ContentLength() {
					t.Fatalf("length %d, net/http %d", r.ContentLength(), resp.ContentLength)
				}
			case http1.FramingClose:
				if resp.ContentLength != -1 {
					t.Fatalf("close-delimited, net/http CL %d TE %q", resp.ContentLength, resp.TransferEncoding)
				}
			}
		case ours == nil && theirs != nil:
			if _, ok := explainTheirReject(in, theirs); !ok {
				t.Fatalf("we accept %q, net/http rejects: %v", in, theirs)
			}
		case ours != nil && theirs == nil:
			if ours == http1.ErrNeedMore {
				t.Fatalf("we need more of %q, net/http accepts", in)
			}
			if _, ok := explainOurReject(in, ours); !ok {
				t.Fatalf("we reject %q (%v), net/http accepts: %d", in, ours, resp.StatusCode)
			}
		}
	})
}
