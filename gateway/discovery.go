package gateway

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/lb"
)

// Service discovery: the dns and srv targets of the configuration are resolved when a snapshot
// is built and then watched, each by a goroutine that asks again when the answer's TTL runs out.
// A changed answer rebuilds the snapshot exactly as a reload does (Gateway.rediscover), so the
// new addresses get traffic with the next request, addresses that left get no new requests and
// the requests in flight on them finish; lb state of the unchanged addresses is kept (see
// upstreams.go).

// TTL bounds: a zero or tiny TTL must not turn the gateway into a DNS load generator, and a
// day-long one must not hide a moved service for a day.
const (
	minDNSRefresh  = time.Second
	maxDNSRefresh  = 5 * time.Minute
	dnsRetry       = time.Second     // after a failed lookup; the last answer stays in force
	negativeTTL    = 5 * time.Second // for NXDOMAIN or no records when the server gives no SOA
	dnsTimeout     = 2 * time.Second // one query
	resolvConfPath = "/etc/resolv.conf"
)

// errDNS is the root of every resolution error.
var errDNS = errors.New("gateway: dns")

// nameKey identifies one watched name: the same name asked of another server is another watch.
type nameKey struct {
	resolver string // host:port
	dns      string // name:port, or ""
	srv      string // _service._proto.name, or ""
}

func (k nameKey) String() string {
	if k.srv != "" {
		return "srv " + k.srv
	}
	return "dns " + k.dns
}

// nameWatch is the last answer for one name and the goroutine that refreshes it.
type nameWatch struct {
	addrs  []string       // sorted, distinct host:port
	shares map[string]int // srv: each address's share of the name's weight, 1..srvShares; nil for dns
	err    error          // the last lookup's error (the answer above stays in force)
	used   bool           // referenced by the configuration most recently built
	stop   chan struct{}
}

// discovery holds every watched name. Its methods are called under resilience.mu.
type discovery struct {
	names map[nameKey]*nameWatch
}

// resolvedTarget is one address an upstream's targets stand for.
type resolvedTarget struct {
	addr   string
	weight int
}

// expandTargets lists the addresses of u's targets: through res when there is one, else the
// static addresses only (a dns or srv target then is an error).
func expandTargets(u *config.Upstream, res *resilience) ([]resolvedTarget, error) {
	if res != nil {
		return res.targets(u)
	}
	out := make([]resolvedTarget, 0, len(u.Targets))
	for _, t := range u.Targets {
		if t.Discovered() {
			return nil, fmt.Errorf("upstreams.%s: dns and srv targets need service discovery", u.Name)
		}
		out = append(out, resolvedTarget{addr: t.Address, weight: t.Weight})
	}
	return out, nil
}

// targets expands the targets of u into addresses: a static one as it is, a dns or srv one into
// its current answer, resolving it now when it is not watched yet. An address listed twice (a
// static one that a name also resolves to, or two names sharing one) is kept once, with the
// first weight.
func (r *resilience) targets(u *config.Upstream) ([]resolvedTarget, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("gateway: upstream state closed")
	}
	out := make([]resolvedTarget, 0, len(u.Targets))
	seen := make(map[string]bool, len(u.Targets))
	for _, t := range u.Targets {
		addrs := []string{t.Address}
		var shares map[string]int
		if t.Discovered() {
			key, err := r.nameKey(u, t)
			if err != nil {
				return nil, err
			}
			w, err := r.watch(key)
			if err != nil {
				return nil, fmt.Errorf("upstreams.%s: %s: %w", u.Name, key, err)
			}
			addrs, shares = w.addrs, w.shares
		}
		for _, a := range addrs {
			if !seen[a] {
				seen[a] = true
				out = append(out, resolvedTarget{addr: a, weight: srvWeight(t.Weight, shares[a])})
			}
		}
	}
	return out, nil
}

func (r *resilience) nameKey(u *config.Upstream, t config.Target) (nameKey, error) {
	server := u.Resolver
	if server == "" {
		var err error
		if server, err = systemResolver(); err != nil {
			return nameKey{}, err
		}
	}
	return nameKey{resolver: server, dns: t.DNS, srv: t.SRV}, nil
}

// watch returns the watch of key, resolving the name and starting its goroutine the first time.
// A first lookup that fails is an error: a configuration naming a service nobody can resolve
// is refused rather than started with no targets.
func (r *resilience) watch(key nameKey) (*nameWatch, error) {
	if r.disc.names == nil {
		r.disc.names = map[nameKey]*nameWatch{}
	}
	if w := r.disc.names[key]; w != nil {
		w.used = true
		return w, nil
	}
	addrs, shares, ttl, err := resolve(key)
	if err != nil {
		return nil, err
	}
	w := &nameWatch{addrs: addrs, shares: shares, used: true, stop: make(chan struct{})}
	r.disc.names[key] = w
	r.wg.Add(1)
	go r.refresh(key, w, ttl)
	return w, nil
}

// sweepNamesLocked stops the watches the configuration just applied no longer uses and clears
// the marks for the next build.
func (r *resilience) sweepNamesLocked() {
	for k, w := range r.disc.names {
		if !w.used {
			close(w.stop)
			delete(r.disc.names, k)
			continue
		}
		w.used = false
	}
}

func (r *resilience) stopNamesLocked() {
	for k, w := range r.disc.names {
		close(w.stop)
		delete(r.disc.names, k)
	}
}

// refresh re-resolves key when its TTL runs out and rebuilds the snapshot when the answer
// changed. A failed lookup keeps the last answer and tries again after dnsRetry.
func (r *resilience) refresh(key nameKey, w *nameWatch, ttl time.Duration) {
	defer r.wg.Done()
	timer := time.NewTimer(clampTTL(ttl))
	defer timer.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-timer.C:
		}
		addrs, shares, ttl, err := resolve(key)
		r.mu.Lock()
		w.err = err
		changed := err == nil && (!slices.Equal(addrs, w.addrs) || !maps.Equal(shares, w.shares))
		if changed {
			w.addrs, w.shares = addrs, shares
		}
		rebuild := r.rebuild
		r.mu.Unlock()
		if err != nil {
			timer.Reset(dnsRetry)
			continue
		}
		if changed && rebuild != nil {
			rebuild()
		}
		timer.Reset(clampTTL(ttl))
	}
}

func clampTTL(ttl time.Duration) time.Duration {
	return min(max(ttl, minDNSRefresh), maxDNSRefresh)
}

// rediscover rebuilds the snapshot in force from the same configuration after a DNS answer
// changed; the resolved addresses are the only difference.
func (g *Gateway) rediscover() {
	if err := g.Reload(g.Config()); err != nil {
		g.res.mu.Lock()
		g.res.rebuildErr = err
		g.res.mu.Unlock()
	}
}

// systemResolver returns the first nameserver of /etc/resolv.conf.
func systemResolver() (string, error) {
	cc, err := dns.ClientConfigFromFile(resolvConfPath)
	if err != nil {
		return "", fmt.Errorf("%w: no resolver configured and %s unreadable: %v", errDNS, resolvConfPath, err)
	}
	if len(cc.Servers) == 0 {
		return "", fmt.Errorf("%w: no nameserver in %s", errDNS, resolvConfPath)
	}
	return net.JoinHostPort(cc.Servers[0], cc.Port), nil
}

// resolve answers key: the sorted distinct addresses, their shares of the name's weight (srv
// only) and the TTL after which to ask again.
func resolve(key nameKey) ([]string, map[string]int, time.Duration, error) {
	if key.srv != "" {
		return resolveSRV(key.resolver, key.srv)
	}
	host, port, err := net.SplitHostPort(key.dns)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("%w: %v", errDNS, err)
	}
	ips, ttl, err := lookupIPs(key.resolver, host, nil)
	if err != nil {
		return nil, nil, 0, err
	}
	addrs := make([]string, 0, len(ips))
	for _, ip := range ips {
		addrs = append(addrs, net.JoinHostPort(ip, port))
	}
	return sortedDistinct(addrs), nil, ttl, nil
}

// srvShares is the scale of SRV weights once normalized: the heaviest record of a name gets
// this share, the others theirs in proportion, at least 1.
const srvShares = 100

// srvWeight is the lb weight of an address a target resolves to: the target's configured
// weight, times the address's share when it came from SRV records, within lb.MaxWeight.
func srvWeight(weight, share int) int {
	if share <= 0 {
		return weight
	}
	return min(weight*share, lb.MaxWeight)
}

// srvSharesOf normalizes the SRV weights of the records kept (RFC 2782: the weights of one
// priority are relative). A weight 0 gets the smallest share, 1, beside heavier records; if
// every record weighs 0 they are equal. An address two records name keeps the larger share.
func srvSharesOf(srvs []*dns.SRV, addrsOf map[*dns.SRV][]string) map[string]int {
	heaviest := 0
	for _, s := range srvs {
		heaviest = max(heaviest, int(s.Weight))
	}
	shares := map[string]int{}
	for _, s := range srvs {
		share := 1
		if heaviest > 0 {
			share = max(1, (int(s.Weight)*srvShares+heaviest/2)/heaviest)
		}
		for _, a := range addrsOf[s] {
			shares[a] = max(shares[a], share)
		}
	}
	return shares
}

// resolveSRV asks for the SRV records of name (RFC 2782) and keeps those of the lowest
// priority, the ones a client is to use while any of them answers. Their target names are
// resolved from the additional section when the server put the addresses there (as
// Kubernetes' DNS does), otherwise with A and AAAA queries.
func resolveSRV(server, name string) ([]string, map[string]int, time.Duration, error) {
	m, err := query(server, name, dns.TypeSRV)
	if err != nil {
		return nil, nil, 0, err
	}
	if m == nil {
		return nil, nil, negativeTTL, nil
	}
	ttl := maxDNSRefresh
	var srvs []*dns.SRV
	for _, rr := range m.Answer {
		if s, ok := rr.(*dns.SRV); ok {
			ttl = min(ttl, time.Duration(s.Hdr.Ttl)*time.Second)
			if len(srvs) > 0 && s.Priority > srvs[0].Priority {
				continue
			}
			if len(srvs) > 0 && s.Priority < srvs[0].Priority {
				srvs = srvs[:0]
			}
			srvs = append(srvs, s)
		}
	}
	if len(srvs) == 0 {
		return nil, nil, negativeTTLOf(m), nil
	}
	var addrs []string
	addrsOf := make(map[*dns.SRV][]string, len(srvs))
	kept := srvs[:0:0]
	for _, s := range srvs {
		if s.Target == "." {
			continue // "service decidedly not available" (RFC 2782)
		}
		ips, ipTTL, err := lookupIPs(server, s.Target, m.Extra)
		if err != nil {
			return nil, nil, 0, err
		}
		ttl = min(ttl, ipTTL)
		port := strconv.Itoa(int(s.Port))
		for _, ip := range ips {
			a := net.JoinHostPort(ip, port)
			addrs = append(addrs, a)
			addrsOf[s] = append(addrsOf[s], a)
		}
		kept = append(kept, s)
	}
	return sortedDistinct(addrs), srvSharesOf(kept, addrsOf), ttl, nil
}

// appendAddrRR adds the address of an A or AAAA record to ips and lowers ttl to its TTL;
// other records change nothing.
func appendAddrRR(ips []string, ttl time.Duration, rr dns.RR) ([]string, time.Duration) {
	switch a := rr.(type) {
	case *dns.A:
		return append(ips, a.A.String()), min(ttl, time.Duration(a.Hdr.Ttl)*time.Second)
	case *dns.AAAA:
		return append(ips, a.AAAA.String()), min(ttl, time.Duration(a.Hdr.Ttl)*time.Second)
	}
	return ips, ttl
}

// lookupIPs returns the A and AAAA addresses of host, from extra when it holds any for host,
// else by asking server.
func lookupIPs(server, host string, extra []dns.RR) ([]string, time.Duration, error) {
	fqdn := dns.Fqdn(host)
	ttl := maxDNSRefresh
	var ips []string
	for _, rr := range extra {
		if !strings.EqualFold(rr.Header().Name, fqdn) {
			continue
		}
		ips, ttl = appendAddrRR(ips, ttl, rr)
	}
	if len(ips) > 0 {
		return ips, ttl, nil
	}
	// The refresh follows the records found; the negative TTL only when there are none (a
	// family that is missing beside one that is present is not worth asking for more often).
	negTTL := maxDNSRefresh
	for _, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		m, err := query(server, fqdn, qt)
		if err != nil {
			return nil, 0, err
		}
		if m == nil {
			negTTL = min(negTTL, negativeTTL)
			continue
		}
		n := len(ips)
		for _, rr := range m.Answer {
			ips, ttl = appendAddrRR(ips, ttl, rr)
		}
		if len(ips) == n {
			negTTL = min(negTTL, negativeTTLOf(m))
		}
	}
	if len(ips) == 0 {
		return nil, negTTL, nil
	}
	return ips, ttl, nil
}

// query sends one question to server over UDP, and again over TCP when the answer was
// truncated (RFC 7766 §3). It returns nil without error for a name that does not exist
// (NXDOMAIN), so that a service scaled to nothing empties the upstream instead of freezing it;
// other failures are errors and keep the last answer.
func query(server, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: dnsTimeout}
	m, _, err := c.Exchange(q, server)
	if err == nil && m.Truncated {
		c.Net = "tcp"
		m, _, err = c.Exchange(q, server)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s at %s: %v", errDNS, dns.TypeToString[qtype], name, server, err)
	}
	switch m.Rcode {
	case dns.RcodeSuccess:
		return m, nil
	case dns.RcodeNameError:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: %s %s at %s: %s", errDNS, dns.TypeToString[qtype], name, server, dns.RcodeToString[m.Rcode])
}

// negativeTTLOf is how long "no such records" may be cached: the SOA minimum of the authority
// section (RFC 2308 §5), or negativeTTL.
func negativeTTLOf(m *dns.Msg) time.Duration {
	for _, rr := range m.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return time.Duration(min(soa.Minttl, soa.Hdr.Ttl)) * time.Second
		}
	}
	return negativeTTL
}

func sortedDistinct(a []string) []string {
	slices.Sort(a)
	return slices.Compact(a)
}

// NameStatus is the state of one watched dns or srv name, for the admin API.
type NameStatus struct {
	Name     string   // "dns name:port" or "srv _service._proto.name"
	Resolver string   // host:port asked
	Addrs    []string // the answer in force
	Err      string   // the last lookup's error; "" when it succeeded (Addrs stay in force)
}

// Discovery lists the watched names, sorted, and the error of the last rebuild a changed
// answer caused (nil when it succeeded or none happened).
func (g *Gateway) Discovery() ([]NameStatus, error) {
	r := &g.res
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]NameStatus, 0, len(r.disc.names))
	for k, w := range r.disc.names {
		st := NameStatus{Name: k.String(), Resolver: k.resolver, Addrs: slices.Clone(w.addrs)}
		if w.err != nil {
			st.Err = w.err.Error()
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b NameStatus) int { return strings.Compare(a.Name+a.Resolver, b.Name+b.Resolver) })
	return out, r.rebuildErr
}
