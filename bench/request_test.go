package bench

import (
	"strings"
	"testing"
)

func TestBuildRequestsWritesWireRequests(t *testing.T) {
	tests := []struct {
		name    string
		urls    []string
		method  string
		headers []string
		body    string
		addr    string
		want    []string
	}{
		{"get_default_port_and_path", []string{"http://example.test"}, "GET", nil, "", "example.test:80",
			[]string{"GET / HTTP/1.1\r\nHost: example.test\r\n\r\n"}},
		{"query_kept", []string{"http://127.0.0.1:8080/a/b?x=1&y=2"}, "GET", nil, "", "127.0.0.1:8080",
			[]string{"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"}},
		{"headers_and_body", []string{"http://127.0.0.1:1/p"}, "POST", []string{"Content-Type: application/json", "X-A:b"}, `{"k":1}`, "127.0.0.1:1",
			[]string{"POST /p HTTP/1.1\r\nHost: 127.0.0.1:1\r\nContent-Type: application/json\r\nX-A: b\r\nContent-Length: 7\r\n\r\n{\"k\":1}"}},
		{"empty_post_gets_zero_length", []string{"http://127.0.0.1:1/"}, "POST", nil, "", "127.0.0.1:1",
			[]string{"POST / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nContent-Length: 0\r\n\r\n"}},
		{"host_override", []string{"http://127.0.0.1:1/"}, "GET", []string{"Host: api.example"}, "", "127.0.0.1:1",
			[]string{"GET / HTTP/1.1\r\nHost: api.example\r\n\r\n"}},
		{"rotation_keeps_order", []string{"http://h:2/a", "http://h:2/b"}, "GET", nil, "", "h:2",
			[]string{"GET /a HTTP/1.1\r\nHost: h:2\r\n\r\n", "GET /b HTTP/1.1\r\nHost: h:2\r\n\r\n"}},
		{"ipv6_literal", []string{"http://[::1]:9/"}, "GET", nil, "", "[::1]:9",
			[]string{"GET / HTTP/1.1\r\nHost: [::1]:9\r\n\r\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, reqs, err := BuildRequests(tt.urls, tt.method, tt.headers, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if addr != tt.addr {
				t.Errorf("addr %q, want %q", addr, tt.addr)
			}
			if len(reqs) != len(tt.want) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.want))
			}
			for i, w := range tt.want {
				if string(reqs[i].Raw) != w {
					t.Errorf("request %d:\n%q\nwant\n%q", i, reqs[i].Raw, w)
				}
			}
		})
	}
}

func TestBuildRequestsRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		urls    []string
		method  string
		headers []string
	}{
		{"no_url", nil, "GET", nil},
		{"https", []string{"https://h/"}, "GET", nil},
		{"no_scheme", []string{"127.0.0.1:80/"}, "GET", nil},
		{"no_host", []string{"http:///x"}, "GET", nil},
		{"bad_port", []string{"http://h:99999/"}, "GET", nil},
		{"two_hosts", []string{"http://a:1/", "http://b:1/"}, "GET", nil},
		{"method_with_space", []string{"http://h/"}, "G T", nil},
		{"header_without_colon", []string{"http://h/"}, "GET", []string{"X-A"}},
		{"header_name_with_space", []string{"http://h/"}, "GET", []string{"X A: b"}},
		{"header_value_with_crlf", []string{"http://h/"}, "GET", []string{"X-A: b\r\nX-B: c"}},
		{"framing_header", []string{"http://h/"}, "GET", []string{"Transfer-Encoding: chunked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := BuildRequests(tt.urls, tt.method, tt.headers, nil); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func TestParseRequestFileSplitsBackToBackRequests(t *testing.T) {
	file := "GET /a HTTP/1.1\nHost: h\n\n" +
		"\n" +
		"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
		"HEAD /c HTTP/1.1\nHost: h\n\n"
	reqs, err := ParseRequestFile([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /a HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n",
	}
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(reqs), len(want))
	}
	for i := range want {
		if string(reqs[i].Raw) != want[i] {
			t.Errorf("request %d: %q, want %q", i, reqs[i].Raw, want[i])
		}
	}
	if reqs[0].Head || reqs[1].Head || !reqs[2].Head {
		t.Errorf("HEAD flags %v %v %v", reqs[0].Head, reqs[1].Head, reqs[2].Head)
	}
}

func TestParseRequestFileRejectsMalformedFiles(t *testing.T) {
	tests := map[string]string{
		"empty":             "\n\n",
		"unterminated_head": "GET / HTTP/1.1\nHost: h\n",
		"bad_request_line":  "GET /\n\n",
		"bad_version":       "GET / HTTP/2\n\n",
		"bad_header":        "GET / HTTP/1.1\nno colon\n\n",
		"short_body":        "POST / HTTP/1.1\nContent-Length: 10\n\nabc",
		"bad_length":        "POST / HTTP/1.1\nContent-Length: -1\n\n",
		"duplicate_lengths": "POST / HTTP/1.1\nContent-Length: 1\nContent-Length: 2\n\nab",
		"chunked":           "POST / HTTP/1.1\nTransfer-Encoding: chunked\n\n0\n\n",
	}
	for name, file := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRequestFile([]byte(file)); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func FuzzParseRequestFile(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	f.Add([]byte("POST /b HTTP/1.1\nHost: h\nContent-Length: 5\n\nhelloGET / HTTP/1.1\n\n"))
	f.Add([]byte("HEAD / HTTP/1.0\n\n\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		reqs, err := ParseRequestFile(data)
		if err != nil {
			return
		}
		for _, r := range reqs {
			// Every request we send must end its head with CRLF CRLF and
			// reparse to itself.
			if !strings.Contains(string(r.Raw), "\r\n\r\n") {
				t.Fatalf("request without head end: %q", r.Raw)
			}
			again, err := ParseRequestFile(r.Raw)
			if err != nil || len(again) != 1 || string(again[0].Raw) != string(r.Raw) {
				t.Fatalf("request %q does not reparse to itself: %v", r.Raw, err)
			}
		}
	})
}
