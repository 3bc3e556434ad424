package tlsterm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testCA signs certificates generated in the test.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
	pem  []byte
}

var serial struct {
	sync.Mutex
	n int64
}

func nextSerial() *big.Int {
	serial.Lock()
	defer serial.Unlock()
	serial.n++
	return big.NewInt(serial.n)
}

func newCA(t testing.TB, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

type leafSpec struct {
	names    []string
	rsa      bool
	client   bool
	cn       string
	ocspURL  string
	ocspURLs []string // several responders, in order (ocspURL is the one-responder shorthand)
	notAfter time.Time
}

var rsaKey struct {
	sync.Once
	k *rsa.PrivateKey
}

// issue writes a chain (leaf, CA) and key into dir and returns the file names.
func (ca *testCA) issue(t testing.TB, dir, base string, s leafSpec) CertFiles {
	t.Helper()
	var key crypto.Signer
	if s.rsa {
		rsaKey.Do(func() { rsaKey.k, _ = rsa.GenerateKey(rand.Reader, 2048) })
		key = rsaKey.k
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key = k
	}
	na := s.notAfter
	if na.IsZero() {
		na = time.Now().Add(12 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: s.cn, Organization: []string{"Sluice Test"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if s.rsa {
		tmpl.KeyUsage |= x509.KeyUsageKeyEncipherment
	}
	if s.client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	for _, n := range s.names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	if len(s.ocspURLs) > 0 {
		tmpl.OCSPServer = s.ocspURLs
	}
	if s.ocspURL != "" {
		tmpl.OCSPServer = []string{s.ocspURL}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := CertFiles{Cert: filepath.Join(dir, base+".crt"), Key: filepath.Join(dir, base+".key")}
	chain := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca.pem...)
	writeFile(t, f.Cert, chain)
	writeFile(t, f.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}))
	return f
}

func (ca *testCA) writePEM(t testing.TB, file string) string {
	writeFile(t, file, ca.pem)
	return file
}

// writeFile replaces file atomically (as certificate tooling does) and moves its mtime
// forward, so a poller sees the change even within the file system's time granularity.
func writeFile(t testing.TB, file string, b []byte) {
	t.Helper()
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(file); err == nil {
		mt := fi.ModTime().Add(time.Duration(nextSerial().Int64()) * time.Second)
		_ = os.Chtimes(file, mt, mt)
	}
}
