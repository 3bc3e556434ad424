package tlsterm

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"sync/atomic"
	"time"
)

// CertFiles names one certificate chain (leaf first) and its private key, PEM encoded.
type CertFiles struct {
	Cert string
	Key  string
}

// entry is one loaded certificate. cur is swapped whole when a fresh OCSP staple arrives, so a
// handshake reading it never sees a half-updated certificate.
type entry struct {
	files  CertFiles
	leaf   *x509.Certificate
	issuer *x509.Certificate // chain[1] when present: needed to ask for and check OCSP
	ecdsa  bool
	cur    atomic.Pointer[tls.Certificate]
}

// certSet is one generation of the store: read-only once built, replaced whole on reload.
type certSet struct {
	exact map[string][]*entry // lower-case DNS name -> certificates, ECDSA first
	wild  map[string][]*entry // "example.com" for *.example.com
	def   []*entry            // the first configured certificate and any sharing its names
	all   []*entry
}

// Store picks the certificate for each handshake by SNI. Safe for concurrent use: handshakes
// read the current set through one atomic pointer; Load swaps in a new one.
type Store struct {
	set atomic.Pointer[certSet]
}

// LoadCertificate reads and checks one certificate and key: the pair must match, the chain
// must parse, and the leaf must be valid now and carry at least one DNS name or IP address.
// The error names the file and says what is wrong.
func LoadCertificate(f CertFiles, now time.Time) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	if err != nil {
		return nil, fmt.Errorf("%w: %s / %s: %v", ErrBadCertificate, f.Cert, f.Key, err)
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrBadCertificate, f.Cert, err)
		}
		c.Leaf = leaf
	}
	switch {
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("%w: %s: not valid before %s", ErrBadCertificate, f.Cert, leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("%w: %s: expired at %s", ErrBadCertificate, f.Cert, leaf.NotAfter.UTC().Format(time.RFC3339))
	case len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0:
		return nil, fmt.Errorf("%w: %s: no subjectAltName (DNS or IP); clients ignore the common name", ErrBadCertificate, f.Cert)
	}
	switch c.PrivateKey.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
	default:
		return nil, fmt.Errorf("%w: %s: unsupported key type %T", ErrBadCertificate, f.Key, c.PrivateKey)
	}
	return &c, nil
}

// buildSet loads every file; any error refuses the whole set, so a reload is all or nothing.
func buildSet(files []CertFiles, now time.Time, prev *certSet) (*certSet, error) {
	if len(files) == 0 {
		return nil, ErrNoCertificates
	}
	s := &certSet{exact: map[string][]*entry{}, wild: map[string][]*entry{}}
	for _, f := range files {
		c, err := LoadCertificate(f, now)
		if err != nil {
			return nil, err
		}
		e := &entry{files: f, leaf: c.Leaf}
		_, e.ecdsa = c.PrivateKey.(*ecdsa.PrivateKey)
		if len(c.Certificate) > 1 {
			e.issuer, _ = x509.ParseCertificate(c.Certificate[1])
		}
		// Keep a staple fetched for the very same leaf: a reload that did not renew a
		// certificate must not lose its stapled OCSP answer.
		if old := prev.find(c.Leaf.Raw); old != nil {
			if oc := old.cur.Load(); oc != nil && oc.OCSPStaple != nil {
				c.OCSPStaple = oc.OCSPStaple
			}
		}
		e.cur.Store(c)
		s.all = append(s.all, e)
		for _, name := range c.Leaf.DNSNames {
			name = strings.ToLower(strings.TrimSuffix(name, "."))
			if rest, ok := strings.CutPrefix(name, "*."); ok {
				s.wild[rest] = insert(s.wild[rest], e)
			} else {
				s.exact[name] = insert(s.exact[name], e)
			}
		}
		for _, ip := range c.Leaf.IPAddresses {
			s.exact[ip.String()] = insert(s.exact[ip.String()], e)
		}
	}
	first := s.all[0]
	for _, e := range s.all {
		if sameNames(e.leaf, first.leaf) {
			s.def = insert(s.def, e)
		}
	}
	return s, nil
}

// insert keeps ECDSA certificates ahead of RSA ones: clients that support both get the
// cheaper handshake (an ECDSA P-256 signature costs a fraction of an RSA-2048 one).
func insert(list []*entry, e *entry) []*entry {
	list = append(list, e)
	for i := len(list) - 1; i > 0 && list[i].ecdsa && !list[i-1].ecdsa; i-- {
		list[i], list[i-1] = list[i-1], list[i]
	}
	return list
}

func sameNames(a, b *x509.Certificate) bool {
	if len(a.DNSNames) != len(b.DNSNames) {
		return false
	}
	for i := range a.DNSNames {
		if !strings.EqualFold(a.DNSNames[i], b.DNSNames[i]) {
			return false
		}
	}
	return true
}

func (s *certSet) find(raw []byte) *entry {
	if s == nil {
		return nil
	}
	for _, e := range s.all {
		if string(e.leaf.Raw) == string(raw) {
			return e
		}
	}
	return nil
}

// Load replaces the store's certificates with the given files. On any error the current set
// keeps serving and the error says which file is wrong.
func (st *Store) Load(files []CertFiles, now time.Time) error {
	s, err := buildSet(files, now, st.set.Load())
	if err != nil {
		return err
	}
	st.set.Store(s)
	return nil
}

// GetCertificate is the tls.Config hook: exact SNI name, then the wildcard one label up
// (a wildcard covers exactly one label, RFC 6125 6.4.3), then the default. Within a name the
// first certificate the client supports wins (ECDSA before RSA).
func (st *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	s := st.set.Load()
	if s == nil {
		return nil, ErrNoCertificates
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" {
		if c := pick(s.exact[name], hello); c != nil {
			return c, nil
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c := pick(s.wild[name[i+1:]], hello); c != nil {
				return c, nil
			}
		}
	}
	if c := pick(s.def, hello); c != nil {
		return c, nil
	}
	// No default the client supports: offer the first one and let the handshake fail clearly.
	return s.def[0].cur.Load(), nil
}

func pick(list []*entry, hello *tls.ClientHelloInfo) *tls.Certificate {
	for _, e := range list {
		c := e.cur.Load()
		if len(list) == 1 || hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return nil
}

// Certificates returns the leaves in force, in configured order (for admin views and tests).
func (st *Store) Certificates() []*x509.Certificate {
	s := st.set.Load()
	if s == nil {
		return nil
	}
	out := make([]*x509.Certificate, len(s.all))
	for i, e := range s.all {
		out[i] = e.leaf
	}
	return out
}

func (st *Store) entries() []*entry {
	if s := st.set.Load(); s != nil {
		return s.all
	}
	return nil
}
