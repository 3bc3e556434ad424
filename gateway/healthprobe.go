package gateway

import (
	"errors"
	"fmt"
	"time"

	"github.com/cloudwego/netpoll"

	"github.com/sluice-gw/sluice/http1"
)

// An active health check is one GET on a fresh connection whose status line decides. It runs
// on netpoll, which is what netpoll is best at here: a dialer with a timeout and a nocopy
// reader, so the response head is parsed in place in netpoll's buffer by the same strict
// parser the proxy path uses (a target whose answers the proxy would refuse as malformed
// fails its check too), with no http.Client machinery per check. netpoll's poller starts with
// the first check; a gateway without health checks never runs it.

// probeHeadMax bounds the response head a check reads; a bigger one fails the check.
const probeHeadMax = 16 << 10

// probeBodyMax: a body up to this size that is announced by Content-Length is read before
// closing, so that a small target is not reset in the middle of writing it.
const probeBodyMax = 4 << 10

var errProbeHeadTooBig = fmt.Errorf("health check: response head over %d bytes", probeHeadMax)

// probeRequest is the check's request head.
func probeRequest(host, path string) []byte {
	b := make([]byte, 0, 96+len(host)+len(path))
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	b = append(b, "\r\nUser-Agent: sluice-health-check\r\nConnection: close\r\n\r\n"...)
	return b
}

// probeHTTP sends req to addr and returns the final response status. The whole check
// (connect, write, head) is bounded by timeout; a close of stop ends it at once.
func probeHTTP(addr string, req []byte, timeout time.Duration, stop <-chan struct{}) (int, error) {
	deadline := time.Now().Add(timeout)
	conn, err := netpoll.DialConnection("tcp", addr, timeout)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-stop:
			conn.Close() // a blocked read returns at once
		case <-done:
		}
	}()
	left := time.Until(deadline)
	if left <= 0 {
		return 0, errors.New("health check: timed out connecting")
	}
	_ = conn.SetReadTimeout(left)
	_ = conn.SetWriteTimeout(left)
	w := conn.Writer()
	if _, err := w.WriteBinary(req); err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	r := conn.Reader()
	var resp http1.Response
	for want := 1; ; {
		if _, err := r.Peek(want); err != nil {
			return 0, err
		}
		p, err := r.Peek(r.Len())
		if err != nil {
			return 0, err
		}
		n, err := http1.ParseResponse(p, &resp)
		switch {
		case errors.Is(err, http1.ErrNeedMore):
			if len(p) >= probeHeadMax {
				return 0, errProbeHeadTooBig
			}
			want = len(p) + 1
			continue
		case err != nil:
			return 0, err
		}
		status := resp.Status()
		if status >= 100 && status < 200 && status != 101 {
			// An interim answer (100 Continue, 103 Early Hints): the final one follows.
			if err := r.Skip(n); err != nil {
				return 0, err
			}
			_ = r.Release()
			resp.Reset()
			want = 1
			continue
		}
		if cl := resp.ContentLength(); cl > 0 && cl <= probeBodyMax && r.Len() < n+int(cl) {
			_, _ = r.Peek(n + int(cl)) // best effort; the status already decided
		}
		return status, nil
	}
}
