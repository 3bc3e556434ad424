package tlsterm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type atomicConfig = atomic.Pointer[tls.Config]

// ClientAuth is how a listener treats client certificates.
type ClientAuth uint8

const (
	ClientAuthNone     ClientAuth = iota // no certificate asked for
	ClientAuthOptional                   // asked for; verified when given
	ClientAuthRequired                   // handshake fails without a verified certificate
)

// ParseClientAuth maps the configuration's words.
func ParseClientAuth(s string) (ClientAuth, error) {
	switch s {
	case "", "none":
		return ClientAuthNone, nil
	case "optional":
		return ClientAuthOptional, nil
	case "required":
		return ClientAuthRequired, nil
	}
	return 0, fmt.Errorf("%w %q (none, optional or required)", ErrClientAuth, s)
}

// Options configure one TLS listener.
type Options struct {
	// Certs are served by SNI; the first is the default for clients that send no name or an
	// unknown one. ECDSA and RSA certificates for the same names may both be listed.
	Certs []CertFiles
	// ClientCA is a PEM bundle of CAs that sign client certificates; required unless
	// ClientAuth is none.
	ClientCA   string
	ClientAuth ClientAuth
	// MinVersion is tls.VersionTLS12 (default) or tls.VersionTLS13. Nothing older is spoken.
	MinVersion uint16
	// HandshakeTimeout bounds the first byte plus the whole handshake (default 10s).
	HandshakeTimeout time.Duration
	// TicketRotation is how often a new session ticket key starts encrypting (default 1h);
	// TicketKeys keys are kept for decryption (default 3).
	TicketRotation time.Duration
	TicketKeys     int
	// PollInterval is how often the files' modification times are checked (default 5s; <0
	// turns polling off, reloads then happen only through Reload).
	PollInterval time.Duration
	// OCSPRetry is the wait after a failed OCSP fetch (default 1m). OCSPClient does the
	// fetches (default: a client with a 10s timeout).
	OCSPRetry  time.Duration
	OCSPClient *http.Client
	// Logf receives reload and OCSP problems (default: dropped).
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.MinVersion == 0 {
		o.MinVersion = tls.VersionTLS12
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = 10 * time.Second
	}
	if o.TicketRotation <= 0 {
		o.TicketRotation = time.Hour
	}
	if o.TicketKeys <= 0 {
		o.TicketKeys = 3
	}
	if o.PollInterval == 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.OCSPRetry <= 0 {
		o.OCSPRetry = time.Minute
	}
	if o.OCSPClient == nil {
		o.OCSPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Cipher suites for TLS 1.2: forward-secret ECDHE with AEADs only, ECDSA first (TLS 1.3 suites
// are not configurable in crypto/tls and are all AEADs). CBC, RSA key exchange and 3DES are
// left out, as modern CDN edge profiles do.
var suites12 = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
}

// curves: X25519 first (fast and constant-time), then the NIST curves for the rest. Since Go
// 1.24 crypto/tls ignores the order of CurvePreferences and would pick the hybrid
// X25519MLKEM768 whenever a client offers it, so the hybrid is left out to keep X25519 first
// (its key share costs about 1.1 KiB each way and several times X25519's CPU per handshake).
var curves = []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384}

// Terminator is the TLS state of one listener: certificates, client CAs, ticket keys and the
// background work (file polling, OCSP, key rotation). Config and the handshake path are safe
// for concurrent use; Reload and Close serialize among themselves.
type Terminator struct {
	store   Store
	tickets *ticketKeys

	mu    sync.Mutex // reloads
	opts  Options
	cfg   atomicConfig
	mtime map[string]time.Time

	kick   chan struct{} // wakes the OCSP worker after a reload
	stop   chan struct{}
	done   sync.WaitGroup
	closed bool
}

// New loads the certificates and starts the background work. Close stops it.
func New(o Options) (*Terminator, error) {
	o.defaults()
	t := &Terminator{tickets: newTicketKeys(o.TicketKeys), kick: make(chan struct{}, 1), stop: make(chan struct{})}
	if err := t.apply(o); err != nil {
		return nil, err
	}
	t.done.Add(3)
	go t.rotateLoop()
	go t.pollLoop()
	go t.ocspLoop()
	return t, nil
}

// apply loads o's files and builds the tls.Config; on error nothing changes.
func (t *Terminator) apply(o Options) error {
	if o.MinVersion != tls.VersionTLS12 && o.MinVersion != tls.VersionTLS13 {
		return fmt.Errorf("%w (got 0x%04x)", ErrMinVersion, o.MinVersion)
	}
	now := time.Now()
	var pool *x509.CertPool
	if o.ClientAuth != ClientAuthNone {
		var err error
		if pool, err = LoadCAs(o.ClientCA); err != nil {
			return fmt.Errorf("client_ca: %w", err)
		}
	}
	set, err := buildSet(o.Certs, now, t.store.set.Load())
	if err != nil {
		return err
	}
	c := &tls.Config{
		MinVersion:       o.MinVersion,
		MaxVersion:       tls.VersionTLS13,
		CipherSuites:     suites12,
		CurvePreferences: curves,
		NextProtos:       []string{"http/1.1"},
		GetCertificate:   t.store.GetCertificate,
		ClientCAs:        pool,
	}
	switch o.ClientAuth {
	case ClientAuthOptional:
		c.ClientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequired:
		c.ClientAuth = tls.RequireAndVerifyClientCert
	}
	t.tickets.use(c)
	mt := map[string]time.Time{}
	for _, f := range o.Certs {
		mt[f.Cert], mt[f.Key] = modTime(f.Cert), modTime(f.Key)
	}
	if o.ClientCA != "" {
		mt[o.ClientCA] = modTime(o.ClientCA)
	}
	t.store.set.Store(set)
	t.cfg.Store(c)
	t.opts, t.mtime = o, mt
	select {
	case t.kick <- struct{}{}:
	default:
	}
	return nil
}

// Check loads o's files as Reload would, without changing anything: a configuration reload
// checks every listener first, so that it applies to all of them or to none.
func Check(o Options) error {
	o.defaults()
	if o.MinVersion != tls.VersionTLS12 && o.MinVersion != tls.VersionTLS13 {
		return fmt.Errorf("%w (got 0x%04x)", ErrMinVersion, o.MinVersion)
	}
	if o.ClientAuth != ClientAuthNone {
		if _, err := LoadCAs(o.ClientCA); err != nil {
			return fmt.Errorf("client_ca: %w", err)
		}
	}
	_, err := buildSet(o.Certs, time.Now(), nil)
	return err
}

// Reload re-reads the files (with new options, e.g. from a configuration reload). A broken
// certificate or CA bundle is refused with an error naming it, and the old ones keep serving;
// established connections are never touched.
func (t *Terminator) Reload(o Options) error {
	o.defaults()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.apply(o)
}

// Config is the tls.Config new handshakes use.
func (t *Terminator) Config() *tls.Config { return t.cfg.Load() }

// Store is the certificate store.
func (t *Terminator) Store() *Store { return &t.store }

// HandshakeTimeout is the bound on a handshake.
func (t *Terminator) HandshakeTimeout() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.opts.HandshakeTimeout
}

// RotateTicketKey starts a new ticket key now (the timer does it every TicketRotation).
func (t *Terminator) RotateTicketKey() { t.tickets.rotate() }

// Close stops the background work. Handshakes and connections are not affected.
func (t *Terminator) Close() {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return
	}
	t.closed = true
	close(t.stop)
	t.mu.Unlock()
	t.done.Wait()
}

// rotateLoop starts a new ticket key every TicketRotation; the period is read again after each
// rotation, so a reload that changes it applies from the next key on.
func (t *Terminator) rotateLoop() {
	defer t.done.Done()
	for {
		t.mu.Lock()
		every := t.opts.TicketRotation
		t.mu.Unlock()
		tm := time.NewTimer(every)
		select {
		case <-t.stop:
			tm.Stop()
			return
		case <-tm.C:
			t.tickets.rotate()
		}
	}
}

// pollLoop reloads when a certificate, key or CA file changed on disk (renewal by an ACME
// client, a deploy). Polling mtimes costs a stat per file per interval and works on every
// file system, where inotify misses atomic renames into a watched directory's files.
func (t *Terminator) pollLoop() {
	defer t.done.Done()
	t.mu.Lock()
	every := t.opts.PollInterval
	t.mu.Unlock()
	if every < 0 {
		<-t.stop
		return
	}
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tk.C:
			t.mu.Lock()
			if t.changed() {
				if err := t.apply(t.opts); err != nil {
					t.opts.Logf("tls: certificate files changed but were refused, the old ones keep serving: %v", err)
					// Remember the broken state so the error is logged once per change.
					for f := range t.mtime {
						t.mtime[f] = modTime(f)
					}
				} else {
					t.opts.Logf("tls: certificate files changed: reloaded")
				}
			}
			t.mu.Unlock()
		}
	}
}

func (t *Terminator) changed() bool {
	for f, m := range t.mtime {
		if !modTime(f).Equal(m) {
			return true
		}
	}
	return false
}

func modTime(name string) time.Time {
	fi, err := os.Stat(name)
	if err != nil {
		return time.Time{}
	}
	return fi.ModTime()
}

// ocspLoop keeps every certificate's staple fresh: it asks each responder, installs good
// answers, and sleeps until the earliest refresh time (or a reload).
func (t *Terminator) ocspLoop() {
	defer t.done.Done()
	select {
	case <-t.kick: // New's own load: fetched below anyway
	default:
	}
	next := map[*entry]time.Time{}
	for {
		t.mu.Lock()
		retry, hc, logf := t.opts.OCSPRetry, t.opts.OCSPClient, t.opts.Logf
		t.mu.Unlock()
		now := time.Now()
		wake := now.Add(24 * time.Hour)
		for _, e := range t.store.entries() {
			if len(e.leaf.OCSPServer) == 0 || e.issuer == nil {
				continue
			}
			at, ok := next[e]
			if !ok || !now.Before(at) {
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				der, refresh, err := fetchStaple(ctx, hc, e, now)
				cancel()
				if err != nil {
					logf("tls: OCSP staple for %s: %v", e.files.Cert, err)
					at = now.Add(retry)
				} else {
					e.staple(der)
					at = refresh
				}
				next[e] = at
			}
			if at.Before(wake) {
				wake = at
			}
		}
		timer := time.NewTimer(time.Until(wake))
		select {
		case <-t.stop:
			timer.Stop()
			return
		case <-t.kick:
			clear(next) // entries of the old set are gone; the new ones are fetched at once
		case <-timer.C:
		}
		timer.Stop()
	}
}

// LoadCAs reads a PEM bundle.
func LoadCAs(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, fmt.Errorf("%w: no file given", ErrBadCA)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%w: %s", ErrBadCA, file)
	}
	return p, nil
}
