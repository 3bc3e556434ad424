// Command upstream is the fast fixed-response HTTP/1.1 server the peer
// benchmarks put behind each proxy:
//
//	go run ./bench/upstream -addr 127.0.0.1:9001
//
// It answers every request with the same small 200 response over keep-alive,
// one goroutine per connection, answering all pipelined requests of a read
// with one write. It parses only what framing needs (RFC 9112 §6.3: the
// header section end and Content-Length); it is a benchmark target, not a
// general server.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "listen address")
	size := flag.Int("body-size", 13, "response body bytes")
	flag.Parse()
	if *size < 0 || *size > 1<<20 {
		fmt.Fprintln(os.Stderr, "upstream: -body-size must be in 0..1048576")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "upstream: %v\n", err)
		os.Exit(2)
	}
	body := bytes.Repeat([]byte("x"), *size)
	if *size == 13 {
		body = []byte("Hello, world\n")
	}
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + string(body))
	go func() {
		c := make(chan os.Signal, 1)
		signal.Notify(c, os.Interrupt, syscall.SIGTERM)
		<-c
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			return
		}
		go serve(c, resp)
	}
}

var (
	crlf2   = []byte("\r\n\r\n")
	clName  = []byte("\ncontent-length:")
	connHdr = []byte("\nconnection:")
)

func serve(c net.Conn, resp []byte) {
	defer c.Close()
	buf := make([]byte, 64<<10)
	out := make([]byte, 0, 16*len(resp))
	start, end := 0, 0
	skip := 0 // body bytes of the current request still to discard
	for {
		if start == end {
			start, end = 0, 0
		} else if end == len(buf) {
			if start == 0 {
				return // head larger than the buffer
			}
			end = copy(buf, buf[start:end])
			start = 0
		}
		n, err := c.Read(buf[end:])
		if n == 0 {
			if err != nil {
				return
			}
			continue
		}
		end += n
		out = out[:0]
		closeAfter := false
		for {
			if skip > 0 {
				k := min(skip, end-start)
				start += k
				skip -= k
				if skip > 0 {
					break
				}
			}
			i := bytes.Index(buf[start:end], crlf2)
			if i < 0 {
				break
			}
			head := buf[start : start+i+2]
			start += i + 4
			out = append(out, resp...)
			skip = contentLength(head)
			if hasConnectionClose(head) {
				closeAfter = true
				break
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
		if closeAfter {
			return
		}
	}
}

// contentLength finds a Content-Length field in a request head; no field or
// an invalid one counts as no body.
func contentLength(head []byte) int {
	i := indexFold(head, clName)
	if i < 0 {
		return 0
	}
	v := head[i+len(clName):]
	if j := bytes.IndexByte(v, '\r'); j >= 0 {
		v = v[:j]
	}
	n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
	if err != nil || n < 0 {
		log.Printf("upstream: ignoring invalid Content-Length %q", v)
		return 0
	}
	return n
}

func hasConnectionClose(head []byte) bool {
	i := indexFold(head, connHdr)
	if i < 0 {
		return false
	}
	v := head[i+len(connHdr):]
	if j := bytes.IndexByte(v, '\r'); j >= 0 {
		v = v[:j]
	}
	return bytes.Contains(bytes.ToLower(v), []byte("close"))
}

// indexFold is bytes.Index ignoring ASCII case of head; pat is lower case.
func indexFold(head, pat []byte) int {
	for i := 0; i+len(pat) <= len(head); i++ {
		if head[i] != '\n' {
			continue
		}
		if bytes.EqualFold(head[i:i+len(pat)], pat) {
			return i
		}
	}
	return -1
}
