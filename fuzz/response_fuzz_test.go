//go:build !race

package fuzz

import (
	"bytes"
	"testing"

	"github.com/sluice-gw/sluice/http1"
)

// FuzzParseResponse asserts that ParseResponse never allocates once warmed up, never panics,
// and gives the same answer whole or split at any offset.
func FuzzParseResponse(f *testing.F) {
	for _, s := range responseSeeds {
		f.Add([]byte(s), uint16(len(s)/2))
	}
	var warm http1.Response
	warm.Limits.MaxHeaders = 64
	http1.ParseResponse([]byte(responseSeeds[0]), &warm)
	f.Fuzz(func(t *testing.T, in []byte, split uint16) {
		r := &warm
		var n int
		var err error
		if allocs := testing.AllocsPerRun(1, func() { r.Reset(); n, err = http1.ParseResponse(in, r) }); allocs != 0 {
			// The field slice may grow once for a head with more fields than any before.
			if allocs = testing.AllocsPerRun(1, func() { r.Reset(); http1.ParseResponse(in, r) }); allocs != 0 {
				t.Fatalf("ParseResponse(%q) allocates %v times", in, allocs)
			}
		}
		if err == nil {
			if n > len(in) || !bytes.HasSuffix(in[:n], []byte("\r\n\r\n")) || r.Status() < 100 || r.Status() > 999 {
				t.Fatalf("accepted %q: n=%d status %d", in, n, r.Status())
			}
			if f := r.Framing(http1.MethodGet); f == http1.FramingLength && r.ContentLength() < 0 {
				t.Fatal("length framing without a length")
			}
		} else if _, ok := err.(*http1.Error); !ok && err != http1.ErrNeedMore {
			t.Fatalf("error %v is not an *http1.Error", err)
		}

		var s http1.Response
		k := int(split) % (len(in) + 1)
		_, e1 := http1.ParseResponse(in[:k], &s)
		if e1 == nil {
			return
		}
		if e1 != http1.ErrNeedMore {
			if e1 != err {
				t.Fatalf("split at %d: prefix error %v, whole %v", k, e1, err)
			}
			return
		}
		m, e2 := http1.ParseResponse(in, &s)
		if e2 != err || m != n {
			t.Fatalf("split at %d of %q: (%d, %v), whole (%d, %v)", k, in, m, e2, n, err)
		}
	})
}
