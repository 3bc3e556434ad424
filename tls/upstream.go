package tlsterm

import (
	"crypto/tls"
	"fmt"
)

// UpstreamOptions configure TLS towards one upstream.
type UpstreamOptions struct {
	// ServerName is sent as SNI and verified against the certificate; "" means the target's
	// host.
	ServerName string
	// CA is a PEM bundle of the upstream's CAs; "" means the system roots.
	CA string
	// ClientCert and ClientKey, when set, are presented to the upstream (mTLS).
	ClientCert, ClientKey string
	// InsecureSkipVerify turns certificate verification off. Never the default.
	InsecureSkipVerify bool
}

// ClientConfig builds the tls.Config for dialing an upstream: TLS 1.2+, verification on
// unless asked otherwise, HTTP/1.1 by ALPN, and a session cache so that reconnects resume.
func ClientConfig(o UpstreamOptions) (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         o.ServerName,
		CipherSuites:       suites12,
		CurvePreferences:   curves,
		NextProtos:         []string{"http/1.1"},
		InsecureSkipVerify: o.InsecureSkipVerify,
		ClientSessionCache: tls.NewLRUClientSessionCache(256),
	}
	if o.CA != "" {
		p, err := LoadCAs(o.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		c.RootCAs = p
	}
	if (o.ClientCert == "") != (o.ClientKey == "") {
		return nil, fmt.Errorf("%w: client_cert and client_key go together", ErrBadCertificate)
	}
	if o.ClientCert != "" {
		kp, err := tls.LoadX509KeyPair(o.ClientCert, o.ClientKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %s / %s: %v", ErrBadCertificate, o.ClientCert, o.ClientKey, err)
		}
		c.Certificates = []tls.Certificate{kp}
	}
	return c, nil
}
