//go:build !race

package http1

import "testing"

// The per-request hot path allocates nothing once a Request's field slice has grown.
func TestParseRequestDoesNotAllocate(t *testing.T) {
	for _, head := range [][]byte{benchBrowserRequest, benchAPIRequest} {
		var r Request
		n := testing.AllocsPerRun(200, func() {
			if _, err := ParseRequest(head, &r); err != nil {
				t.Fatal(err)
			}
			_ = r.Peek("user-agent")
			_ = r.ConnectionHas("keep-alive")
			_ = r.Host()
		})
		if n != 0 {
			t.Fatalf("ParseRequest allocates %v times per run", n)
		}
	}
}

func TestParseRequestIncrementalDoesNotAllocate(t *testing.T) {
	head := benchBrowserRequest
	var r Request
	n := testing.AllocsPerRun(50, func() {
		r.Reset()
		for k := 1; k <= len(head); k += 7 {
			if _, err := ParseRequest(head[:k], &r); err != nil && err != ErrNeedMore {
				t.Fatal(err)
			}
		}
		if _, err := ParseRequest(head, &r); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("incremental ParseRequest allocates %v times per run", n)
	}
}

func TestParseResponseDoesNotAllocate(t *testing.T) {
	var r Response
	n := testing.AllocsPerRun(200, func() {
		if _, err := ParseResponse(benchResponse, &r); err != nil {
			t.Fatal(err)
		}
		_ = r.Framing(MethodGet)
		_ = r.Peek("etag")
	})
	if n != 0 {
		t.Fatalf("ParseResponse allocates %v times per run", n)
	}
}

func TestParseErrorsDoNotAllocate(t *testing.T) {
	bad := []byte("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
	var r Request
	n := testing.AllocsPerRun(200, func() {
		if _, err := ParseRequest(bad, &r); err != ErrContentLengthAndTransferEncoding {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Fatalf("a rejected request allocates %v times per run", n)
	}
}
