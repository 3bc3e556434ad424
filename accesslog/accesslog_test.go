package accesslog

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/proxy"
)

func record(path string, status int) *proxy.Record {
	return &proxy.Record{
		Route:     &proxy.Route{Name: "users"},
		Target:    &proxy.Target{Addr: "127.0.0.1:9001"},
		Method:    []byte("GET"),
		Path:      []byte(path),
		Status:    status,
		Start:     1_000_000,
		End:       3_500_000,
		BytesIn:   120,
		BytesOut:  4096,
		ClientIP:  []byte("10.0.0.7"),
		RequestID: []byte("abc-1"),
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

func TestJSONLinesCarryTheRecord(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(p, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	l.Observe(record("/users/42", 200))
	r := record("/q\"uote\n\x01", 502)
	r.Error = "upstream connect failed"
	l.Observe(r)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, p)
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	var got struct {
		RequestID  string  `json:"request_id"`
		ClientIP   string  `json:"client_ip"`
		Method     string  `json:"method"`
		Path       string  `json:"path"`
		Status     int     `json:"status"`
		Route      string  `json:"route"`
		Target     string  `json:"target"`
		BytesOut   int64   `json:"bytes_out"`
		DurationMS float64 `json:"duration_ms"`
		Error      string  `json:"error"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatalf("%v: %s", err, lines[0])
	}
	if got.RequestID != "abc-1" || got.ClientIP != "10.0.0.7" || got.Path != "/users/42" || got.Status != 200 ||
		got.Route != "users" || got.Target != "127.0.0.1:9001" || got.BytesOut != 4096 || got.DurationMS != 2.5 {
		t.Fatalf("decoded %+v", got)
	}
	got.Error = ""
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil {
		t.Fatalf("escaping broke the line: %v: %s", err, lines[1])
	}
	if got.Path != "/q\"uote\n\x01" || got.Error != "upstream connect failed" {
		t.Fatalf("decoded %+v", got)
	}
}

func TestCommonLogFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(p, FormatCommon)
	if err != nil {
		t.Fatal(err)
	}
	l.Observe(record("/a b\"c", 404))
	l.Close()
	line := readLines(t, p)[0]
	if !strings.HasPrefix(line, "10.0.0.7 - - [") || !strings.HasSuffix(line, `] "GET /a b\x22c HTTP/1.1" 404 4096`) {
		t.Fatalf("line %q", line)
	}
}

func TestFullQueueDropsAndCounts(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// Nobody reads the pipe: the writer blocks once the pipe and its buffer are full, then the
	// queue fills, and Observe must drop rather than block.
	l := &Log{path: "pipe", format: FormatJSON, q: make(chan entry, QueueLen), reopen: make(chan chan error), stop: make(chan struct{}), done: make(chan struct{}), f: w, w: bufio.NewWriterSize(w, 64<<10)}
	go l.run()
	const n = QueueLen + 5000
	for i := 0; i < n*20; i++ {
		l.Observe(record("/x", 200))
	}
	if l.Drops() == 0 {
		t.Fatal("no drops with a blocked writer")
	}
	if l.Drops()+uint64(len(l.q))+l.Lines() > n*20 {
		t.Fatalf("accounting: drops %d queued %d written %d of %d", l.Drops(), len(l.q), l.Lines(), n*20)
	}
	w.Close() // unblock the writer so the goroutine can end
}

func TestReopenStartsANewFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "access.log")
	l, err := Open(p, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	l.Observe(record("/before", 200))
	for i := 0; l.Lines() < 1 && i < 5000; i++ {
		time.Sleep(time.Millisecond)
	}
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Observe(record("/after", 200))
	l.Close()
	if old := readLines(t, p+".1"); len(old) != 1 || !strings.Contains(old[0], "/before") {
		t.Fatalf("rotated file: %q", old)
	}
	if cur := readLines(t, p); len(cur) != 1 || !strings.Contains(cur[0], "/after") {
		t.Fatalf("new file: %q", cur)
	}
}
