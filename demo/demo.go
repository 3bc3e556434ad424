// Package demo runs the example upstreams of `sluice run` without a configuration file: two
// "users" servers and one "orders" server on loopback, so that a newcomer has something real to
// proxy to at once.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Upstream describes one example server.
type Upstream struct {
	Name string
	Addr string
}

// Default are the servers the embedded demo configuration points at.
var Default = []Upstream{
	{Name: "users-a", Addr: "127.0.0.1:9001"},
	{Name: "users-b", Addr: "127.0.0.1:9002"},
	{Name: "orders", Addr: "127.0.0.1:9003"},
}

// Servers are running example upstreams.
type Servers struct {
	srvs []*http.Server
	wg   sync.WaitGroup
}

// Start listens on every address of ups; it fails if any address is taken.
func Start(ups []Upstream) (*Servers, error) {
	s := &Servers{}
	for _, u := range ups {
		ln, err := net.Listen("tcp", u.Addr)
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("demo upstream %s: %w", u.Name, err)
		}
		srv := &http.Server{Handler: Handler(u.Name), ReadHeaderTimeout: 5 * time.Second}
		s.srvs = append(s.srvs, srv)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = srv.Serve(ln)
		}()
	}
	return s, nil
}

// Close stops the servers.
func (s *Servers) Close() error {
	var errs []error
	for _, srv := range s.srvs {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		cancel()
	}
	s.wg.Wait()
	return errors.Join(errs...)
}

type user struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

var users = []user{{1, "ada"}, {2, "grace"}, {3, "linus"}, {4, "barbara"}}

// Handler serves the example API of one server, named in every answer so that balancing shows:
//
//	GET /users/          the user list
//	GET /users/{id}      one user, 404 when unknown
//	GET /orders/         a few orders
//	GET /status/{code}   answers with that status
//	GET /delay/{ms}      answers after ms milliseconds (at most 10 s)
//	*   anything else    echoes method, path and headers
func Handler(name string) http.Handler {
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", name)
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /users/{$}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]any{"server": name, "users": users})
	})
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, _ := strconv.Atoi(r.PathValue("id"))
		for _, u := range users {
			if u.ID == id {
				reply(w, 200, map[string]any{"server": name, "user": u})
				return
			}
		}
		reply(w, 404, map[string]any{"server": name, "error": "no such user"})
	})
	mux.HandleFunc("GET /orders/", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, map[string]any{"server": name, "orders": []map[string]any{
			{"id": 101, "user": 1, "total": 42.5}, {"id": 102, "user": 3, "total": 7},
		}})
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 200 || code > 599 {
			code = 400
		}
		reply(w, code, map[string]any{"server": name, "status": code})
	})
	mux.HandleFunc("/delay/{ms}", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.PathValue("ms"))
		ms = min(max(ms, 0), 10000)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		reply(w, 200, map[string]any{"server": name, "delayed_ms": ms})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		hdr := map[string]string{}
		for k, v := range r.Header {
			hdr[k] = strings.Join(v, ", ")
		}
		reply(w, 200, map[string]any{"server": name, "method": r.Method, "path": r.URL.RequestURI(), "headers": hdr})
	})
	return mux
}
