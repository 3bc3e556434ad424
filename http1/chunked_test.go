package http1

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// feedChunked runs d over the concatenation of pieces the way a connection
// does: bytes arrive piece by piece into a buffer, Decode is called until it
// makes no progress, and consumed bytes are dropped. It returns the decoded
// body, the bytes left after the message (pipelined input) and the error.
func feedChunked(d *ChunkedDecoder, pieces ...[]byte) (body, rest []byte, err error) {
	var buf []byte
	for _, piece := range pieces {
		buf = append(buf, piece...)
		for {
			n, data, err := d.Decode(buf)
			if n < 0 || n > len(buf) {
				return body, buf, errors.New("n out of range")
			}
			if len(data) > 0 && &data[0] != &buf[n-len(data)] {
				return body, buf, errors.New("data is not the tail of p[:n]")
			}
			body = append(body, data...)
			buf = buf[n:]
			if err != nil {
				return body, buf, err
			}
			if d.Done() || n == 0 {
				break
			}
		}
	}
	return body, buf, nil
}

// splits yields the input whole, cut at every single point, and byte by byte.
func splits(in []byte) [][][]byte {
	out := [][][]byte{{in}}
	for i := 1; i < len(in); i++ {
		out = append(out, [][]byte{in[:i], in[i:]})
	}
	var bytewise [][]byte
	for i := range in {
		bytewise = append(bytewise, in[i:i+1])
	}
	return append(out, bytewise)
}

func TestChunkedDecodesValidBodies(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		body     string
		trailers bool
	}{
		{"single chunk", "5\r\nhello\r\n0\r\n\r\n", "hello", false},
		{"several chunks", "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n", "hello world", false},
		{"empty body", "0\r\n\r\n", "", false},
		{"upper and lower hex", "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n", "0123456789abcdefghij", false},
		{"leading zeros in size", "0005\r\nhello\r\n000\r\n\r\n", "hello", false},
		{"body holds crlf and framing look-alikes", "c\r\n0\r\n\r\nabc\r\n\r\n\r\n0\r\n\r\n", "0\r\n\r\nabc\r\n\r\n", false},
		{"extension without value", "5;foo\r\nhello\r\n0\r\n\r\n", "hello", false},
		{"extension with token value", "5;foo=bar\r\nhello\r\n0\r\n\r\n", "hello", false},
		{"extension with quoted value", "5;foo=\"b a;r=\\\"x\\\"\"\r\nhello\r\n0\r\n\r\n", "hello", false},
		{"several extensions", "5;a;b=1;c=\"2\"\r\nhello\r\n0;last=yes\r\n\r\n", "hello", false},
		{"bws around semicolon and equals", "5 \t; a = 1 ;\tb\r\nhello\r\n0\r\n\r\n", "hello", false},
		{"bws after quoted value before semicolon", "5;a=\"1\" ;b\r\nhello\r\n0\r\n\r\n", "hello", false},
		{"quoted value with obs-text", "5;a=\"\x80\xff\"\r\nhello\r\n0\r\n\r\n", "hello", false},
		{"one trailer", "5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", "hello", true},
		{"two trailers with ows and empty value", "5\r\nhello\r\n0\r\nA:\r\nB: \t v 1 \t\r\n\r\n", "hello", true},
		{"trailer named like a forbidden field prefix", "0\r\nHosts: x\r\nContent-Lengths: 1\r\n\r\n", "", true},
		{"large chunk size", "10\r\n0123456789abcdef\r\n0\r\n\r\n", "0123456789abcdef", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in + "GET / HTTP/1.1\r\n")
			for _, pieces := range splits(in) {
				var d ChunkedDecoder
				body, rest, err := feedChunked(&d, pieces...)
				if err != nil {
					t.Fatalf("pieces %q: %v", pieces, err)
				}
				if string(body) != tt.body {
					t.Fatalf("pieces %q: body %q, want %q", pieces, body, tt.body)
				}
				if !d.Done() {
					t.Fatalf("pieces %q: not done", pieces)
				}
				if string(rest) != "GET / HTTP/1.1\r\n" {
					t.Fatalf("pieces %q: rest %q, want the pipelined request", pieces, rest)
				}
				if d.HasTrailers() != tt.trailers {
					t.Fatalf("pieces %q: HasTrailers %v, want %v", pieces, d.HasTrailers(), tt.trailers)
				}
				if d.BodyLen() != int64(len(tt.body)) {
					t.Fatalf("BodyLen %d, want %d", d.BodyLen(), len(tt.body))
				}
			}
		})
	}
}

func TestChunkedRejectsMalformedFraming(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"empty size", "\r\nhello\r\n0\r\n\r\n", ErrChunkSizeMissing},
		{"plus sign", "+5\r\nhello\r\n0\r\n\r\n", ErrChunkSizeMissing},
		{"minus sign", "-5\r\nhello\r\n0\r\n\r\n", ErrChunkSizeMissing},
		{"leading space", " 5\r\nhello\r\n0\r\n\r\n", ErrChunkSizeMissing},
		{"leading tab", "\t5\r\nhello\r\n0\r\n\r\n", ErrChunkSizeMissing},
		{"hex prefix", "0x5\r\nhello\r\n0\r\n\r\n", ErrBadChunkSize},
		{"non hex digit", "5g\r\nhello\r\n0\r\n\r\n", ErrBadChunkSize},
		{"trailing space", "5 \r\nhello\r\n0\r\n\r\n", ErrBadChunkSize},
		{"trailing tab", "5\t\r\nhello\r\n0\r\n\r\n", ErrBadChunkSize},
		{"space inside size", "1 0\r\n0123456789abcdef\r\n0\r\n\r\n", ErrBadChunkSize},
		{"size overflows int64", "8000000000000000\r\n", ErrChunkSizeOverflow},
		{"size overflows uint64", "10000000000000000\r\n", ErrChunkSizeOverflow},
		{"many digits overflow", "fffffffffffffffffffffff\r\n", ErrChunkSizeOverflow},
		{"semicolon without name", "5;\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"semicolon and bws without name", "5; \r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"equals without value", "5;a=\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"equals without name", "5;=1\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"whitespace after extension name", "5;a \r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"whitespace after extension value", "5;a=1 \r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"non token in name", "5;a/b\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"non token in value", "5;a=b/c\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"unterminated quoted value", "5;a=\"abc\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"control byte in quoted value", "5;a=\"a\x01\"\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"control byte after backslash", "5;a=\"\\\x00\"\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"text after quoted value", "5;a=\"1\"x\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"two names without semicolon", "5;a b\r\nhello\r\n0\r\n\r\n", ErrBadChunkExt},
		{"bare lf after size", "5\nhello\r\n0\r\n\r\n", ErrChunkBareLF},
		{"bare lf after extension", "5;a=1\nhello\r\n0\r\n\r\n", ErrChunkBareLF},
		{"bare cr after size", "5\rhello\r\n0\r\n\r\n", ErrChunkBareCR},
		{"data longer than size", "3\r\nhello\r\n0\r\n\r\n", ErrMissingChunkCRLF},
		{"bare lf after data", "5\r\nhello\n0\r\n\r\n", ErrChunkBareLF},
		{"bare cr after data", "5\r\nhello\r0\r\n\r\n", ErrChunkBareCR},
		{"bare lf after last chunk", "0\n\r\n", ErrChunkBareLF},
		{"bare lf as final line", "0\r\n\n", ErrChunkBareLF},
		{"bare cr as final line", "0\r\n\rX", ErrChunkBareCR},
		{"trailer line without colon", "0\r\nX-Foo\r\n\r\n", ErrBadTrailerName},
		{"trailer with empty name", "0\r\n: v\r\n\r\n", ErrBadTrailerName},
		{"trailer space before colon", "0\r\nX-Foo : v\r\n\r\n", ErrBadTrailerName},
		{"trailer non token name", "0\r\nX(Foo): v\r\n\r\n", ErrBadTrailerName},
		{"trailer first line starts with space", "0\r\n X: v\r\n\r\n", ErrBadTrailerName},
		{"trailer obs-fold", "0\r\nX: v\r\n  more\r\n\r\n", ErrTrailerObsFold},
		{"trailer obs-fold with tab", "0\r\nX: v\r\n\tmore\r\n\r\n", ErrTrailerObsFold},
		{"trailer nul in value", "0\r\nX: a\x00b\r\n\r\n", ErrBadTrailerValue},
		{"trailer del in value", "0\r\nX: a\x7fb\r\n\r\n", ErrBadTrailerValue},
		{"trailer bare lf", "0\r\nX: v\n\r\n", ErrChunkBareLF},
		{"trailer bare cr", "0\r\nX: v\rY: w\r\n\r\n", ErrChunkBareCR},
		{"trailer lf in name", "0\r\nX\n", ErrChunkBareLF},
		{"trailer content-length", "0\r\nContent-Length: 5\r\n\r\n", ErrForbiddenTrailer},
		{"trailer transfer-encoding any case", "0\r\ntRANSFER-encoding: chunked\r\n\r\n", ErrForbiddenTrailer},
		{"trailer host", "0\r\nHOST: evil\r\n\r\n", ErrForbiddenTrailer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, pieces := range splits([]byte(tt.in)) {
				var d ChunkedDecoder
				_, _, err := feedChunked(&d, pieces...)
				if err != tt.err {
					t.Fatalf("pieces %q: err %v, want %v", pieces, err, tt.err)
				}
				var he *Error
				if !errors.As(err, &he) || he.Status != 400 {
					t.Fatalf("err %v is not a 400 *Error", err)
				}
				if d.Done() {
					t.Fatal("Done after an error")
				}
			}
		})
	}
}

func TestChunkedErrorReportsValidPrefix(t *testing.T) {
	in := []byte("5\r\nhello\r\n5x\r\n")
	var d ChunkedDecoder
	n, data, err := d.Decode(in)
	if err != nil || string(data) != "hello" {
		t.Fatalf("first call: %d %q %v", n, data, err)
	}
	n2, data, err := d.Decode(in[n:])
	if err != ErrBadChunkSize || data != nil {
		t.Fatalf("second call: %q %v, want ErrBadChunkSize", data, err)
	}
	if got := string(in[n : n+n2]); got != "\r\n5" {
		t.Fatalf("valid prefix %q, want %q", got, "\r\n5")
	}
}

func TestChunkedStaysFailedUntilReset(t *testing.T) {
	var d ChunkedDecoder
	if _, _, err := d.Decode([]byte("z\r\n")); err != ErrChunkSizeMissing {
		t.Fatalf("err %v", err)
	}
	n, data, err := d.Decode([]byte("5\r\nhello\r\n0\r\n\r\n"))
	if n != 0 || data != nil || err != ErrChunkSizeMissing {
		t.Fatalf("after failure: %d %q %v", n, data, err)
	}
	d.Reset()
	body, _, err := feedChunked(&d, []byte("5\r\nhello\r\n0\r\n\r\n"))
	if err != nil || string(body) != "hello" || !d.Done() {
		t.Fatalf("after Reset: %q %v done=%v", body, err, d.Done())
	}
}

func TestChunkedConsumesNothingAfterDone(t *testing.T) {
	var d ChunkedDecoder
	if _, _, err := feedChunked(&d, []byte("0\r\n\r\n")); err != nil || !d.Done() {
		t.Fatalf("err %v done %v", err, d.Done())
	}
	n, data, err := d.Decode([]byte("5\r\nhello\r\n"))
	if n != 0 || data != nil || err != nil {
		t.Fatalf("after Done: %d %q %v", n, data, err)
	}
}

func TestChunkedNeedsMoreOnTruncatedInput(t *testing.T) {
	in := "5;a=\"x\"\r\nhello\r\n0\r\nX: y\r\n\r\n"
	for i := 0; i < len(in); i++ {
		var d ChunkedDecoder
		body, rest, err := feedChunked(&d, []byte(in[:i]))
		if err != nil || d.Done() || len(rest) != 0 {
			t.Fatalf("prefix %q: err %v done %v rest %q", in[:i], err, d.Done(), rest)
		}
		if !strings.HasPrefix("hello", string(body)) {
			t.Fatalf("prefix %q: body %q", in[:i], body)
		}
	}
}

func TestChunkedEnforcesLimits(t *testing.T) {
	longExt := "5;" + strings.Repeat("a", DefaultMaxExtBytes) + "\r\nhello\r\n0\r\n\r\n"
	okExt := "5;" + strings.Repeat("a", DefaultMaxExtBytes-1) + "\r\nhello\r\n0\r\n\r\n"
	trailer := func(size int) string { // a trailer section of exactly size bytes
		return "0\r\nX:" + strings.Repeat("v", size-len("X:\r\n\r\n")) + "\r\n\r\n"
	}
	tests := []struct {
		name string
		d    ChunkedDecoder
		in   string
		err  error
	}{
		{"extension at the default limit", ChunkedDecoder{}, okExt, nil},
		{"extension over the default limit", ChunkedDecoder{}, longExt, ErrChunkLineTooLong},
		{"extension over a custom limit", ChunkedDecoder{MaxExtBytes: 4}, "5;abcd\r\nhello\r\n0\r\n\r\n", ErrChunkLineTooLong},
		{"extension at a custom limit", ChunkedDecoder{MaxExtBytes: 4}, "5;abc\r\nhello\r\n0\r\n\r\n", nil},
		{"leading zeros use the extension budget", ChunkedDecoder{MaxExtBytes: 4}, strings.Repeat("0", 20) + "5\r\nhello\r\n0\r\n\r\n", ErrChunkLineTooLong},
		{"leading zeros within budget", ChunkedDecoder{MaxExtBytes: 4}, strings.Repeat("0", 19) + "5\r\nhello\r\n0\r\n\r\n", nil},
		{"trailers at the default limit", ChunkedDecoder{}, trailer(DefaultMaxTrailerBytes), nil},
		{"trailers over the default limit", ChunkedDecoder{}, trailer(DefaultMaxTrailerBytes + 1), ErrTrailerTooLarge},
		{"trailers over a custom limit", ChunkedDecoder{MaxTrailerBytes: 10}, trailer(11), ErrTrailerTooLarge},
		{"chunk at max chunk size", ChunkedDecoder{MaxChunkSize: 5}, "5\r\nhello\r\n0\r\n\r\n", nil},
		{"chunk over max chunk size", ChunkedDecoder{MaxChunkSize: 4}, "5\r\nhello\r\n0\r\n\r\n", ErrChunkSizeOverflow},
		{"largest int64 size is accepted as framing", ChunkedDecoder{}, "7fffffffffffffff\r\nabc", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.d
			_, _, err := feedChunked(&d, []byte(tt.in))
			if err != tt.err {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			d = tt.d
			_, _, err = feedChunked(&d, splits([]byte(tt.in))[len(tt.in)]...)
			if err != tt.err {
				t.Fatalf("byte by byte: err %v, want %v", err, tt.err)
			}
		})
	}
}

// consumedBeforeError feeds in whole or byte by byte and returns the bytes consumed until the
// decoder failed, finished or ran out of input.
func consumedBeforeError(d *ChunkedDecoder, in []byte, bytewise bool) (int, error) {
	total := 0
	var buf []byte
	for fed := 0; fed < len(in); {
		k := len(in) - fed
		if bytewise {
			k = 1
		}
		buf = append(buf, in[fed:fed+k]...)
		fed += k
		for {
			n, _, err := d.Decode(buf)
			total += n
			buf = buf[n:]
			if err != nil {
				return total, err
			}
			if n == 0 || d.Done() {
				break
			}
		}
	}
	return total, nil
}

func TestChunkedLimitErrorsStopAtTheSameByteForAnySplit(t *testing.T) {
	tests := []struct {
		name string
		d    ChunkedDecoder
		in   string
		at   int
		err  error
	}{
		{"extension name run", ChunkedDecoder{MaxExtBytes: 8}, "5;abcdefghijkl\r\n", 1 + 8, ErrChunkLineTooLong},
		{"quoted extension run", ChunkedDecoder{MaxExtBytes: 8}, "5;a=\"bcdefghij\"\r\n", 1 + 8, ErrChunkLineTooLong},
		{"trailer value run", ChunkedDecoder{MaxTrailerBytes: 10}, "0\r\nX: abcdefghijkl\r\n\r\n", 3 + 10, ErrTrailerTooLarge},
		{"control byte inside a trailer value run", ChunkedDecoder{}, "0\r\nX: abc\x01def\r\n\r\n", 3 + 6, ErrBadTrailerValue},
		{"control byte inside a quoted run", ChunkedDecoder{}, "1;a=\"bc\x7fd\"\r\n", 7, ErrBadChunkExt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, bytewise := range []bool{false, true} {
				d := tt.d
				at, err := consumedBeforeError(&d, []byte(tt.in), bytewise)
				if err != tt.err || at != tt.at {
					t.Fatalf("bytewise=%v: failed at %d with %v, want %d with %v", bytewise, at, err, tt.at, tt.err)
				}
			}
		})
	}
}

func TestChunkedResetKeepsLimits(t *testing.T) {
	d := ChunkedDecoder{MaxTrailerBytes: 1, MaxExtBytes: 2, MaxChunkSize: 3}
	feedChunked(&d, []byte("1\r\na\r\n"))
	d.Reset()
	if d.MaxTrailerBytes != 1 || d.MaxExtBytes != 2 || d.MaxChunkSize != 3 {
		t.Fatalf("limits lost: %+v", d)
	}
	if d.BodyLen() != 0 || d.Done() || d.HasTrailers() || d.TrailerLen() != 0 {
		t.Fatalf("state kept: %+v", d)
	}
}

func TestChunkedTrailerLenCountsSection(t *testing.T) {
	var d ChunkedDecoder
	_, _, err := feedChunked(&d, []byte("0\r\nA: b\r\n\r\n"))
	if err != nil || d.TrailerLen() != len("A: b\r\n\r\n") {
		t.Fatalf("err %v TrailerLen %d", err, d.TrailerLen())
	}
}

func TestChunkEncoderRoundTrips(t *testing.T) {
	var wire []byte
	var want []byte
	for _, size := range []int{1, 9, 10, 15, 16, 255, 256, 4096, 70000} {
		chunk := bytes.Repeat([]byte{byte(size)}, size)
		want = append(want, chunk...)
		wire = AppendChunk(wire, chunk)
	}
	wire = AppendChunk(wire, nil) // must not end the body
	wire = AppendLastChunk(wire)
	var d ChunkedDecoder
	body, rest, err := feedChunked(&d, wire)
	if err != nil || !d.Done() || len(rest) != 0 || !bytes.Equal(body, want) {
		t.Fatalf("err %v done %v rest %d body equal %v", err, d.Done(), len(rest), bytes.Equal(body, want))
	}
}

func TestChunkHeaderFormats(t *testing.T) {
	tests := []struct {
		size int
		want string
	}{
		{1, "1\r\n"},
		{10, "a\r\n"},
		{255, "ff\r\n"},
		{4096, "1000\r\n"},
		{0, ""},  // a zero size line would be the last-chunk
		{-1, ""}, // nonsense sizes write nothing
	}
	for _, tt := range tests {
		if got := string(AppendChunkHeader([]byte("x"), tt.size)); got != "x"+tt.want {
			t.Errorf("AppendChunkHeader(%d) = %q, want %q", tt.size, got, "x"+tt.want)
		}
	}
	if got := string(AppendLastChunk(nil)); got != "0\r\n\r\n" {
		t.Errorf("AppendLastChunk = %q", got)
	}
}
