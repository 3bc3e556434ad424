//go:build !race

package fuzz

import (
	"bytes"
	"testing"

	"github.com/sluice-gw/sluice/http1"
)

// FuzzParseRequest asserts that ParseRequest never allocates once warmed up, never panics, and
// gives the same answer whether the head arrives whole or split at any offset.
func FuzzParseRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	var warm http1.Request
	warm.Limits.MaxHeaders = 64
	for range 2 {
		http1.ParseRequest([]byte(requestSeeds[6]), &warm) // grow the field slice once
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		r := &warm
		var n int
		var err error
		if allocs := testing.AllocsPerRun(1, func() { r.Reset(); n, err = http1.ParseRequest(in, r) }); allocs != 0 {
			// The field slice may grow once for a head with more fields than any before.
			if allocs = testing.AllocsPerRun(1, func() { r.Reset(); http1.ParseRequest(in, r) }); allocs != 0 {
				t.Fatalf("ParseRequest(%q) allocates %v times", in, allocs)
			}
		}
		checkRequestView(t, in, n, err, r)

		var s http1.Request
		k := int(split) % (len(in) + 1)
		_, e1 := http1.ParseRequest(in[:k], &s)
		m, e2 := http1.ParseRequest(in, &s)
		if e1 != nil && e1 != http1.ErrNeedMore {
			if e1 != err {
				t.Fatalf("split at %d: prefix error %v, whole %v", k, e1, err)
			}
			return
		}
		if e1 == nil {
			// the prefix held a whole head: the whole input parses the same head again
			return
		}
		if e2 != err || m != n {
			t.Fatalf("split at %d of %q: (%d, %v), whole (%d, %v)", k, in, m, e2, n, err)
		}
		if err == nil && (!bytes.Equal(s.Bytes(), r.Bytes()) || s.NumHeaders() != r.NumHeaders() || s.Framing() != r.Framing()) {
			t.Fatalf("split at %d: different view", k)
		}
	})
}

// checkRequestView checks the invariants of an accepted request.
func checkRequestView(t *testing.T, in []byte, n int, err error, r *http1.Request) {
	t.Helper()
	if err != nil {
		if _, ok := err.(*http1.Error); !ok && err != http1.ErrNeedMore {
			t.Fatalf("error %v is not an *http1.Error", err)
		}
		return
	}
	if n < 16 || n > len(in) || !bytes.HasSuffix(in[:n], []byte("\r\n\r\n")) || r.HeadLen() != n {
		t.Fatalf("head length %d of %q", n, in)
	}
	if bytes.Count(in[:n], []byte("\n")) != bytes.Count(in[:n], []byte("\r\n")) {
		t.Fatalf("accepted a bare LF in %q", in[:n])
	}
	switch r.Framing() {
	case http1.FramingLength:
		if r.ContentLength() < 0 {
			t.Fatal("length framing without a length")
		}
	case http1.FramingChunked:
		if r.ContentLength() != -1 {
			t.Fatal("chunked with a Content-Length")
		}
	case http1.FramingClose:
		t.Fatal("a request is never close-delimited")
	}
	if r.Minor() == 1 && r.Peek("host") == nil {
		t.Fatal("HTTP/1.1 without Host accepted")
	}
	for i := 0; i < r.NumHeaders(); i++ {
		v := r.Value(i)
		if bytes.ContainsAny(v, "\r\n\x00") || len(r.Name(i)) == 0 {
			t.Fatalf("field %d: %q: %q", i, r.Name(i), v)
		}
	}
}
