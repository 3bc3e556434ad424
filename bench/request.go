package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Request is one raw HTTP/1.1 request of the rotation, sent byte for byte.
type Request struct {
	Raw  []byte
	Head bool // a HEAD request: its response has no body (RFC 9110 §9.3.2)
}

// BuildRequests turns URLs into raw requests and the single address all of
// them are sent to. Every URL must name the same host and port: connections
// are kept alive and shared by the whole rotation.
func BuildRequests(urls []string, method string, headers []string, body []byte) (string, []Request, error) {
	if len(urls) == 0 {
		return "", nil, errors.New("no URL given")
	}
	if method == "" {
		method = "GET"
	}
	if !isToken(method) {
		return "", nil, fmt.Errorf("invalid method %q", method)
	}
	hdrs, hostOverride, err := parseHeaderFlags(headers)
	if err != nil {
		return "", nil, err
	}
	var addr string
	reqs := make([]Request, 0, len(urls))
	for _, raw := range urls {
		a, hostHeader, target, err := parseURL(raw)
		if err != nil {
			return "", nil, err
		}
		if addr != "" && a != addr {
			return "", nil, fmt.Errorf("URL %q: all URLs must share one host:port (%s)", raw, addr)
		}
		addr = a
		if hostOverride != "" {
			hostHeader = hostOverride
		}
		var b bytes.Buffer
		fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, target, hostHeader)
		b.Write(hdrs)
		// RFC 9110 §8.6: a body needs its length announced; an empty body on a
		// method that defines body semantics gets Content-Length: 0.
		if len(body) > 0 || method == "POST" || method == "PUT" || method == "PATCH" {
			fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
		}
		b.WriteString("\r\n")
		b.Write(body)
		reqs = append(reqs, Request{Raw: b.Bytes(), Head: method == "HEAD"})
	}
	return addr, reqs, nil
}

// AddrOf returns the host:port a URL points at, for --request-file runs.
func AddrOf(rawURL string) (string, error) {
	a, _, _, err := parseURL(rawURL)
	return a, err
}

func parseURL(raw string) (addr, host, target string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", fmt.Errorf("URL %q: %v", raw, err)
	}
	if u.Scheme != "http" {
		return "", "", "", fmt.Errorf("URL %q: only http:// is supported", raw)
	}
	if u.Hostname() == "" {
		return "", "", "", fmt.Errorf("URL %q: no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", "", "", fmt.Errorf("URL %q: invalid port", raw)
	}
	target = u.RequestURI()
	if u.Fragment != "" || strings.ContainsAny(target, " \r\n") {
		return "", "", "", fmt.Errorf("URL %q: invalid request target", raw)
	}
	return net.JoinHostPort(u.Hostname(), port), u.Host, target, nil
}

// parseHeaderFlags checks each "Name: value" (RFC 9110 §5.1, §5.5) and
// returns them as wire bytes, plus a Host override if one was given.
func parseHeaderFlags(headers []string) ([]byte, string, error) {
	var b bytes.Buffer
	host := ""
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || !isToken(name) {
			return nil, "", fmt.Errorf("header %q: want \"Name: value\"", h)
		}
		value = strings.TrimSpace(value)
		if strings.ContainsAny(value, "\r\n\x00") {
			return nil, "", fmt.Errorf("header %q: value has CR, LF or NUL", h)
		}
		if strings.EqualFold(name, "Host") {
			host = value
			continue
		}
		if strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Transfer-Encoding") {
			return nil, "", fmt.Errorf("header %q: framing headers are set from --body", h)
		}
		fmt.Fprintf(&b, "%s: %s\r\n", name, value)
	}
	return b.Bytes(), host, nil
}

// isToken reports whether s is an RFC 9110 §5.6.2 token.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// ParseRequestFile splits a file of raw requests written back to back. Lines
// may end in LF (as editors write them); they are sent with CRLF. Bodies are
// framed by Content-Length; chunked request bodies are not supported.
func ParseRequestFile(data []byte) ([]Request, error) {
	var reqs []Request
	for {
		// Blank lines between requests are tolerated (RFC 9112 §2.2 lets a
		// server ignore empty lines before a request-line).
		for len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
			data = data[1:]
		}
		if len(data) == 0 {
			break
		}
		var head bytes.Buffer
		length := -1
		method := ""
		for first := true; ; first = false {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				return nil, fmt.Errorf("request %d: head not terminated by an empty line", len(reqs)+1)
			}
			line := bytes.TrimSuffix(data[:i], []byte("\r"))
			data = data[i+1:]
			if len(line) == 0 {
				break
			}
			if first {
				parts := strings.Split(string(line), " ")
				if len(parts) != 3 || !isToken(parts[0]) || !strings.HasPrefix(parts[2], "HTTP/1.") {
					return nil, fmt.Errorf("request %d: bad request line %q", len(reqs)+1, line)
				}
				method = parts[0]
			} else {
				name, value, ok := strings.Cut(string(line), ":")
				if !ok || !isToken(name) {
					return nil, fmt.Errorf("request %d: bad header line %q", len(reqs)+1, line)
				}
				switch {
				case strings.EqualFold(name, "Content-Length"):
					n, err := strconv.Atoi(strings.TrimSpace(value))
					if err != nil || n < 0 || (length >= 0 && n != length) {
						return nil, fmt.Errorf("request %d: bad Content-Length %q", len(reqs)+1, value)
					}
					length = n
				case strings.EqualFold(name, "Transfer-Encoding"):
					return nil, fmt.Errorf("request %d: Transfer-Encoding is not supported in request files", len(reqs)+1)
				}
			}
			head.Write(line)
			head.WriteString("\r\n")
		}
		head.WriteString("\r\n")
		if length > 0 {
			if len(data) < length {
				return nil, fmt.Errorf("request %d: body shorter than Content-Length %d", len(reqs)+1, length)
			}
			head.Write(data[:length])
			data = data[length:]
		}
		reqs = append(reqs, Request{Raw: head.Bytes(), Head: method == "HEAD"})
	}
	if len(reqs) == 0 {
		return nil, errors.New("request file holds no request")
	}
	return reqs, nil
}
