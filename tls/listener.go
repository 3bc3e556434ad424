package tlsterm

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"time"
)

// recordHandshake is the content type of a TLS handshake record (RFC 8446 5.1); every
// ClientHello starts with it.
const recordHandshake = 0x16

// plainHTTPAnswer is sent when the first byte is an ASCII letter: an HTTP/1.x request on the
// TLS port. A clear 400 beats a hang or a TLS alert the person cannot read.
var plainHTTPAnswer = []byte("HTTP/1.1 400 Bad Request\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Connection: close\r\n" +
	"Content-Length: 51\r\n" +
	"\r\n" +
	"This port speaks TLS: use https:// (not http://).\r\n")

// Handshake sniffs the first byte of c and runs the TLS handshake, both bounded by the
// handshake timeout. Plain HTTP gets a 400 answer and ErrPlainHTTP; anything else that is not
// a TLS record gets ErrNotTLS; in both cases and on handshake failure c is closed. It blocks:
// call it on the connection's own goroutine, never on an event loop.
func (t *Terminator) Handshake(ctx context.Context, c net.Conn) (*tls.Conn, error) {
	deadline := time.Now().Add(t.HandshakeTimeout())
	_ = c.SetDeadline(deadline)
	var first [1]byte
	if _, err := c.Read(first[:]); err != nil {
		c.Close()
		return nil, err
	}
	switch b := first[0]; {
	case b == recordHandshake:
	case b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z':
		_, _ = c.Write(plainHTTPAnswer)
		closeWrite(c)
		return nil, ErrPlainHTTP
	default:
		c.Close()
		return nil, ErrNotTLS
	}
	tc := tls.Server(&replayConn{Conn: c, b: first[0], has: true}, t.Config())
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetDeadline(time.Time{})
	return tc, nil
}

// closeWrite sends FIN and closes after a short drain, so the 400 is not destroyed by a reset
// when the client's unread request bytes arrive.
func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		var sink [512]byte
		for {
			if _, err := c.Read(sink[:]); err != nil {
				break
			}
		}
	}
	c.Close()
}

// replayConn gives back the sniffed byte before reading on.
type replayConn struct {
	net.Conn
	b   byte
	has bool
}

func (r *replayConn) Read(p []byte) (int, error) {
	if r.has && len(p) > 0 {
		r.has = false
		p[0] = r.b
		return 1, nil
	}
	return r.Conn.Read(p)
}

// Serve accepts on ln until it is closed; each connection's handshake and then handle run on
// that connection's goroutine. Failed handshakes are reported to onError (may be nil).
func (t *Terminator) Serve(ln net.Listener, handle func(*tls.Conn), onError func(net.Conn, error)) error {
	var delay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// EMFILE, ECONNABORTED and friends are transient on a TCP listener: back off
			// instead of spinning, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go func() {
			tc, err := t.Handshake(context.Background(), c)
			if err != nil {
				if onError != nil {
					onError(c, err)
				}
				return
			}
			handle(tc)
		}()
	}
}

// ClientSubject is the verified client certificate's subject (RFC 4514 string), "" when the
// client sent none or it was not verified.
func ClientSubject(cs *tls.ConnectionState) string {
	if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return ""
	}
	return cs.VerifiedChains[0][0].Subject.String()
}
