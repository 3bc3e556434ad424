// Command relay is a TCP relay on Sluice's epoll engine: every client connection gets its own
// upstream connection, dialed on the client's loop, and bytes are copied both ways with no
// HTTP at all. bench/peers runs it as "sluice-l4", the Go counterpart of HAProxy's TCP mode:
// what the engine and the kernel cost per request before any gateway work, so that the gap
// between it and the full gateway is the gateway's own user-space cost.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/engine"
	"github.com/sluice-gw/sluice/engine/epoll"
)

// pair is the state shared by a client connection and its upstream connection.
type pair struct {
	client, upstream engine.Conn
}

type relay struct{ upstream string }

func (r *relay) OnOpen(c engine.Conn) {
	p := &pair{client: c}
	c.SetContext(p)
	err := c.Loop().Dial(r.upstream, 5*time.Second, func(u engine.Conn, err error) {
		if err != nil {
			c.Close()
			return
		}
		if p.client == nil { // the client left while the dial was under way
			u.Close()
			return
		}
		u.SetContext(p)
		p.upstream = u
		r.OnData(c) // bytes the client sent before the upstream was there
	})
	if err != nil {
		c.Close()
	}
}

// OnData copies what c has buffered to its peer; before the upstream is connected the client's
// bytes stay buffered.
func (r *relay) OnData(c engine.Conn) {
	p, _ := c.Context().(*pair)
	if p == nil {
		return
	}
	peer := p.upstream
	if c == p.upstream {
		peer = p.client
	}
	if peer == nil {
		return
	}
	b := c.Peek()
	if len(b) == 0 {
		return
	}
	if err := peer.Write(b); err != nil {
		c.Close()
		return
	}
	c.Discard(len(b))
}

func (r *relay) OnWritable(engine.Conn) {}

func (r *relay) OnClose(c engine.Conn, _ error) {
	p, _ := c.Context().(*pair)
	if p == nil {
		return
	}
	if c == p.client {
		p.client = nil
		if p.upstream != nil {
			p.upstream.Close()
		}
		return
	}
	p.upstream = nil
	if p.client != nil {
		p.client.Close()
	}
}

func (r *relay) OnTick(engine.Loop, int64) {}

func main() {
	listen := flag.String("listen", "127.0.0.1:8081", "address to accept clients on")
	upstream := flag.String("upstream", "127.0.0.1:8080", "address to relay to")
	loops := flag.Int("loops", 1, "event loops")
	flag.Parse()
	s, err := start(*listen, *upstream, *loops)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relay:", err)
		os.Exit(1)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	s.Stop()
}

// start runs the relay on the epoll engine.
func start(listen, upstream string, loops int) (engine.Server, error) {
	return epoll.Start(&relay{upstream: upstream}, []string{listen}, engine.Options{Loops: loops})
}
