package admin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to an admin API: the console's only way to the gateway.
type Client struct {
	// Base is "http://host:port"; a bare "host:port" is accepted by NewClient.
	Base  string
	Token string
	HTTP  *http.Client // for the requests; the stream uses its own without a timeout
}

// NewClient returns a client for addr ("host:port" or a URL).
func NewClient(addr, token string) *Client {
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	return &Client{Base: strings.TrimRight(addr, "/"), Token: token, HTTP: &http.Client{Timeout: 5 * time.Second}}
}

// maxFrame bounds one stream line, so a broken server cannot make the console grow.
const maxFrame = 8 << 20

func (c *Client) request(ctx context.Context, method, path string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	return req, nil
}

func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := c.request(ctx, method, path)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFrame))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var ar ActionResult
		if json.Unmarshal(body, &ar) == nil && ar.Error != "" {
			return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, ar.Error)
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return json.Unmarshal(body, out)
}

// Stats fetches GET /api/v1/stats.
func (c *Client) Stats(ctx context.Context) (Stats, error) {
	var s Stats
	return s, c.do(ctx, http.MethodGet, "/api/v1/stats", &s)
}

// Upstreams fetches GET /api/v1/upstreams.
func (c *Client) Upstreams(ctx context.Context) ([]UpstreamStats, error) {
	var u []UpstreamStats
	return u, c.do(ctx, http.MethodGet, "/api/v1/upstreams", &u)
}

// TargetAction posts drain, undrain or reset for one target.
func (c *Client) TargetAction(ctx context.Context, upstream, addr, action string) (ActionResult, error) {
	var ar ActionResult
	p := "/api/v1/upstreams/" + url.PathEscape(upstream) + "/targets/" + url.PathEscape(addr) + "/" + url.PathEscape(action)
	return ar, c.do(ctx, http.MethodPost, p, &ar)
}

// Reload posts /api/v1/reload.
func (c *Client) Reload(ctx context.Context) (ActionResult, error) {
	var ar ActionResult
	return ar, c.do(ctx, http.MethodPost, "/api/v1/reload", &ar)
}

// ErrStreamEnded is returned by Stream when the server closed the stream.
var ErrStreamEnded = errors.New("admin: event stream ended")

// Stream reads GET /api/v1/events and calls fn with every frame until ctx ends or the
// connection breaks. idle bounds the silence between frames (the server sends one a second).
func (c *Client) Stream(ctx context.Context, idle time.Duration, fn func(Frame)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := c.request(ctx, http.MethodGet, "/api/v1/events")
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	tr := &http.Client{Transport: c.transport()}
	resp, err := tr.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /api/v1/events: %s", resp.Status)
	}
	// A watchdog cancels the request when no frame arrived within idle: a gateway that froze
	// or a half-open connection shows as a disconnection, not as a still screen.
	beat := make(chan struct{}, 1)
	go func() {
		t := time.NewTimer(idle)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-beat:
				t.Reset(idle)
			case <-t.C:
				cancel()
				return
			}
		}
	}()
	err = ReadFrames(resp.Body, func(f Frame) {
		select {
		case beat <- struct{}{}:
		default:
		}
		fn(f)
	})
	if err != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return err
}

// ReadFrames parses a server-sent event stream of frames (WHATWG HTML, "Server-sent events":
// "data:" lines joined by newlines, dispatched at a blank line; other fields and comments are
// ignored) and calls fn with each. It returns ErrStreamEnded at the end of r. A line longer
// than 8 MiB or a frame that is not JSON is an error.
func ReadFrames(r io.Reader, fn func(Frame)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxFrame)
	var data bytes.Buffer
	for sc.Scan() {
		line := bytes.TrimSuffix(sc.Bytes(), []byte("\r"))
		switch {
		case len(line) == 0:
			if data.Len() > 0 {
				var f Frame
				if err := json.Unmarshal(data.Bytes(), &f); err != nil {
					return fmt.Errorf("admin: bad frame: %w", err)
				}
				data.Reset()
				fn(f)
			}
		case bytes.HasPrefix(line, []byte("data:")):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			if data.Len()+len(line) > maxFrame {
				return errors.New("admin: frame too large")
			}
			v := line[len("data:"):]
			data.Write(bytes.TrimPrefix(v, []byte(" ")))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return ErrStreamEnded
}

func (c *Client) transport() http.RoundTripper {
	if c.HTTP != nil && c.HTTP.Transport != nil {
		return c.HTTP.Transport
	}
	return http.DefaultTransport
}
