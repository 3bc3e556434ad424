package http1

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// The llhttp fixtures (nodejs/llhttp, MIT) live in the shared conformance folder of the
// workspace; a user's clone may not have them.
const llhttpDir = "../../shared/conformance/llhttp"

type llCase struct {
	ID          string          `json:"id"`
	Type        string          `json:"type"`
	Lenient     bool            `json:"lenient"`
	APISpecific bool            `json:"api_specific"`
	Skip        bool            `json:"skip"`
	Meta        map[string]any  `json:"meta"`
	Input       string          `json:"input_b64"`
	Verdict     string          `json:"verdict"`
	Error       *llError        `json:"error"`
	Messages    []llMessage     `json:"messages"`
	Raw         json.RawMessage `json:"-"`
}

type llError struct {
	Off    int    `json:"off"`
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

type llMessage struct {
	Method          string     `json:"method"`
	URL             string     `json:"url"`
	StatusCode      int        `json:"status_code"`
	Status          string     `json:"status"`
	Major           int        `json:"http_major"`
	Minor           int        `json:"http_minor"`
	Headers         [][]string `json:"headers"`
	Body            string     `json:"body_b64"`
	HeadersComplete bool       `json:"headers_complete"`
	Complete        bool       `json:"complete"`
}

func loadLLHTTP(t *testing.T) []llCase {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(llhttpDir, "cases.json"))
	if os.IsNotExist(err) {
		t.Skipf("llhttp fixtures not found at %s (only present in the workspace)", llhttpDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []llCase `json:"cases"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Cases
}

// gotMessage is what our parser (plus the chunked decoder for bodies) saw of one message.
type gotMessage struct {
	method, url, reason string
	status, minor       int
	headers             [][2]string
	body                []byte
	complete            bool
}

// outcome of driving a whole connection's bytes through the parser.
type outcome struct {
	msgs    []gotMessage
	verdict string // accept, reject, incomplete, paused (upgrade or CONNECT: the bytes after are not HTTP)
	err     error
	errOff  int // start of the message that failed
}

// drive feeds input as one connection would receive it: the first split bytes, then the rest.
// It frames bodies per Framing, decodes chunked bodies with ChunkedDecoder, and applies the
// connection rule that nothing may follow a message that ends the connection (RFC 9112 9.6).
func drive(input []byte, split int, response bool) outcome {
	var (
		out   outcome
		req   Request
		resp  Response
		dec   ChunkedDecoder
		off   int
		avail = split
	)
	more := func() bool {
		if avail < len(input) {
			avail = len(input)
			return true
		}
		return false
	}
	for {
		if off == len(input) {
			out.verdict = "accept"
			return out
		}
		var (
			n   int
			err error
		)
		if response {
			n, err = ParseResponse(input[off:avail], &resp)
		} else {
			n, err = ParseRequest(input[off:avail], &req)
		}
		if err == ErrNeedMore {
			if more() {
				continue
			}
			if len(bytes.Trim(input[off:], "\r\n")) == 0 {
				// Only the empty lines RFC 9112 2.2 lets a server ignore before a request.
				out.verdict = "accept"
				return out
			}
			out.verdict = "incomplete"
			return out
		}
		if err != nil {
			out.verdict, out.err, out.errOff = "reject", err, off
			return out
		}
		var m gotMessage
		var h *Headers
		var framing Framing
		var keepAlive, paused bool
		var cl int64
		if response {
			h = &resp.Headers
			m.status, m.reason, m.minor = resp.Status(), string(resp.Reason()), resp.Minor()
			framing, keepAlive, cl = resp.Framing(MethodGet), resp.KeepAlive(), resp.ContentLength()
			paused = resp.Status() == 101
		} else {
			h = &req.Headers
			m.method, m.url, m.minor = string(req.Method()), string(req.Target()), req.Minor()
			framing, keepAlive, cl = req.Framing(), req.KeepAlive(), req.ContentLength()
			paused = req.MethodID() == MethodConnect || req.Upgrade() != nil
		}
		for i := 0; i < h.NumHeaders(); i++ {
			m.headers = append(m.headers, [2]string{string(h.Name(i)), string(h.Value(i))})
		}
		off += n
		out.msgs = append(out.msgs, m)
		last := &out.msgs[len(out.msgs)-1]
		switch framing {
		case FramingLength:
			for int64(len(last.body)) < cl {
				take := min(cl-int64(len(last.body)), int64(avail-off))
				last.body = append(last.body, input[off:off+int(take)]...)
				off += int(take)
				if int64(len(last.body)) < cl && !more() {
					out.verdict = "incomplete"
					return out
				}
			}
		case FramingChunked:
			dec.Reset()
			for !dec.Done() {
				n, data, err := dec.Decode(input[off:avail])
				last.body = append(last.body, data...)
				off += n
				if err != nil {
					out.verdict, out.err = "reject", err
					return out
				}
				if !dec.Done() && off == avail && !more() {
					out.verdict = "incomplete"
					return out
				}
			}
		case FramingClose:
			last.body = append(last.body, input[off:]...)
			out.verdict = "incomplete" // read until EOF: llhttp reports these as incomplete too
			return out
		}
		last.complete = true
		if paused {
			out.verdict = "paused"
			return out
		}
		if !keepAlive && off < len(input) {
			out.verdict, out.err = "reject", errDataAfterClose
			return out
		}
	}
}

var errDataAfterClose = fmt.Errorf("data after a message that closes the connection")

// llVerdict maps llhttp's verdict to ours: its pauses on CONNECT/Upgrade are our "paused", its
// "data after Connection: close" is the connection rule in drive.
func llVerdict(c *llCase) string {
	if c.Verdict == "reject" && c.Error != nil {
		switch c.Error.Name {
		case "PAUSED_UPGRADE", "PAUSED_H2_UPGRADE":
			return "paused"
		}
	}
	return c.Verdict
}

// compare returns "" when our outcome agrees with llhttp's, else what differs.
func compare(c *llCase, got outcome, response bool) string {
	want := llVerdict(c)
	if got.verdict != want {
		return fmt.Sprintf("verdict %s (err %v), llhttp %s (%v)", got.verdict, got.err, want, c.Error)
	}
	wantMsgs := c.Messages
	// Messages llhttp only began (no complete head) have nothing to compare.
	for len(wantMsgs) > 0 && !wantMsgs[len(wantMsgs)-1].HeadersComplete {
		wantMsgs = wantMsgs[:len(wantMsgs)-1]
	}
	// On a reject or an unfinished stream llhttp may have reported the head of a message
	// that we rejected while reading that head (we check framing fields as they arrive).
	for want != "accept" && len(wantMsgs) > len(got.msgs) && !wantMsgs[len(wantMsgs)-1].Complete {
		wantMsgs = wantMsgs[:len(wantMsgs)-1]
	}
	if len(got.msgs) != len(wantMsgs) {
		return fmt.Sprintf("%d messages, llhttp %d", len(got.msgs), len(wantMsgs))
	}
	for i, w := range wantMsgs {
		g := got.msgs[i]
		if response {
			if g.status != w.StatusCode || g.reason != w.Status {
				return fmt.Sprintf("message %d: status %d %q, llhttp %d %q", i, g.status, g.reason, w.StatusCode, w.Status)
			}
		} else if g.method != w.Method || g.url != w.URL {
			return fmt.Sprintf("message %d: %s %s, llhttp %s %s", i, g.method, g.url, w.Method, w.URL)
		}
		if w.Major != 1 || g.minor != w.Minor {
			return fmt.Sprintf("message %d: version 1.%d, llhttp %d.%d", i, g.minor, w.Major, w.Minor)
		}
		if len(g.headers) != len(w.Headers) {
			return fmt.Sprintf("message %d: %d headers, llhttp %d", i, len(g.headers), len(w.Headers))
		}
		for j, wh := range w.Headers {
			// llhttp keeps trailing whitespace in values; RFC 9112 5.1 excludes it.
			if g.headers[j][0] != wh[0] || g.headers[j][1] != string(trimOWS([]byte(wh[1]))) {
				return fmt.Sprintf("message %d header %d: %q, llhttp %q", i, j, g.headers[j], wh)
			}
		}
		wantBody, _ := base64.StdEncoding.DecodeString(w.Body)
		// llhttp reports the body bytes it saw even for a message it did not finish.
		if w.Complete && !bytes.Equal(g.body, wantBody) {
			return fmt.Sprintf("message %d: body %q, llhttp %q", i, g.body, wantBody)
		}
		if w.Complete != g.complete && !(i == len(wantMsgs)-1 && want != "accept") {
			return fmt.Sprintf("message %d: complete %v, llhttp %v", i, g.complete, w.Complete)
		}
	}
	return ""
}

// stricter lists the strict llhttp cases where Sluice deliberately disagrees, with the reason.
// Every entry must still disagree (a stale entry fails the test), and the disagreement must be
// a rejection: Sluice never accepts what llhttp rejects.
var stricter = map[string]string{
	"request/method.md:138":            "asterisk-form is for OPTIONS only (RFC 9112 3.2.4); M-SEARCH * is SSDP, not HTTP",
	"request/method.md:375":            "ICE/1.0 is not HTTP; only HTTP/1.0 and HTTP/1.1 are parsed (RFC 9112 2.3)",
	"request/method.md:405":            "RTSP/1.0 is not HTTP (RFC 9112 2.3)",
	"request/method.md:433":            "RTSP/1.0 is not HTTP (RFC 9112 2.3)",
	"request/method.md:461":            "the HTTP/2 connection preface is not an HTTP/1 request; the engine must detect h2c prior knowledge before parsing",
	"request/sample.md:317":            "HTTP/0.9 simple requests are not HTTP/1.x (RFC 9112 3 needs a version)",
	"request/transfer-encoding.md:754": "'#' in the request-target: RFC 9112 3.2 targets carry no fragment",
	"request/transfer-encoding.md:796": "'#' in the request-target: RFC 9112 3.2 targets carry no fragment",
	"request/uri.md:168":               "'#' in the request-target: RFC 9112 3.2 targets carry no fragment",
	"request/uri.md:225":               "userinfo in an absolute-form target: RFC 9110 4.2.4 says to treat it as an error",
	"response/sample.md:43":            "RTSP/1.1 is not HTTP (RFC 9112 2.3)",
	"response/sample.md:63":            "ICE/1.1 is not HTTP (RFC 9112 2.3)",
	"response/sample.md:648":           "HTTP/0.9 has no status line; only HTTP/1.0 and HTTP/1.1 are parsed (505)",
}

// broader lists the strict llhttp cases that Sluice accepts although llhttp rejects them, each
// with the argument why accepting cannot desynchronise framing.
var broader = map[string]string{
	"request/invalid.md:69": "ANNOUNCE is a token, so a valid extension method (RFC 9110 9.1); llhttp only " +
		"knows it for RTSP. Methods do not change framing except CONNECT and HEAD, which are exact.",
}

// hostRule: RFC 9112 3.2 requires a Host field in every HTTP/1.1 request; llhttp leaves that to
// the application. Many fixtures omit it, so the rule is a predicate rather than table entries.
// To be sure the rule hides no other difference, the input is driven again with a Host line
// inserted into each request that lacked one, and that verdict must match llhttp's.
func hostRule(t *testing.T, c *llCase, input []byte, got outcome) bool {
	for range 8 {
		if got.err != ErrMissingHost {
			break
		}
		start := got.errOff
		for bytes.HasPrefix(input[start:], []byte("\r\n")) {
			start += 2
		}
		at := start + bytes.Index(input[start:], []byte("\r\n")) + 2
		input = append(input[:at:at], append([]byte("Host: a\r\n"), input[at:]...)...)
		got = drive(input, len(input), false)
	}
	if got.err == ErrMissingHost {
		return false
	}
	if got.verdict != llVerdict(c) {
		t.Errorf("%s: with Host added: %s (%v), llhttp %s (%v)", c.ID, got.verdict, got.err, llVerdict(c), c.Error)
	}
	return true
}

func TestLLHTTPConformance(t *testing.T) {
	cases := loadLLHTTP(t)
	var agreed, strictRejects, hostRejects, broaderAccepts, total int
	for i := range cases {
		c := &cases[i]
		if (c.Type != "request" && c.Type != "response") || c.Lenient || c.APISpecific || c.Skip {
			continue
		}
		total++
		input, err := base64.StdEncoding.DecodeString(c.Input)
		if err != nil {
			t.Fatal(err)
		}
		response := c.Type == "response"
		whole := drive(input, len(input), response)
		diff := compare(c, whole, response)
		reason, listed := stricter[c.ID]
		wider, accepted := broader[c.ID]
		switch {
		case diff == "" && (listed || accepted):
			t.Errorf("%s: listed as a difference (%s%s) but agrees with llhttp", c.ID, reason, wider)
		case diff != "" && accepted && whole.verdict == "accept":
			broaderAccepts++
		case diff != "" && whole.verdict != "reject":
			t.Errorf("%s: %s\ninput %q", c.ID, diff, input)
		case diff != "" && whole.err == ErrMissingHost && hostRule(t, c, input, whole):
			hostRejects++
		case diff != "" && listed:
			strictRejects++
		case diff != "":
			t.Errorf("%s: %s\ninput %q", c.ID, diff, input)
		default:
			agreed++
		}
		if noScan, _ := c.Meta["noScan"].(bool); noScan {
			continue
		}
		for split := 0; split < len(input); split++ {
			got := drive(input, split, response)
			if got.verdict != whole.verdict || got.err != whole.err || len(got.msgs) != len(whole.msgs) {
				t.Errorf("%s split at %d: %s %v, whole input %s %v", c.ID, split, got.verdict, got.err, whole.verdict, whole.err)
				break
			}
		}
	}
	t.Logf("strict llhttp cases: %d; agree %d; rejected for RFC 9112 3.2 Host %d; stricter by table %d; broader by table %d",
		total, agreed, hostRejects, strictRejects, broaderAccepts)
}

// TestLLHTTPLenientCasesMostlyRejected reports how many of llhttp's lenient-mode cases (inputs
// llhttp itself rejects unless told to be lenient) Sluice rejects.
func TestLLHTTPLenientCasesMostlyRejected(t *testing.T) {
	cases := loadLLHTTP(t)
	var total, rejected int
	var accepted []string
	for i := range cases {
		c := &cases[i]
		if !c.Lenient {
			continue
		}
		input, _ := base64.StdEncoding.DecodeString(c.Input)
		total++
		got := drive(input, len(input), c.Type[:min(len(c.Type), 8)] == "response")
		if got.verdict == "reject" {
			rejected++
		} else {
			accepted = append(accepted, c.ID+" ("+got.verdict+", "+strconv.Quote(string(input[:min(len(input), 60)]))+")")
		}
	}
	t.Logf("lenient cases: %d, rejected %d", total, rejected)
	for _, a := range accepted {
		t.Logf("not rejected: %s", a)
	}
}
