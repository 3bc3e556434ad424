package config

import (
	"reflect"
	"testing"
)

const tlsListener = `listen:
  - address: 127.0.0.1:8443
    tls:
      cert: a.crt
      key: a.key
      certs:
        - { cert: b.crt, key: b.key }
      client_auth: required
      client_ca: ca.pem
      min_version: "1.3"
      handshake_timeout: 3s
      ticket_rotation: 10m
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
    tls: { server_name: users.internal, ca: up.pem, client_cert: c.crt, client_key: c.key }
routes:
  - match: { path_prefix: / }
    upstream: users
`

func TestTLSSectionsDecodeEveryField(t *testing.T) {
	c := mustParse(t, tlsListener)
	want := &ListenerTLS{
		Certs:      []CertKey{{"a.crt", "a.key"}, {"b.crt", "b.key"}},
		ClientCA:   "ca.pem",
		ClientAuth: "required", MinVersion: "1.3",
		HandshakeTimeout: Duration(3e9), TicketRotation: Duration(600e9),
	}
	if !reflect.DeepEqual(c.Listen[0].TLS, want) {
		t.Errorf("listener tls = %+v", c.Listen[0].TLS)
	}
	up := &UpstreamTLS{ServerName: "users.internal", CA: "up.pem", ClientCert: "c.crt", ClientKey: "c.key"}
	if !reflect.DeepEqual(c.Upstreams[0].TLS, up) {
		t.Errorf("upstream tls = %+v", c.Upstreams[0].TLS)
	}
	roundTrip(t, c)
}

func TestTLSListenerDefaults(t *testing.T) {
	c := mustParse(t, `listen:
  - address: 127.0.0.1:8443
    tls: { cert: a.crt, key: a.key }
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
routes:
  - match: { path_prefix: / }
    upstream: users
`)
	got := c.Listen[0].TLS
	if got.ClientAuth != "none" || got.MinVersion != "1.2" || got.HandshakeTimeout != DefaultHandshakeTimeout || got.TicketRotation != DefaultTicketRotation {
		t.Errorf("defaults: %+v", got)
	}
	if c.Upstreams[0].TLS != nil {
		t.Error("an upstream without tls got a TLS section")
	}
	roundTrip(t, c)
}

func TestTLSErrorsPointAtTheirNode(t *testing.T) {
	tlsBase := func(body string) string {
		return "listen:\n  - address: 127.0.0.1:8443\n    tls:\n" + body + base[len("listen:\n  - address: 127.0.0.1:8080\n"):]
	}
	runErrorCases(t, []errorCase{
		{name: "no certificate", src: tlsBase("      min_version: \"1.2\"\n"), at: "min_version", path: "listen[0].tls", msg: "at least one certificate is required"},
		{name: "cert without key", src: tlsBase("      cert: a.crt\n"), at: "cert: a", path: "listen[0].tls", msg: "cert and key go together"},
		{name: "certs entry without key", src: tlsBase("      certs:\n        - cert: a.crt\n"), at: "cert: a", path: "listen[0].tls.certs[0]", msg: "needs both cert and key"},
		{name: "unknown client_auth", src: tlsBase("      cert: a.crt\n      key: a.key\n      client_auth: sometimes\n"), at: "sometimes", path: "listen[0].tls.client_auth", msg: "allowed: none, optional, required"},
		{name: "client_auth without client_ca", src: tlsBase("      cert: a.crt\n      key: a.key\n      client_auth: required\n"), at: "required", path: "listen[0].tls.client_auth", msg: "needs client_ca"},
		{name: "client_ca without client_auth", src: tlsBase("      cert: a.crt\n      key: a.key\n      client_ca: ca.pem\n"), at: "ca.pem", path: "listen[0].tls.client_ca", msg: "used only with client_auth"},
		{name: "TLS 1.1", src: tlsBase("      cert: a.crt\n      key: a.key\n      min_version: \"1.1\"\n"), at: "\"1.1\"", path: "listen[0].tls.min_version", msg: "allowed: 1.2, 1.3"},
		{name: "ticket rotation too fast", src: tlsBase("      cert: a.crt\n      key: a.key\n      ticket_rotation: 1s\n"), at: "1s", path: "listen[0].tls.ticket_rotation", msg: ""},
		{name: "unknown field", src: tlsBase("      cert: a.crt\n      key: a.key\n      ciphers: all\n"), at: "ciphers", path: "listen[0].tls.ciphers", msg: "unknown field"},
	})
	runErrorCases(t, []errorCase{
		{name: "upstream client_cert without key", src: upstreamTLS("{ client_cert: c.crt }"), at: "{ client_cert", path: "upstreams.users.tls", msg: "client_cert and client_key go together"},
		{name: "upstream insecure_skip_verify not a bool", src: upstreamTLS("{ insecure_skip_verify: maybe }"), at: "maybe", path: "upstreams.users.tls.insecure_skip_verify", msg: "allowed: true, false"},
		{name: "upstream server_name with a path", src: upstreamTLS("{ server_name: a/b }"), at: "a/b", path: "upstreams.users.tls.server_name", msg: "not a host name"},
	})
}

func upstreamTLS(flow string) string {
	return `listen:
  - address: 127.0.0.1:8080
upstreams:
  users:
    targets:
      - address: 127.0.0.1:9001
    tls: ` + flow + `
routes:
  - match: { path_prefix: / }
    upstream: users
`
}
