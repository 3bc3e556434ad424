package gateway

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-gw/sluice/accesslog"
	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/proxy"
)

// startAccessLog opens the configured access log and adds it to the observers; SIGUSR1 reopens
// the file (log rotation). The log's path and format are fixed for the life of the process:
// a reload that changes them is reported and otherwise ignored for the log.
func (g *Gateway) startAccessLog(c *config.Config) error {
	if !c.AccessLog.Enabled() {
		return nil
	}
	l, err := accesslog.Open(c.AccessLog.Path, c.AccessLog.Format)
	if err != nil {
		return fmt.Errorf("access_log: %w", err)
	}
	g.accessLog = l
	if g.obs == nil {
		g.obs = l
	} else {
		g.obs = proxy.Observers{g.obs, l}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	g.stopSignals = func() { signal.Stop(sig); close(sig) }
	go func() {
		for range sig {
			if err := l.Reopen(); err != nil {
				fmt.Fprintf(os.Stderr, "sluice: reopening the access log: %v\n", err)
			}
		}
	}()
	return nil
}

// closeAccessLog writes what is queued and closes the log.
func (g *Gateway) closeAccessLog() error {
	if g.accessLog == nil {
		return nil
	}
	if g.stopSignals != nil {
		g.stopSignals()
		g.stopSignals = nil
	}
	return g.accessLog.Close()
}

// AccessLogDrops is the number of access log lines lost to a full queue (0 without a log).
func (g *Gateway) AccessLogDrops() uint64 {
	if g.accessLog == nil {
		return 0
	}
	return g.accessLog.Drops()
}
