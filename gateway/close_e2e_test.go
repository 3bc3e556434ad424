package gateway

import (
	"fmt"
	"net/http"
	"testing"
)

// TestProxyConnectionCloseRequestsInARow: clients that ask to close after each answer, one
// after another, each get their answer, whether they wait for the gateway's close or close
// first as curl does. (A recycled per-request state once kept the last answer's flags and
// hung every request after the first.)
func TestProxyConnectionCloseRequestsInARow(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		_, addr := startGateway(t, engine, oneUpstream("", up.Addr))
		for i := 0; i < 20; i++ {
			c := dial(t, addr)
			c.send(fmt.Sprintf("GET /c/%d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", i))
			resp, _ := c.read("GET")
			if resp.StatusCode != 200 || !resp.Close {
				t.Fatalf("request %d: %d close=%v", i, resp.StatusCode, resp.Close)
			}
			if i%2 == 0 {
				c.expectClosed()
			} else {
				c.c.Close()
			}
		}
	})
}
