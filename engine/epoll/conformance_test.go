//go:build linux

package epoll

import (
	"testing"

	"github.com/sluice-gw/sluice/engine"
	"github.com/sluice-gw/sluice/engine/enginetest"
)

func startForTest(t *testing.T, h engine.Handler, addrs []string, o engine.Options) engine.Server {
	t.Helper()
	s, err := Start(h, addrs, o)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, startForTest)
}
