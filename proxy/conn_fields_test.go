package proxy

import (
	"strings"
	"testing"

	"github.com/sluice-gw/sluice/http1"
)

func TestSessionConnFieldsGoUpstreamAndReplaceTheClients(t *testing.T) {
	s, f := newTestSession(t)
	s.SetConnFields([]http1.Field{{Name: []byte("X-Client-Cert-Subject"), Value: []byte("CN=alice")}})
	for i, id := range []string{"", "X-Request-ID: client-id-1\r\n"} {
		f.feedClient(s, "GET /x HTTP/1.1\r\nHost: a.test\r\nX-Client-Cert-Subject: CN=forged\r\n"+id+"\r\n")
		f.readyAndAnswer(t, s, false, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		sent := f.takeUpOut()
		if strings.Contains(sent, "forged") || strings.Count(sent, "X-Client-Cert-Subject: CN=alice\r\n") != 1 {
			t.Fatalf("request %d: upstream got %q", i+1, sent)
		}
		if !strings.Contains(sent, "X-Request-Id: ") && !strings.Contains(sent, "X-Request-ID: ") {
			t.Fatalf("request %d: the connection's fields displaced the request ID: %q", i+1, sent)
		}
		f.acquires = f.acquires[:0]
	}
}
