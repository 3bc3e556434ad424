package tlsterm

import (
	"crypto/tls"
	"testing"
	"time"
)

// FuzzGetCertificate: any SNI name (RFC 6066 3 allows a client to send anything) gets a
// certificate from the store, never a panic, and a name the store holds exactly gets its own.
func FuzzGetCertificate(f *testing.F) {
	fx := newFixture(f)
	var st Store
	if err := st.Load(fx.opts().Certs, time.Now()); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "api.example.test", "API.EXAMPLE.TEST.", "a.wild.test", "wild.test", ".wild.test",
		"*.wild.test", "..", ".", "a..b", "127.0.0.1", "\x00", "xn--nxasmq6b.test", "a.b.c.d.e.f.wild.test"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		hello := &tls.ClientHelloInfo{ServerName: name, SupportedVersions: []uint16{tls.VersionTLS13},
			SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256},
			SupportedCurves:  []tls.CurveID{tls.X25519, tls.CurveP256}}
		c, err := st.GetCertificate(hello)
		if err != nil || c == nil {
			t.Fatalf("%q: no certificate (%v)", name, err)
		}
		if name == "api.example.test" && c.Leaf.DNSNames[0] != name {
			t.Fatalf("exact name served %v", c.Leaf.DNSNames)
		}
	})
}
