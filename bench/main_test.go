package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = mainIO(args, &out, &errb, false)
	return code, out.String(), errb.String()
}

func TestMainRejectsBadArgumentsWithOneLine(t *testing.T) {
	tests := map[string][]string{
		"unknown_flag":        {"--nope", "http://127.0.0.1:1/"},
		"no_url":              {"-c", "1"},
		"zero_connections":    {"-c", "0", "http://127.0.0.1:1/"},
		"negative_rate":       {"--rate", "-5", "http://127.0.0.1:1/"},
		"pipeline_zero":       {"--pipeline", "0", "http://127.0.0.1:1/"},
		"body_and_body_file":  {"--body", "x", "--body-file", "f", "http://127.0.0.1:1/"},
		"missing_body_file":   {"--body-file", "/nonexistent/file", "http://127.0.0.1:1/"},
		"request_file_2_urls": {"--request-file", "f", "http://127.0.0.1:1/", "http://127.0.0.1:1/b"},
		"merge_one_file":      {"--merge", "a.json"},
		"compare_three":       {"--compare", "a", "b", "c"},
		"merge_and_compare":   {"--merge", "--compare", "a", "b"},
		"bad_header":          {"-H", "nocolon", "http://127.0.0.1:1/"},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "sluice bench: ") {
				t.Errorf("stdout %q stderr %q, want one error line", stdout, stderr)
			}
		})
	}
}

func TestMainJSONOutMergeAndCompare(t *testing.T) {
	v := loadSchema(t)
	srv := newTestServer(t)
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json")

	code, stdout, stderr := runMain(t, "-c", "2", "--requests", "200", "--json", "--out", a, srv.url("/ok"), srv.url("/missing"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if err := validateJSON(t, v, []byte(stdout)); err != nil {
		t.Fatalf("--json output: %v", err)
	}
	fileData, err := os.ReadFile(a)
	if err != nil || string(fileData) != stdout {
		t.Fatalf("--out file differs from --json output (%v)", err)
	}

	code, stdout, stderr = runMain(t, "-c", "1", "--requests", "100", "-q", "--out", b, srv.url("/ok"))
	if code != 0 || !strings.Contains(stdout, "status  200: 100") {
		t.Fatalf("exit %d summary %q stderr %q", code, stdout, stderr)
	}

	code, stdout, stderr = runMain(t, "--merge", a, b)
	if code != 0 {
		t.Fatalf("merge exit %d: %s", code, stderr)
	}
	if err := validateJSON(t, v, []byte(stdout)); err != nil {
		t.Fatalf("merged report: %v", err)
	}
	var m Result
	json.Unmarshal([]byte(stdout), &m)
	if m.Requests != 300 || m.Status["200"] != 200 || m.Status["404"] != 100 || m.Runs != 2 {
		t.Errorf("merged requests %d status %v runs %d", m.Requests, m.Status, m.Runs)
	}

	code, stdout, stderr = runMain(t, "--compare", a, b)
	if code != 0 {
		t.Fatalf("compare exit %d: %s", code, stderr)
	}
	for _, want := range []string{"req/s", "latency p50", "latency p99", "latency max", "B/A", "responses", "200", "100", "0.50x"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("comparison lacks %q:\n%s", want, stdout)
		}
	}
}

func TestMainExitsOneWhenNothingAnswered(t *testing.T) {
	srv := newTestServer(t)
	code, stdout, stderr := runMain(t, "-c", "1", "--requests", "3", "-q", srv.url("/reset"))
	if code != 1 || !strings.Contains(stdout, "reset 3") || !strings.Contains(stderr, "no response") {
		t.Errorf("exit %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func TestMainReadsRequestFile(t *testing.T) {
	srv := newTestServer(t)
	f := filepath.Join(t.TempDir(), "reqs.http")
	os.WriteFile(f, []byte("GET /ok HTTP/1.1\nHost: x\n\nPOST /fail HTTP/1.1\nHost: x\nContent-Length: 3\n\nabc"), 0o644)
	code, stdout, stderr := runMain(t, "-c", "1", "--requests", "10", "--json", "--request-file", f, srv.url("/"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r Result
	json.Unmarshal([]byte(stdout), &r)
	if r.Status["200"] != 5 || r.Status["500"] != 5 {
		t.Errorf("status %v, want 5 x 200 and 5 x 500", r.Status)
	}
}
