//go:build linux

package config

import "testing"

func TestDefaultEngineIsEpollOnLinux(t *testing.T) {
	c, err := Parse("t.yaml", []byte("listen: [{address: 127.0.0.1:8080}]\nupstreams: {u: {targets: [{address: 127.0.0.1:9001}]}}\nroutes: [{match: {path_prefix: /}, upstream: u}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Engine != EngineEpoll {
		t.Fatalf("default engine on Linux = %q, want epoll", c.Engine)
	}
}
