package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-gw/sluice/admin"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestRunServesAdminAndReloadsTheSameFile runs `sluice run -c FILE` with an admin address,
// reloads through the admin API after editing FILE, and stops it with SIGTERM.
func TestRunServesAdminAndReloadsTheSameFile(t *testing.T) {
	up := freeAddr(t)
	adminAddr, listen := freeAddr(t), freeAddr(t)
	file := filepath.Join(t.TempDir(), "sluice.yaml")
	yaml := func(route string) string {
		return fmt.Sprintf("listen:\n  - address: %s\nadmin:\n  address: %s\nupstreams:\n  u:\n    targets:\n      - address: %s\nroutes:\n  - name: %s\n    match: { path_prefix: / }\n    upstream: u\n", listen, adminAddr, up, route)
	}
	if err := os.WriteFile(file, []byte(yaml("first")), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb syncBuffer
	code := make(chan int, 1)
	go func() { code <- runRun([]string{"-c", file}, runEnv{stdout: &out, stderr: &errb}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "admin API on") {
		if time.Now().After(deadline) {
			t.Fatalf("no admin line; stdout %q stderr %q", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	post := func(path string) (int, admin.ActionResult) {
		resp, err := http.Post("http://"+adminAddr+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ar admin.ActionResult
		body, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(body, &ar)
		return resp.StatusCode, ar
	}
	if err := os.WriteFile(file, []byte(yaml("second")), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, ar := post("/api/v1/reload"); c != 200 || ar.Version != 2 {
		t.Fatalf("reload: %d %+v", c, ar)
	}
	if err := os.WriteFile(file, []byte("routes: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if c, ar := post("/api/v1/reload"); c != http.StatusUnprocessableEntity || ar.Error == "" {
		t.Fatalf("bad reload: %d %+v", c, ar)
	}
	resp, err := http.Get("http://" + adminAddr + "/api/v1/routes")
	if err != nil {
		t.Fatal(err)
	}
	var routes []admin.RouteStats
	json.NewDecoder(resp.Body).Decode(&routes)
	resp.Body.Close()
	if len(routes) != 1 || routes[0].Name != "second" {
		// The routes come from the newest per-second aggregate; wait for one.
		time.Sleep(1100 * time.Millisecond)
		resp, _ = http.Get("http://" + adminAddr + "/api/v1/routes")
		json.NewDecoder(resp.Body).Decode(&routes)
		resp.Body.Close()
		if len(routes) != 1 || routes[0].Name != "second" {
			t.Fatalf("routes after reload: %+v", routes)
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGTERM)
	select {
	case c := <-code:
		if c != 0 || !strings.Contains(out.String(), "sluice: stopped") {
			t.Fatalf("exit %d stdout %q stderr %q", c, out.String(), errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not stop on SIGTERM")
	}
}

func TestRunRejectsABadConsoleFlag(t *testing.T) {
	var out, errb bytes.Buffer
	if c := runRun([]string{"--console=maybe"}, runEnv{stdout: &out, stderr: &errb}); c != 2 || !strings.Contains(errb.String(), "console") {
		t.Fatalf("exit %d stderr %q", c, errb.String())
	}
}

func TestConsoleRejectsBadArguments(t *testing.T) {
	var out, errb bytes.Buffer
	if c := runConsole([]string{"extra"}, nil, &out, &errb); c != 2 {
		t.Fatalf("exit %d", c)
	}
	if c := runConsole([]string{"--admin", "off"}, nil, &out, &errb); c != 2 {
		t.Fatalf("exit %d", c)
	}
	out.Reset()
	if c := runConsole([]string{"-h"}, nil, &out, &errb); c != 0 || !strings.Contains(out.String(), "--read-only") {
		t.Fatalf("exit %d help %q", c, out.String())
	}
}
