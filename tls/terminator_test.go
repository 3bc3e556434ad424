package tlsterm

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// server runs a Terminator on loopback; each connection echoes lines back prefixed with the
// client subject, so tests can see that the connection still works.
type server struct {
	t    *Terminator
	ln   net.Listener
	errs chan error
}

func startServer(tb testing.TB, o Options) *server {
	tb.Helper()
	term, err := New(o)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &server{t: term, ln: ln, errs: make(chan error, 16)}
	go term.Serve(ln, func(c *tls.Conn) {
		defer c.Close()
		cs := c.ConnectionState()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := io.WriteString(c, "subject="+ClientSubject(&cs)+" "+line); err != nil {
				return
			}
		}
	}, func(_ net.Conn, err error) {
		select {
		case s.errs <- err:
		default:
		}
	})
	tb.Cleanup(func() { ln.Close(); term.Close() })
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

func dial(tb testing.TB, addr string, c *tls.Config) (*tls.Conn, error) {
	tb.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, c)
	if err == nil {
		conn.SetDeadline(time.Now().Add(5 * time.Second))
	}
	return conn, err
}

func roundTrip(tb testing.TB, c *tls.Conn, msg string) string {
	tb.Helper()
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		tb.Fatalf("write: %v", err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		tb.Fatalf("read: %v", err)
	}
	return strings.TrimSuffix(line, "\n")
}

type fixture struct {
	ca      *testCA
	dir     string
	roots   *x509.CertPool
	def     CertFiles // default.test, ECDSA
	defRSA  CertFiles // default.test, RSA
	api     CertFiles // api.example.test
	wild    CertFiles // *.wild.test
	caFile  string
	clients *testCA
}

func newFixture(t testing.TB) *fixture {
	dir := t.TempDir()
	ca := newCA(t, "Sluice Test Root")
	f := &fixture{ca: ca, dir: dir, roots: x509.NewCertPool()}
	f.roots.AddCert(ca.cert)
	f.def = ca.issue(t, dir, "default", leafSpec{names: []string{"default.test", "127.0.0.1"}})
	f.defRSA = ca.issue(t, dir, "default-rsa", leafSpec{names: []string{"default.test", "127.0.0.1"}, rsa: true})
	f.api = ca.issue(t, dir, "api", leafSpec{names: []string{"api.example.test"}})
	f.wild = ca.issue(t, dir, "wild", leafSpec{names: []string{"*.wild.test"}})
	f.clients = newCA(t, "Sluice Client CA")
	f.caFile = f.clients.writePEM(t, dir+"/clients.pem")
	return f
}

func (f *fixture) opts() Options {
	return Options{Certs: []CertFiles{f.def, f.defRSA, f.api, f.wild}, PollInterval: -1}
}

func (f *fixture) client(name string) *tls.Config {
	return &tls.Config{RootCAs: f.roots, ServerName: name}
}

func TestHandshakeSpeaksTLS12And13WithALPN(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := f.client("api.example.test")
		c.MinVersion, c.MaxVersion = v, v
		c.NextProtos = []string{"h2", "http/1.1"}
		conn, err := dial(t, s.addr(), c)
		if err != nil {
			t.Fatalf("%s: %v", tls.VersionName(v), err)
		}
		cs := conn.ConnectionState()
		if cs.Version != v || cs.NegotiatedProtocol != "http/1.1" {
			t.Errorf("%s: got version %s, ALPN %q", tls.VersionName(v), tls.VersionName(cs.Version), cs.NegotiatedProtocol)
		}
		if cs.CurveID != tls.X25519 {
			t.Errorf("%s: key exchange %v, want X25519 (the client also offers the ML-KEM hybrid)", tls.VersionName(v), cs.CurveID)
		}
		if got := roundTrip(t, conn, "hi"); got != "subject= hi" {
			t.Errorf("echo: %q", got)
		}
		conn.Close()
	}
}

func TestHandshakeRefusesTLS10And11(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		c := f.client("api.example.test")
		c.MinVersion, c.MaxVersion = v, v
		if conn, err := dial(t, s.addr(), c); err == nil {
			conn.Close()
			t.Errorf("%s accepted", tls.VersionName(v))
		}
	}
}

func TestHandshakeMinVersion13RefusesTLS12(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.MinVersion = tls.VersionTLS13
	s := startServer(t, o)
	c := f.client("api.example.test")
	c.MaxVersion = tls.VersionTLS12
	if conn, err := dial(t, s.addr(), c); err == nil {
		conn.Close()
		t.Fatal("TLS 1.2 accepted with min_version 1.3")
	}
}

func TestSNISelectsExactWildcardAndDefault(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	cases := []struct {
		name, sni, want string
	}{
		{"exact name", "api.example.test", "api.example.test"},
		{"exact name in other case", "API.Example.TEST", "api.example.test"},
		{"wildcard one label", "a.wild.test", "*.wild.test"},
		{"wildcard does not cover two labels", "a.b.wild.test", "default.test"},
		{"wildcard does not cover the bare domain", "wild.test", "default.test"},
		{"unknown name gets the default", "nope.test", "default.test"},
		{"no SNI gets the default", "", "default.test"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &tls.Config{ServerName: tc.sni, InsecureSkipVerify: true}
			if tc.sni == "" {
				c.ServerName = "" // Go sends no SNI for an empty name
			}
			conn, err := dial(t, s.addr(), c)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			leaf := conn.ConnectionState().PeerCertificates[0]
			if leaf.DNSNames[0] != tc.want {
				t.Errorf("SNI %q got certificate for %v, want %s", tc.sni, leaf.DNSNames, tc.want)
			}
		})
	}
}

func TestSNIServesECDSAOrRSAByClientSupport(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	ecdsaOnly := f.client("default.test")
	ecdsaOnly.MaxVersion = tls.VersionTLS12
	ecdsaOnly.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	rsaOnly := f.client("default.test")
	rsaOnly.MaxVersion = tls.VersionTLS12
	rsaOnly.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	both := f.client("default.test")
	for _, tc := range []struct {
		name string
		c    *tls.Config
		want x509.PublicKeyAlgorithm
	}{
		{"ECDSA-only client gets ECDSA", ecdsaOnly, x509.ECDSA},
		{"RSA-only client gets RSA", rsaOnly, x509.RSA},
		{"client supporting both gets ECDSA", both, x509.ECDSA},
	} {
		conn, err := dial(t, s.addr(), tc.c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := conn.ConnectionState().PeerCertificates[0].PublicKeyAlgorithm; got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
		conn.Close()
	}
}

func TestResumptionSecondHandshakeIsResumed(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c := f.client("api.example.test")
		c.MinVersion, c.MaxVersion = v, v
		c.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		for i := 0; i < 2; i++ {
			conn, err := dial(t, s.addr(), c)
			if err != nil {
				t.Fatal(err)
			}
			roundTrip(t, conn, "x") // TLS 1.3 tickets arrive after the handshake
			if got := conn.ConnectionState().DidResume; got != (i == 1) {
				t.Errorf("%s handshake %d: DidResume=%v", tls.VersionName(v), i+1, got)
			}
			conn.Close()
		}
	}
}

func TestResumptionSurvivesOneRotationButNotKeepRotations(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.TicketKeys = 2
	s := startServer(t, o)
	c := f.client("api.example.test")
	c.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	handshake := func() bool {
		conn, err := dial(t, s.addr(), c)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		roundTrip(t, conn, "x")
		return conn.ConnectionState().DidResume
	}
	handshake()
	s.t.RotateTicketKey()
	if !handshake() {
		t.Error("not resumed after one rotation: the previous key must still decrypt")
	}
	// The ticket just received was sealed with the current key; two more rotations retire it.
	s.t.RotateTicketKey()
	s.t.RotateTicketKey()
	if handshake() {
		t.Error("resumed with a ticket whose key was rotated out")
	}
}

func TestMTLS(t *testing.T) {
	f := newFixture(t)
	good := f.clients.issue(t, f.dir, "client", leafSpec{names: []string{"client.test"}, client: true, cn: "alice"})
	stranger := newCA(t, "Stranger").issue(t, f.dir, "stranger", leafSpec{names: []string{"x.test"}, client: true, cn: "mallory"})
	load := func(cf CertFiles) []tls.Certificate {
		kp, err := tls.LoadX509KeyPair(cf.Cert, cf.Key)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{kp}
	}
	for _, tc := range []struct {
		name    string
		auth    ClientAuth
		certs   []tls.Certificate
		accept  bool
		subject string
	}{
		{"required accepts a certificate from the CA", ClientAuthRequired, load(good), true, "CN=alice,O=Sluice Test"},
		{"required rejects no certificate", ClientAuthRequired, nil, false, ""},
		{"required rejects another CA's certificate", ClientAuthRequired, load(stranger), false, ""},
		{"optional accepts no certificate", ClientAuthOptional, nil, true, ""},
		{"optional verifies a given certificate", ClientAuthOptional, load(good), true, "CN=alice,O=Sluice Test"},
		{"optional rejects another CA's certificate", ClientAuthOptional, load(stranger), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := f.opts()
			o.ClientAuth, o.ClientCA = tc.auth, f.caFile
			s := startServer(t, o)
			c := f.client("api.example.test")
			if tc.certs != nil {
				// Send the certificate even when the server's CA list does not name its
				// issuer (Go's client would otherwise send none).
				c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &tc.certs[0], nil }
			}
			conn, err := dial(t, s.addr(), c)
			if err == nil {
				// In TLS 1.3 the client learns of a rejection on its first read.
				_, err = io.WriteString(conn, "who\n")
				if err == nil {
					var line string
					line, err = bufio.NewReader(conn).ReadString('\n')
					if err == nil && tc.accept && line != "subject="+tc.subject+" who\n" {
						t.Errorf("server saw %q, want subject %q", line, tc.subject)
					}
				}
				conn.Close()
			}
			if (err == nil) != tc.accept {
				t.Errorf("accepted=%v (err %v), want %v", err == nil, err, tc.accept)
			}
		})
	}
}

func TestReloadRefusesBrokenCertificateAndKeepsServing(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	before := s.t.Store().Certificates()[0]
	writeFile(t, f.def.Cert, []byte("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"))
	err := s.t.Reload(f.opts())
	if !errors.Is(err, ErrBadCertificate) || !strings.Contains(err.Error(), f.def.Cert) {
		t.Fatalf("reload error %v should be ErrBadCertificate naming %s", err, f.def.Cert)
	}
	conn, err := dial(t, s.addr(), f.client("default.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !conn.ConnectionState().PeerCertificates[0].Equal(before) {
		t.Error("old certificate not served after a refused reload")
	}
}

func TestReloadRefusesExpiredAndMismatchedKey(t *testing.T) {
	f := newFixture(t)
	expired := f.ca.issue(t, f.dir, "expired", leafSpec{names: []string{"x.test"}, notAfter: time.Now().Add(-time.Minute)})
	o := f.opts()
	o.Certs = []CertFiles{expired}
	if _, err := New(o); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired certificate: %v", err)
	}
	o.Certs = []CertFiles{{Cert: f.def.Cert, Key: f.api.Key}}
	if _, err := New(o); !errors.Is(err, ErrBadCertificate) {
		t.Errorf("mismatched key: %v", err)
	}
	o.Certs = nil
	if _, err := New(o); !errors.Is(err, ErrNoCertificates) {
		t.Errorf("no certificates: %v", err)
	}
}

func TestReloadOnFileChangeKeepsOldConnections(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.PollInterval = 20 * time.Millisecond
	s := startServer(t, o)
	old, err := dial(t, s.addr(), f.client("api.example.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldLeaf := old.ConnectionState().PeerCertificates[0]
	// Renew: same name, new key and serial, written over the old files.
	f.ca.issue(t, f.dir, "api", leafSpec{names: []string{"api.example.test"}})
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := dial(t, s.addr(), f.client("api.example.test"))
		if err != nil {
			t.Fatal(err)
		}
		leaf := conn.ConnectionState().PeerCertificates[0]
		conn.Close()
		if !leaf.Equal(oldLeaf) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("renewed certificate not picked up within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := roundTrip(t, old, "still here"); got != "subject= still here" {
		t.Errorf("old connection after reload: %q", got)
	}
}

func TestPlainHTTPOnTLSPortGets400(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 400 || !bytes.Contains(body, []byte("https://")) {
		t.Errorf("got %d %q", res.StatusCode, body)
	}
	if err := <-s.errs; !errors.Is(err, ErrPlainHTTP) {
		t.Errorf("reported %v", err)
	}
}

func TestStalledHandshakeTimesOut(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.HandshakeTimeout = 100 * time.Millisecond
	s := startServer(t, o)
	for _, name := range []string{"silent", "half a ClientHello"} {
		c, err := net.DialTimeout("tcp", s.addr(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if name != "silent" {
			c.Write([]byte{0x16, 0x03, 0x01, 0x01, 0x00, 0x01})
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		_, err = io.ReadAll(c)
		if el := time.Since(start); err != nil || el > 2*time.Second {
			t.Errorf("%s: connection not closed by the handshake timeout (err %v after %v)", name, err, el)
		}
		c.Close()
	}
}

// goodResponder answers every OCSP request "good", signed by the fixture's CA, valid for an
// hour.
func goodResponder(f *fixture) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		now := time.Now()
		der, err := ocsp.CreateResponse(f.ca.cert, f.ca.cert, ocsp.Response{
			Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour),
		}, f.ca.key)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.Write(der)
	}
}

func TestOCSPStapleFetchedFromResponder(t *testing.T) {
	f := newFixture(t)
	responder := httptest.NewServer(goodResponder(f))
	defer responder.Close()
	stapled := f.ca.issue(t, f.dir, "stapled", leafSpec{names: []string{"ocsp.test"}, ocspURL: responder.URL})
	o := f.opts()
	o.Certs = append([]CertFiles{stapled}, o.Certs...)
	s := startServer(t, o)
	deadline := time.Now().Add(5 * time.Second)
	for s.t.Store().Staple(0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("no staple within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	conn, err := dial(t, s.addr(), f.client("ocsp.test"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cs := conn.ConnectionState()
	r, err := ocsp.ParseResponseForCert(cs.OCSPResponse, cs.PeerCertificates[0], f.ca.cert)
	if err != nil || r.Status != ocsp.Good {
		t.Fatalf("stapled answer: %v %+v", err, r)
	}
	if s.t.Store().Staple(1) != nil {
		t.Error("a certificate without a responder got a staple")
	}
}

// TestOCSPFallsThroughToTheNextResponder lists three responders: one that refuses
// connections, one that answers 503, and a good one. The staple comes from the third, after
// both others were tried in order.
func TestOCSPFallsThroughToTheNextResponder(t *testing.T) {
	f := newFixture(t)
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	var failing, good atomic.Int32
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		failing.Add(1)
		http.Error(w, "try later", http.StatusServiceUnavailable)
	}))
	defer unavailable.Close()
	answer := goodResponder(f)
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() == 0 {
			http.Error(w, "asked before the second responder", http.StatusTeapot)
			return
		}
		good.Add(1)
		answer(w, r)
	}))
	defer responder.Close()
	stapled := f.ca.issue(t, f.dir, "fallback", leafSpec{names: []string{"ocsp.test"},
		ocspURLs: []string{deadURL, unavailable.URL, responder.URL}})
	o := f.opts()
	o.Certs = []CertFiles{stapled}
	s := startServer(t, o)
	deadline := time.Now().Add(5 * time.Second)
	for s.t.Store().Staple(0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no staple within 5s (503 responder asked %d times, good one %d)", failing.Load(), good.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if failing.Load() != 1 || good.Load() != 1 {
		t.Errorf("503 responder asked %d times, good one %d; want 1 and 1", failing.Load(), good.Load())
	}
}

func TestOCSPRevokedIsNotStapled(t *testing.T) {
	f := newFixture(t)
	responder := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := ocsp.ParseRequest(body)
		der, _ := ocsp.CreateResponse(f.ca.cert, f.ca.cert, ocsp.Response{
			Status: ocsp.Revoked, SerialNumber: req.SerialNumber, RevokedAt: time.Now().Add(-time.Hour),
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour),
		}, f.ca.key)
		w.Write(der)
	}))
	defer responder.Close()
	stapled := f.ca.issue(t, f.dir, "revoked", leafSpec{names: []string{"ocsp.test"}, ocspURL: responder.URL})
	logged := make(chan string, 4)
	o := f.opts()
	o.Certs = []CertFiles{stapled}
	o.Logf = func(format string, args ...any) {
		select {
		case logged <- format:
		default:
		}
	}
	s := startServer(t, o)
	select {
	case <-logged:
	case <-time.After(5 * time.Second):
		t.Fatal("no OCSP error logged")
	}
	if s.t.Store().Staple(0) != nil {
		t.Error("a revoked answer was stapled")
	}
}

func TestRefreshAtIsHalfwayThroughValidity(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := refreshAt(now, now.Add(4*time.Hour), now); !got.Equal(now.Add(2 * time.Hour)) {
		t.Errorf("got %v", got)
	}
	if got := refreshAt(now, time.Time{}, now); !got.Equal(now.Add(time.Hour)) {
		t.Errorf("no NextUpdate: got %v", got)
	}
}

func TestParseClientAuth(t *testing.T) {
	for s, want := range map[string]ClientAuth{"": ClientAuthNone, "none": ClientAuthNone, "optional": ClientAuthOptional, "required": ClientAuthRequired} {
		if got, err := ParseClientAuth(s); err != nil || got != want {
			t.Errorf("%q: %v %v", s, got, err)
		}
	}
	if _, err := ParseClientAuth("sometimes"); !errors.Is(err, ErrClientAuth) {
		t.Errorf("bad word: %v", err)
	}
}

func TestClientConfigVerifiesByDefault(t *testing.T) {
	f := newFixture(t)
	s := startServer(t, f.opts())
	c, err := ClientConfig(UpstreamOptions{ServerName: "api.example.test"}) // system roots
	if err != nil {
		t.Fatal(err)
	}
	if conn, err := dial(t, s.addr(), c); err == nil {
		conn.Close()
		t.Fatal("a certificate from an unknown CA was accepted")
	}
	caFile := f.ca.writePEM(t, f.dir+"/root.pem")
	c, err = ClientConfig(UpstreamOptions{ServerName: "api.example.test", CA: caFile})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dial(t, s.addr(), c)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := ClientConfig(UpstreamOptions{ClientCert: f.def.Cert}); !errors.Is(err, ErrBadCertificate) {
		t.Errorf("cert without key: %v", err)
	}
}

func TestTicketKeyRotatesOnItsTimer(t *testing.T) {
	f := newFixture(t)
	o := f.opts()
	o.TicketRotation = 20 * time.Millisecond
	s := startServer(t, o)
	k0 := s.t.tickets.current()
	deadline := time.Now().Add(3 * time.Second)
	for s.t.tickets.current() == k0 {
		if time.Now().After(deadline) {
			t.Fatal("ticket key not rotated within 3s at a 20ms period")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
