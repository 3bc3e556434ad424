package gateway

import (
	"time"

	"github.com/sluice-gw/sluice/proxy"
)

// targetPool holds one loop's connections to one target. Only that loop touches it, so it needs
// no locks: the idle list is a plain LIFO slice (the most recently used connection is the most
// likely to be alive and warm), and liveness is checked for free because an idle connection that
// receives bytes or a FIN is closed by the loop at once (driver.OnData / OnClose).
type targetPool struct {
	target         *proxy.Target
	idle           []*upConn
	total          int // open and dialing connections
	maxIdle        int
	maxConns       int
	idleTimeout    int64
	connectTimeout time.Duration
}

// pool returns the loop's pool for t, creating it on first use. Pools are indexed by the
// target's ID, which a reload keeps for an unchanged address, so warm connections survive it.
func (ls *loopState) pool(t *proxy.Target) *targetPool {
	if t.ID < len(ls.pools) {
		if p := ls.pools[t.ID]; p != nil {
			p.configure(t)
			return p
		}
	} else {
		grown := make([]*targetPool, t.ID+1, 2*(t.ID+1))
		copy(grown, ls.pools)
		ls.pools = grown
	}
	p := &targetPool{}
	p.configure(t)
	ls.pools[t.ID] = p
	return p
}

// configure takes the limits of the target's current upstream (a reload may change them).
// When the pool's ID now names another address (a retired ID reused, targetIDs), its idle
// connections lead to the old one: they are closed, and put refuses the busy ones later.
func (p *targetPool) configure(t *proxy.Target) {
	if p.target == t {
		return
	}
	if p.target != nil && p.target.Addr != t.Addr {
		for i, uc := range p.idle {
			uc.close()
			p.idle[i] = nil
		}
		p.idle = p.idle[:0]
	}
	p.target = t
	u := t.Upstream
	p.maxIdle = u.MaxIdle
	p.maxConns = u.MaxConns
	p.idleTimeout = int64(u.IdleTimeout)
	p.connectTimeout = u.ConnectTimeout
}

// get pops the most recently idled live connection.
func (p *targetPool) get() *upConn {
	for n := len(p.idle); n > 0; n = len(p.idle) {
		uc := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		if !uc.closed && !uc.closing {
			return uc
		}
	}
	return nil
}

// put parks a connection whose last exchange ended cleanly; false when the pool is full.
func (p *targetPool) put(uc *upConn, now int64) bool {
	if len(p.idle) >= p.maxIdle || uc.closed || uc.closing || uc.addr != p.target.Addr {
		return false
	}
	uc.idleSince = now
	_ = uc.c.PauseRead(false)
	p.idle = append(p.idle, uc)
	return true
}

// sweep closes connections idle for longer than the timeout (all of them when draining). The
// oldest sit at the bottom of the LIFO.
func (p *targetPool) sweep(now int64, draining bool) {
	k := 0
	for _, uc := range p.idle {
		if uc.closed || uc.closing {
			continue
		}
		if draining || (p.idleTimeout > 0 && now-uc.idleSince >= p.idleTimeout) {
			uc.close()
			continue
		}
		p.idle[k] = uc
		k++
	}
	clear(p.idle[k:])
	p.idle = p.idle[:k]
}
