package gnet

import (
	"testing"

	"github.com/sluice-gw/sluice/engine"
	"github.com/sluice-gw/sluice/engine/enginetest"
)

// TestConformance runs the backend-independent engine suite on the gnet backend. PauseRead
// and StopAccepting are reported as skipped: gnet returns engine.ErrNotSupported for them.
func TestConformance(t *testing.T) {
	enginetest.Run(t, func(t *testing.T, h engine.Handler, addrs []string, o engine.Options) engine.Server {
		t.Helper()
		s, err := Start(h, addrs, o)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		return s
	})
}
