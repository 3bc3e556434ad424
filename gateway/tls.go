package gateway

import (
	"crypto/tls"
	"fmt"
	"log"
	"net"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/http1"
	"github.com/sluice-gw/sluice/proxy"
	tlsterm "github.com/sluice-gw/sluice/tls"
)

// TLS listeners: each accepts on its own goroutine, handshakes on the connection's goroutine
// (never on an event loop) and hands the connection to the stream driver, which runs the same
// proxy.Session as the loops.

// clientSubjectField carries the verified client certificate's subject upstream. It is set on
// every request of every TLS listener (empty when no certificate was verified), so a client can
// never supply its own. Plaintext listeners pass a received one through: routes reachable from
// them that trust the field should remove it (request_headers.remove).
var clientSubjectField = []byte("X-Client-Cert-Subject")

type tlsListeners struct {
	d  *streamDriver
	ls []*tlsListener
}

type tlsListener struct {
	index int // in config.Listen
	ln    net.Listener
	term  *tlsterm.Terminator
	done  chan struct{}
}

// TLSLogf receives certificate reload and OCSP problems; the default is the standard logger.
var TLSLogf = log.Printf

// tlsOptions maps a listener's configuration onto the terminator's.
func tlsOptions(l *config.ListenerTLS) (tlsterm.Options, error) {
	o := tlsterm.Options{
		ClientCA:         l.ClientCA,
		HandshakeTimeout: l.HandshakeTimeout.Duration(),
		TicketRotation:   l.TicketRotation.Duration(),
		Logf:             TLSLogf,
	}
	for _, c := range l.Certs {
		o.Certs = append(o.Certs, tlsterm.CertFiles{Cert: c.Cert, Key: c.Key})
	}
	var err error
	if o.ClientAuth, err = tlsterm.ParseClientAuth(l.ClientAuth); err != nil {
		return o, err
	}
	switch l.MinVersion {
	case "", "1.2":
		o.MinVersion = tls.VersionTLS12
	case "1.3":
		o.MinVersion = tls.VersionTLS13
	default:
		return o, fmt.Errorf("%w (got %q)", tlsterm.ErrMinVersion, l.MinVersion)
	}
	return o, nil
}

// startTLS opens the TLS listeners of c; on error none stays open.
func (g *Gateway) startTLS(c *config.Config) (err error) {
	t := &tlsListeners{d: newStreamDriver(&g.snap)}
	t.d.open = &g.open
	defer func() {
		if err != nil {
			t.stopAccepting()
			t.close()
		}
	}()
	for i, l := range c.Listen {
		if l.TLS == nil {
			continue
		}
		o, err := tlsOptions(l.TLS)
		if err != nil {
			return fmt.Errorf("%s: listen[%d].tls: %w", c.File, i, err)
		}
		term, err := tlsterm.New(o)
		if err != nil {
			return fmt.Errorf("%s: listen[%d].tls: %w", c.File, i, err)
		}
		ln, err := net.Listen("tcp", l.Address)
		if err != nil {
			term.Close()
			return fmt.Errorf("listen: %w", err)
		}
		tl := &tlsListener{index: i, ln: ln, term: term, done: make(chan struct{})}
		t.ls = append(t.ls, tl)
		go tl.serve(t.d)
	}
	g.tls = t
	return nil
}

func (tl *tlsListener) serve(d *streamDriver) {
	defer close(tl.done)
	_ = tl.term.Serve(tl.ln, func(c *tls.Conn) {
		cs := c.ConnectionState()
		d.serve(c, []http1.Field{{Name: clientSubjectField, Value: headerSafe(tlsterm.ClientSubject(&cs))}})
	}, nil)
}

// headerSafe replaces bytes a header field value cannot carry (RFC 9110 5.5): a subject may
// hold any UTF-8, including control characters.
func headerSafe(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 && c != '\t' || c == 0x7f {
			b[i] = '?'
		}
	}
	return b
}

// reloadTLS re-reads every TLS listener's files: all are checked first, so a broken one
// refuses the whole reload and every listener keeps its certificates.
func (g *Gateway) reloadTLS(c *config.Config) error {
	opts, err := g.checkTLS(c)
	if err != nil {
		return err
	}
	return g.applyTLS(c, opts)
}

// checkTLS validates the TLS listeners' new settings without changing anything.
func (g *Gateway) checkTLS(c *config.Config) ([]tlsterm.Options, error) {
	if g.tls == nil {
		return nil, nil
	}
	opts := make([]tlsterm.Options, len(g.tls.ls))
	for k, tl := range g.tls.ls {
		o, err := tlsOptions(c.Listen[tl.index].TLS)
		if err == nil {
			err = tlsterm.Check(o)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: listen[%d].tls: %w", c.File, tl.index, err)
		}
		opts[k] = o
	}
	return opts, nil
}

// applyTLS hands the checked settings to the listeners.
func (g *Gateway) applyTLS(c *config.Config, opts []tlsterm.Options) error {
	if g.tls == nil {
		return nil
	}
	for k, tl := range g.tls.ls {
		if err := tl.term.Reload(opts[k]); err != nil {
			return fmt.Errorf("%s: listen[%d].tls: %w", c.File, tl.index, err)
		}
	}
	return nil
}

func (t *tlsListeners) stopAccepting() {
	if t == nil {
		return
	}
	t.d.draining.Store(true)
	for _, tl := range t.ls {
		_ = tl.ln.Close()
		<-tl.done
	}
}

func (t *tlsListeners) conns() int64 {
	if t == nil {
		return 0
	}
	return t.d.n.Load()
}

func (t *tlsListeners) close() {
	if t == nil {
		return
	}
	for _, tl := range t.ls {
		_ = tl.ln.Close()
		tl.term.Close()
	}
	t.d.close()
}

// plainAddrs are the addresses of the listeners the event loops serve.
func plainAddrs(c *config.Config) []string {
	var addrs []string
	for _, l := range c.Listen {
		if l.TLS == nil {
			addrs = append(addrs, l.Address)
		}
	}
	return addrs
}

// listenAddrs gives every listener's address in configuration order.
func (g *Gateway) listenAddrs() []net.Addr {
	plain := g.srv.Addrs()
	conf := g.Config()
	out := make([]net.Addr, 0, len(conf.Listen))
	k := 0
	for i, l := range conf.Listen {
		if l.TLS == nil {
			if k < len(plain) {
				out = append(out, plain[k])
			}
			k++
			continue
		}
		for _, tl := range g.tls.ls {
			if tl.index == i {
				out = append(out, tl.ln.Addr())
			}
		}
	}
	return out
}

// upstreamTLSConfigs builds the client TLS configuration of every upstream with a tls section,
// from the configuration alone, so that a reload can fail on a bad file before anything is
// changed.
func upstreamTLSConfigs(c *config.Config) (map[string]*tls.Config, error) {
	out := map[string]*tls.Config{}
	for _, cu := range c.Upstreams {
		if cu.TLS == nil {
			continue
		}
		tc, err := tlsterm.ClientConfig(tlsterm.UpstreamOptions{
			ServerName:         cu.TLS.ServerName,
			CA:                 cu.TLS.CA,
			ClientCert:         cu.TLS.ClientCert,
			ClientKey:          cu.TLS.ClientKey,
			InsecureSkipVerify: cu.TLS.InsecureSkipVerify,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: upstreams.%s.tls: %w", c.File, cu.Name, err)
		}
		out[cu.Name] = tc
	}
	return out, nil
}

// attachUpstreamTLS puts the configurations of upstreamTLSConfigs on the snapshot's upstreams.
func attachUpstreamTLS(snap *proxy.Snapshot, tcs map[string]*tls.Config) {
	for _, u := range upstreamsOf(snap) {
		if tc := tcs[u.Name]; tc != nil {
			u.TLS = tc
		}
	}
}

// upstreamTLS is upstreamTLSConfigs then attachUpstreamTLS.
func upstreamTLS(c *config.Config, snap *proxy.Snapshot) error {
	tcs, err := upstreamTLSConfigs(c)
	if err != nil {
		return err
	}
	attachUpstreamTLS(snap, tcs)
	return nil
}
