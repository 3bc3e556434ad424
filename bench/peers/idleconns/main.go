// Command idleconns opens many keep-alive connections to an HTTP/1.1 server,
// makes one request on each so the server has fully set the connection up,
// and then holds them idle until its standard input closes or it is
// signalled. bench/peers/run.sh uses it to measure memory per idle
// connection:
//
//	idleconns -addr 127.0.0.1:8080 -n 10000
//
// It prints "ready N" once all N connections answered, or exits 1 with the
// first error.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "", "server host:port")
	n := flag.Int("n", 10000, "connections to hold")
	par := flag.Int("parallel", 64, "connections set up at once")
	timeout := flag.Duration("timeout", 10*time.Second, "per-connection setup timeout")
	flag.Parse()
	if *addr == "" || *n < 1 || *par < 1 {
		fmt.Fprintln(os.Stderr, "idleconns: -addr is required, -n and -parallel must be positive")
		os.Exit(2)
	}
	conns := make([]net.Conn, *n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	req := []byte("GET / HTTP/1.1\r\nHost: " + *addr + "\r\n\r\n")
	for range *par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= *n || firstErr.Load() != nil {
					return
				}
				c, err := open(*addr, req, *timeout)
				if err != nil {
					firstErr.CompareAndSwap(nil, fmt.Errorf("connection %d: %w", i, err))
					return
				}
				conns[i] = c
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		fmt.Fprintf(os.Stderr, "idleconns: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("ready %d\n", *n)
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	select {
	case <-done:
	case <-sig:
	}
	for _, c := range conns {
		c.Close()
	}
}

// open dials, sends one request and reads its whole response, leaving the
// connection idle and reusable.
func open(addr string, req []byte, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(req); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || resp.Close {
		c.Close()
		return nil, fmt.Errorf("status %d close %v err %v", resp.StatusCode, resp.Close, err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
