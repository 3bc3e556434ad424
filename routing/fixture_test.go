package routing

import (
	"fmt"
	"strconv"
)

// headerList is an allocation-free Headers for tests and benchmarks, the
// shape a parsed request view has: a short list of lower-case names.
type headerList struct {
	names  []string
	values [][]byte
}

func (h *headerList) Header(name string) ([]byte, bool) {
	for i, n := range h.names {
		if n == name {
			return h.values[i], true
		}
	}
	return nil, false
}

// benchRequest is one request of a realistic mix.
type benchRequest struct {
	host, method, path, query []byte
	want                      string // route name, "" for a miss
}

// realisticSpecs builds n routes the way a gateway fronting many services is
// configured: most routes for any host, some per virtual host and some per
// wildcard domain; per service a prefix, an exact health check, templates
// with parameters, a versioned prefix and conditional (method, header,
// query) variants.
func realisticSpecs(n int) []Spec {
	specs := make([]Spec, 0, n)
	for i := 0; len(specs) < n; i++ {
		svc := "/svc" + strconv.Itoa(i)
		host := ""
		switch i % 10 {
		case 1, 2:
			host = fmt.Sprintf("h%d.example.com", i%50)
		case 3:
			host = fmt.Sprintf("*.t%d.example.net", i%20)
		}
		add := func(s Spec) {
			if len(specs) < n {
				s.Host = host
				s.Name = fmt.Sprintf("r%d", len(specs))
				specs = append(specs, s)
			}
		}
		add(Spec{PathPrefix: svc + "/"})
		add(Spec{Path: svc + "/health"})
		add(Spec{PathTemplate: svc + "/users/{id}"})
		add(Spec{PathTemplate: svc + "/users/{id}/orders/{oid}", Methods: []string{"GET", "HEAD"}})
		add(Spec{PathPrefix: svc + "/v2", Headers: []HeaderMatch{{"x-api-version", "2"}}})
		add(Spec{PathTemplate: svc + "/files/{path...}"})
		add(Spec{PathPrefix: svc + "/search", Query: []HeaderMatch{{"beta", "1"}}})
		add(Spec{Path: svc + "/login", Methods: []string{"POST"}})
		add(Spec{PathTemplate: svc + "/{kind}/{id}/meta"})
		add(Spec{PathPrefix: svc + "/static"})
	}
	return specs
}

// realisticRequests returns requests hitting routes spread over a table of
// realisticSpecs(n), plus a few misses and fallbacks.
func realisticRequests(n int) []benchRequest {
	services := (n + 9) / 10
	var out []benchRequest
	for k := 0; k < 8; k++ {
		i := (k * 7919) % services
		if n < 10 {
			i = 0
		}
		svc := "/svc" + strconv.Itoa(i)
		host := "gw.example.org"
		switch i % 10 {
		case 1, 2:
			host = fmt.Sprintf("h%d.example.com:8443", i%50)
		case 3:
			host = fmt.Sprintf("edge.T%d.example.net", i%20)
		}
		out = append(out,
			benchRequest{host: []byte(host), method: []byte("GET"), path: []byte(svc + "/users/12345/orders/678")},
			benchRequest{host: []byte(host), method: []byte("GET"), path: []byte(svc + "/health")},
			benchRequest{host: []byte(host), method: []byte("GET"), path: []byte(svc + "/v2/items/9"), query: []byte("limit=10")},
			benchRequest{host: []byte(host), method: []byte("GET"), path: []byte(svc + "/search/all"), query: []byte("q=shoes&beta=1")},
			benchRequest{host: []byte(host), method: []byte("GET"), path: []byte(svc + "/files/a/b/c.txt")},
			benchRequest{host: []byte(host), method: []byte("GET"), path: []byte(svc + "/login")}, // falls back to the prefix
			benchRequest{host: []byte(host), method: []byte("GET"), path: []byte("/nowhere/at/all")},
		)
	}
	return out
}

var benchHeaders = &headerList{
	names:  []string{"x-api-version", "accept", "user-agent"},
	values: [][]byte{[]byte("2"), []byte("application/json"), []byte("bench/1.0")},
}
