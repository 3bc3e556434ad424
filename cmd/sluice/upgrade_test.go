package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBinaryUpgradeRefusesNothing runs the real binary under a steady load of new and
// keep-alive connections, starts a second one with -replace, and checks that the first drains
// and exits while not one connection is refused and not one request fails.
func TestBinaryUpgradeRefusesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs for seconds")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go up.Serve(upLn)
	defer up.Close()

	listen, adminAddr := freeAddr(t), freeAddr(t)
	cfgFile := filepath.Join(dir, "sluice.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`listen:
  - address: %s
admin:
  address: %s
shutdown_timeout: 10s
upstreams:
  u:
    targets: [{address: %s}]
routes:
  - match: { path_prefix: / }
    upstream: u
`, listen, adminAddr, upLn.Addr())), 0o644)
	pidFile := filepath.Join(dir, "sluice.pid")

	start := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		var out bytes.Buffer
		cmd := exec.Command(bin, append([]string{"run", "-c", cfgFile, "-pidfile", pidFile}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &out
	}
	old, oldOut := start()
	waitFor(t, "the old process to listen", func() bool {
		c, err := net.Dial("tcp", listen)
		if err == nil {
			c.Close()
		}
		return err == nil
	})

	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	load := func(keepAlive bool) {
		defer wg.Done()
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive}}
		defer client.CloseIdleConnections()
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := client.Get("http://" + listen + "/x")
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != 200 {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			} else {
				ok.Add(1)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go load(true)
		go load(false) // a new connection per request: the accept path is exercised throughout
	}
	time.Sleep(700 * time.Millisecond)
	before := ok.Load()
	_, newOut := start("-replace", strconv.Itoa(old.Process.Pid))
	exited := make(chan error, 1)
	go func() { exited <- old.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("old process: %v\n%s", err, oldOut)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the old process did not exit\n%s", oldOut)
	}
	time.Sleep(700 * time.Millisecond) // load on the new process alone
	close(stop)
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed (first: %v) of %d\nold:\n%s\nnew:\n%s", failed.Load(), firstErr.Load(), ok.Load(), oldOut, newOut)
	}
	if ok.Load()-before < 100 {
		t.Fatalf("only %d requests after the switch", ok.Load()-before)
	}
	if !strings.Contains(oldOut.String(), "stopped") {
		t.Fatalf("the old process did not drain cleanly:\n%s", oldOut)
	}
	// The new process holds the admin API once the old one let go of it.
	waitFor(t, "the new admin API", func() bool {
		resp, err := http.Get("http://" + adminAddr + "/api/v1/stats")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	pid, _ := os.ReadFile(pidFile)
	if strings.TrimSpace(string(pid)) == strconv.Itoa(old.Process.Pid) {
		t.Fatal("the pid file still names the old process")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
