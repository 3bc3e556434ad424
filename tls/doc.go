// Package tlsterm terminates TLS at the edge with crypto/tls (never a fork): a certificate
// store chosen by SNI (exact names, wildcards, a default; ECDSA and RSA side by side), TLS 1.2
// and 1.3 only, session tickets whose keys rotate, OCSP stapling fetched off the hot path, hot
// reload of certificate files, client certificates per listener, and the upstream side's
// client configuration. Handshakes run on the connection's own goroutine, never on a loop.
package tlsterm
