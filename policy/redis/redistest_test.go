package redis

import (
	"net"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// redisServer is a redis-server child process on a loopback port.
type redisServer struct {
	t    testing.TB
	Addr string
	port string
	cmd  *exec.Cmd
}

// startRedis runs redis-server on a free loopback port, or skips the test
// when the binary is missing (scripts/deps.sh test installs it).
func startRedis(t testing.TB) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server not installed (run scripts/deps.sh test, or apt-get install redis-server)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	r := &redisServer{t: t, Addr: "127.0.0.1:" + port, port: port}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Start (re)starts the server on its port and waits until it accepts.
func (r *redisServer) Start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", "--port", r.port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning")
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("redis-server: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.t.Fatalf("redis-server on %s never accepted", r.Addr)
}

// Stop kills the server and waits for it to exit.
func (r *redisServer) Stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// waitFor polls cond for up to 5s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func strconvItoa(n int64) string { return strconv.FormatInt(n, 10) }
