package tlsterm

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// BenchmarkGetCertificate is the per-handshake SNI lookup (exact, wildcard, default).
func BenchmarkGetCertificate(b *testing.B) {
	fx := newFixture(b)
	var st Store
	if err := st.Load(fx.opts().Certs, time.Now()); err != nil {
		b.Fatal(err)
	}
	hellos := []*tls.ClientHelloInfo{{ServerName: "api.example.test"}, {ServerName: "x.wild.test"}, {ServerName: "other.test"}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := st.GetCertificate(hellos[i%len(hellos)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFullHandshakeECDSAP256 is one full TLS 1.3 handshake (X25519, ECDSA P-256, no
// resumption), client and server both in the process over a pipe: half of it is the server.
func BenchmarkFullHandshakeECDSAP256(b *testing.B) { benchHandshake(b, false) }

// BenchmarkResumedHandshake is a TLS 1.3 handshake resumed from a session ticket.
func BenchmarkResumedHandshake(b *testing.B) { benchHandshake(b, true) }

func benchHandshake(b *testing.B, resume bool) {
	fx := newFixture(b)
	term, err := New(Options{Certs: []CertFiles{fx.def}, PollInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer term.Close()
	cc := fx.client("default.test")
	if resume {
		cc.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	}
	one := func() bool {
		c1, c2 := net.Pipe()
		done := make(chan error, 1)
		go func() {
			s := tls.Server(c2, term.Config())
			err := s.Handshake()
			if err == nil {
				_, err = s.Write([]byte{1}) // carries the TLS 1.3 ticket with it
			}
			done <- err
		}()
		c := tls.Client(c1, cc)
		if err := c.Handshake(); err != nil {
			b.Fatal(err)
		}
		var one [1]byte
		if _, err := c.Read(one[:]); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		resumed := c.ConnectionState().DidResume
		c1.Close()
		c2.Close()
		return resumed
	}
	one()
	b.ReportAllocs()
	for b.Loop() {
		if one() != resume {
			b.Fatalf("DidResume != %v", resume)
		}
	}
}
