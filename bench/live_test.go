package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

func TestProgressReportsIntervalRateAndLatency(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"))
	run, err := Start(context.Background(), withTestEngine(Config{Addr: addr, Requests: reqs, Connections: 2, Rate: 1000, Duration: 600 * time.Millisecond, Pipeline: 1, Timeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	p1 := run.Progress()
	res := run.Wait()
	p2 := run.Progress()
	if p1.Requests < 100 || p1.Requests > 500 {
		t.Errorf("first snapshot: %d responses after 300ms at 1000/s", p1.Requests)
	}
	if p1.RPS < 500 || p1.RPS > 1500 || p1.P50 <= 0 || p1.P99 < p1.P50 {
		t.Errorf("first snapshot: rps %.0f p50 %v p99 %v", p1.RPS, p1.P50, p1.P99)
	}
	if p2.Requests != res.Requests || p2.Requests != 600 {
		t.Errorf("final snapshot %d responses, result %d, want 600", p2.Requests, res.Requests)
	}
	// The second interval holds only what came after the first snapshot.
	if got := p2.Requests - p1.Requests; got < 100 {
		t.Errorf("second interval has %d responses", got)
	}
	if line := p1.line(); !strings.Contains(line, "req/s") || !strings.Contains(line, "p99") {
		t.Errorf("progress line %q", line)
	}
}

func TestLiveModelUpdatesQuitsAndStops(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/hang"))
	run, err := Start(context.Background(), withTestEngine(Config{Addr: addr, Requests: reqs, Connections: 1, Duration: time.Minute, Pipeline: 1, Timeout: time.Minute, Targets: []string{"http://x/"}}))
	if err != nil {
		t.Fatal(err)
	}
	m := liveModel{run: run, title: "http://x/", total: time.Minute}
	next, cmd := m.Update(tickMsg(time.Now()))
	m = next.(liveModel)
	if cmd == nil || !m.started {
		t.Error("a tick must refresh and schedule the next tick")
	}
	view := m.View()
	for _, want := range []string{"sluice bench http://x/", "req/s", "p50", "p99", "errors", "q to stop"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	next, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("q")})
	m = next.(liveModel)
	select {
	case <-run.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("q did not stop the run")
	}
	_, cmd = m.Update(finishedMsg{})
	if cmd == nil {
		t.Fatal("finished must quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Error("finished did not return tea.Quit")
	}
}
