package config

import (
	"strconv"

	"gopkg.in/yaml.v3"
)

// TLS schema: listener termination (listen[].tls) and TLS to upstreams (upstreams.X.tls). Kept
// apart from decode.go so that the sections can grow without touching the core schema. The
// files are not read here: the gateway loads them (and refuses broken ones with an error
// naming the file) on start, on every reload and when they change on disk.

// ListenerTLS terminates TLS on a listener. Cert/Key and Certs together list the certificates;
// the first is the default for clients that send no SNI or an unknown name.
type ListenerTLS struct {
	Certs            []CertKey // cert+key, then certs: [{cert, key}]
	ClientCA         string    // client_ca: PEM bundle verifying client certificates
	ClientAuth       string    // client_auth: none (default), optional or required
	MinVersion       string    // min_version: "1.2" (default) or "1.3"
	HandshakeTimeout Duration  // handshake_timeout: first byte and whole handshake
	TicketRotation   Duration  // ticket_rotation: how often a new session ticket key starts
}

// CertKey names a PEM certificate chain and its key.
type CertKey struct {
	Cert string // cert
	Key  string // key
}

// UpstreamTLS makes the gateway speak TLS to an upstream's targets.
type UpstreamTLS struct {
	ServerName         string // server_name: SNI and the name verified; "" = the target's host
	CA                 string // ca: PEM bundle; "" = the system roots
	ClientCert         string // client_cert: presented to the upstream (with client_key)
	ClientKey          string // client_key
	InsecureSkipVerify bool   // insecure_skip_verify: false (default) verifies the certificate
}

// TLS defaults; docs/config.md lists the same values.
const (
	DefaultHandshakeTimeout = Duration(10e9)
	DefaultTicketRotation   = Duration(3600e9)
)

func (d *configDecoder) listenerTLS(l *Listener, n *yaml.Node, path string) {
	t := &ListenerTLS{ClientAuth: "none", MinVersion: "1.2", HandshakeTimeout: DefaultHandshakeTimeout, TicketRotation: DefaultTicketRotation}
	var single CertKey
	var caNode, authNode *yaml.Node
	errsBefore := len(d.errs)
	seen := d.fields(n, path, fieldDecoders{
		"cert": func(v *yaml.Node, p string) { single.Cert, _ = d.str(v, p) },
		"key":  func(v *yaml.Node, p string) { single.Key, _ = d.str(v, p) },
		"certs": func(v *yaml.Node, p string) {
			items, ok := d.list(v, p)
			if !ok {
				return
			}
			for i, it := range items {
				var ck CertKey
				ip := index(p, i)
				s := d.fields(it, ip, fieldDecoders{
					"cert": func(v *yaml.Node, p string) { ck.Cert, _ = d.str(v, p) },
					"key":  func(v *yaml.Node, p string) { ck.Key, _ = d.str(v, p) },
				})
				if s == nil {
					continue
				}
				if s["cert"] == nil || s["key"] == nil {
					d.errorf(it, ip, "a certificate needs both cert and key")
					continue
				}
				t.Certs = append(t.Certs, ck)
			}
		},
		"client_ca": func(v *yaml.Node, p string) {
			caNode = deref(v)
			t.ClientCA, _ = d.str(v, p)
		},
		"client_auth": func(v *yaml.Node, p string) {
			authNode = deref(v)
			if s, ok := d.enum(v, p, "none", "optional", "required"); ok {
				t.ClientAuth = s
			}
		},
		"min_version": func(v *yaml.Node, p string) {
			if s, ok := d.enum(v, p, "1.2", "1.3"); ok {
				t.MinVersion = s
			}
		},
		"handshake_timeout": d.durationTo(&t.HandshakeTimeout, 1, 0),
		"ticket_rotation":   d.durationTo(&t.TicketRotation, Duration(60e9), 0),
	})
	if seen == nil {
		return
	}
	switch {
	case (seen["cert"] == nil) != (seen["key"] == nil):
		d.errorf(deref(n), path, "cert and key go together")
	case seen["cert"] != nil:
		t.Certs = append([]CertKey{single}, t.Certs...)
	}
	if len(t.Certs) == 0 && len(d.errs) == errsBefore {
		d.errorf(deref(n), path, "at least one certificate is required (cert and key, or certs)")
	}
	if t.ClientAuth != "none" && t.ClientCA == "" {
		at := authNode
		if at == nil {
			at = deref(n)
		}
		d.errorf(at, field(path, "client_auth"), "client_auth %s needs client_ca", t.ClientAuth)
	}
	if t.ClientAuth == "none" && caNode != nil {
		d.errorf(caNode, field(path, "client_ca"), "client_ca is used only with client_auth optional or required")
	}
	l.TLS = t
}

// upstreamTLSDecoders adds the tls field to an upstream's decoders.
func (d *configDecoder) upstreamTLSDecoders(u *Upstream, fd fieldDecoders) {
	fd["tls"] = func(n *yaml.Node, path string) {
		t := &UpstreamTLS{}
		seen := d.fields(n, path, fieldDecoders{
			"server_name": func(v *yaml.Node, p string) {
				s, ok := d.str(v, p)
				if !ok {
					return
				}
				if err := checkServerName(s); err != nil {
					d.errorf(deref(v), p, "%v", err)
					return
				}
				t.ServerName = s
			},
			"ca":          func(v *yaml.Node, p string) { t.CA, _ = d.str(v, p) },
			"client_cert": func(v *yaml.Node, p string) { t.ClientCert, _ = d.str(v, p) },
			"client_key":  func(v *yaml.Node, p string) { t.ClientKey, _ = d.str(v, p) },
			"insecure_skip_verify": func(v *yaml.Node, p string) {
				if s, ok := d.enum(v, p, "true", "false"); ok {
					t.InsecureSkipVerify = s == "true"
				}
			},
		})
		if seen == nil {
			return
		}
		if (seen["client_cert"] == nil) != (seen["client_key"] == nil) {
			d.errorf(deref(n), path, "client_cert and client_key go together")
		}
		u.TLS = t
	}
}

// checkServerName accepts a DNS name or an IP literal (sent as no SNI, verified as an IP SAN).
func checkServerName(s string) error {
	if s == "" {
		return errorString("server_name must not be empty (leave it out to use the target's host)")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == ':') {
			return errorString("server_name " + quote(s) + " is not a host name")
		}
	}
	return nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func quote(s string) string { return "\"" + s + "\"" }

func (t *ListenerTLS) format() *yaml.Node {
	var certs []*yaml.Node
	for _, c := range t.Certs {
		certs = append(certs, mapping("cert", str(c.Cert), "key", str(c.Key)))
	}
	m := mapping("certs", seq(certs...))
	if t.ClientAuth != "none" {
		add(m, "client_ca", str(t.ClientCA))
	}
	add(m,
		"client_auth", str(t.ClientAuth),
		"min_version", str(t.MinVersion),
		"handshake_timeout", str(t.HandshakeTimeout.String()),
		"ticket_rotation", str(t.TicketRotation.String()),
	)
	return m
}

// formatUpstreamTLS adds an upstream's tls mapping, when it has one.
func formatUpstreamTLS(m *yaml.Node, u *Upstream) {
	t := u.TLS
	if t == nil {
		return
	}
	body := mapping()
	if t.ServerName != "" {
		add(body, "server_name", str(t.ServerName))
	}
	if t.CA != "" {
		add(body, "ca", str(t.CA))
	}
	if t.ClientCert != "" {
		add(body, "client_cert", str(t.ClientCert), "client_key", str(t.ClientKey))
	}
	add(body, "insecure_skip_verify", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t.InsecureSkipVerify)})
	add(m, "tls", body)
}
