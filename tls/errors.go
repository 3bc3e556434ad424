package tlsterm

import "errors"

// Errors returned by this package; wrapped with the file or name that caused them.
var (
	ErrNoCertificates = errors.New("tls: no certificates configured")
	ErrBadCertificate = errors.New("tls: certificate refused")
	ErrBadCA          = errors.New("tls: CA bundle holds no PEM certificate")
	ErrPlainHTTP      = errors.New("tls: plain HTTP on a TLS port")
	ErrNotTLS         = errors.New("tls: first byte is not a TLS handshake record")
	ErrClientAuth     = errors.New("tls: unknown client_auth")
	ErrMinVersion     = errors.New("tls: min_version must be 1.2 or 1.3")
)
