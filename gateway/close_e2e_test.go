package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
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

// TestProxyMaxConnectionsAnswers503: over http.max_connections a new connection gets a short
// 503 and is closed; once one leaves, a new one is served.
func TestProxyMaxConnectionsAnswers503(t *testing.T) {
	eachBackend(t, func(t *testing.T, engine string) {
		up := startHTTPUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		g, addr := startGateway(t, engine, "http:\n  max_connections: 2\n"+oneUpstream("", up.Addr))
		// startGateway's listening probe counts until the gateway has seen it close. One
		// listener accepts in order, so once a is served the probe was accepted too: wait for
		// it to be counted out before b takes the last place.
		a := dial(t, addr)
		if resp, _ := a.get("/in"); resp.StatusCode != 200 {
			t.Fatalf("within the limit: %d", resp.StatusCode)
		}
		waitUntil(t, func() bool { return g.Connections() == 1 })
		b := dial(t, addr)
		if resp, _ := b.get("/in"); resp.StatusCode != 200 {
			t.Fatalf("within the limit: %d", resp.StatusCode)
		}
		over := dial(t, addr)
		if got := over.expectClosed(); !strings.HasPrefix(got, "HTTP/1.1 503 ") || !strings.Contains(got, "X-Sluice-Error: too many connections") {
			t.Fatalf("over the limit: %q", got)
		}
		a.c.Close()
		waitUntil(t, func() bool {
			c := dial(t, addr)
			c.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n")
			resp, err := http.ReadResponse(c.br, nil)
			return err == nil && resp.StatusCode == 200
		})
	})
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met in 5s")
}
