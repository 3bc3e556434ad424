package console

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/sluice-gw/sluice/admin"
)

// recorder is an Actions that records what the console asked for.
type recorder struct {
	mu    sync.Mutex
	calls []string
	fail  error
}

func (r *recorder) TargetAction(_ context.Context, upstream, addr, action string) (admin.ActionResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, action+" "+upstream+"/"+addr)
	return admin.ActionResult{OK: r.fail == nil, Changed: true}, r.fail
}

func (r *recorder) Reload(context.Context) (admin.ActionResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "reload")
	return admin.ActionResult{OK: true, Changed: true, Version: 7}, nil
}

var clockNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func frame() admin.Frame {
	return admin.Frame{
		Stats: admin.Stats{
			Instance: "edge-1", Seq: 5, UptimeSeconds: 3725, ConfigVersion: 3, Connections: 42,
			RPS: 523.4, ErrorRate: 0.02, P50Ms: 1.25, P99Ms: 18.5,
			LastReload: &admin.Reload{At: clockNow, OK: true, Version: 3},
			Routes: []admin.RouteStats{
				{Name: "users", Upstream: "users", Match: "/users/", RPS: 500, Rate2xx: 480, Rate5xx: 10, P50Ms: 1.2, P99Ms: 9, History: []float64{1, 2, 4, 8}, ErrHistory: []float64{0, 0, 0, 1}},
				{Name: "orders", Upstream: "orders", Match: "/orders/", RPS: 23.4, Rate2xx: 23.4, P50Ms: 2, P99Ms: 40},
			},
			Upstreams: []admin.UpstreamStats{
				{Name: "users", Targets: []admin.TargetStats{
					{Addr: "127.0.0.1:9001", State: "up", Weight: 1, RPS: 250, EWMAMs: 1.1},
					{Addr: "127.0.0.1:9002", State: "failing", Failing: true, Consecutive: 12, Weight: 1, RPS: 250, ErrorRate: 1, Trips: 2},
				}},
				{Name: "orders", Targets: []admin.TargetStats{{Addr: "127.0.0.1:9003", State: "up", Weight: 2}}},
			},
		},
		Tail: []admin.TailEntry{
			{Seq: 1, At: clockNow, Route: "users", Target: "127.0.0.1:9001", Upstream: "users", Method: "GET", Path: "/users/1", Status: 200, DurationMs: 1.5},
			{Seq: 2, At: clockNow, Route: "users", Target: "127.0.0.1:9002", Upstream: "users", Method: "GET", Path: "/users/2", Status: 502, DurationMs: 0.4, Error: "connection refused"},
			{Seq: 3, At: clockNow, Route: "orders", Target: "127.0.0.1:9003", Upstream: "orders", Method: "POST", Path: "/orders/", Status: 201, DurationMs: 3},
		},
		Events: []admin.Event{{Seq: 1, At: clockNow, Kind: "health", Level: "error", Subject: "users/127.0.0.1:9002", Detail: "failing: 3 consecutive errors"}},
	}
}

func newModel(o Options) Model {
	o.Now = func() time.Time { return clockNow }
	if o.Admin == "" {
		o.Admin = "127.0.0.1:9901"
	}
	m := New(o)
	return step(m, tea.WindowSizeMsg{Width: 140, Height: 30})
}

func step(m Model, msgs ...tea.Msg) Model {
	for _, msg := range msgs {
		nm, _ := m.Update(msg)
		m = nm.(Model)
	}
	return m
}

func keys(s string) []tea.Msg {
	var out []tea.Msg
	for _, r := range s {
		out = append(out, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
	}
	return out
}

var (
	keyTab   = tea.KeyMsg{Type: tea.KeyTab}
	keyEnter = tea.KeyMsg{Type: tea.KeyEnter}
	keyEsc   = tea.KeyMsg{Type: tea.KeyEsc}
	keyDown  = tea.KeyMsg{Type: tea.KeyDown}
)

func mustContain(t *testing.T, view string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(view, w) {
			t.Fatalf("view lacks %q:\n%s", w, view)
		}
	}
}

func TestWaitsForTheGatewayBeforeTheFirstFrame(t *testing.T) {
	m := newModel(Options{})
	mustContain(t, m.View(), "waiting for the gateway at 127.0.0.1:9901", "connecting")
}

func TestHeaderAndRoutesShowTheFrame(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()))
	v := m.View()
	mustContain(t, v, "edge-1", "● live", "up 1h2m5s", "config v3", "reload ok", "conns 42", "rps 523", "errors 2.0%", "p50 1.2ms", "p99 18.5ms")
	mustContain(t, v, "ROUTE", "users", "orders", "/s", "▂▄█")
}

func TestViewsSwitchWithTabAndDigits(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()))
	m = step(m, keyTab)
	mustContain(t, m.View(), "UPSTREAM/TARGET", "users/127.0.0.1:9002", "failing", "HEALTH")
	m = step(m, keys("3")...)
	mustContain(t, m.View(), "METHOD", "/users/2", "502", "connection refused")
	m = step(m, keys("4")...)
	mustContain(t, m.View(), "failing: 3 consecutive errors")
	m = step(m, keyTab)
	mustContain(t, m.View(), "LAST 60s")
	m = step(m, tea.KeyMsg{Type: tea.KeyShiftTab})
	mustContain(t, m.View(), "DETAIL")
}

func TestTailIsNewestFirstFilterableAndPausable(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'3'}})
	v := m.View()
	if strings.Index(v, "/orders/") > strings.Index(v, "/users/1") {
		t.Fatalf("not newest first:\n%s", v)
	}
	m = step(m, keys("/502")...)
	mustContain(t, m.View(), "filter: 502█")
	m = step(m, keyEnter)
	v = m.View()
	mustContain(t, v, "/users/2", "filter: 502")
	if strings.Contains(v, "/users/1") || strings.Contains(v, "/orders/") {
		t.Fatalf("filter kept other rows:\n%s", v)
	}
	m = step(m, keyEsc)
	mustContain(t, m.View(), "/users/1")

	m = step(m, keys("p")...)
	mustContain(t, m.View(), "PAUSED")
	f := frame()
	f.Tail = []admin.TailEntry{{Seq: 9, At: clockNow, Method: "GET", Path: "/late", Status: 200}}
	m = step(m, FrameMsg(f))
	if strings.Contains(m.View(), "/late") {
		t.Fatal("a paused tail took new entries")
	}
	m = step(m, keys("p")...)
	mustContain(t, m.View(), "skipped")
	if strings.Contains(m.View(), "PAUSED") {
		t.Fatal("still paused")
	}
	m = step(m, FrameMsg(f))
	mustContain(t, m.View(), "/late")
}

func TestSortCyclesAndOrdersRows(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()), keyTab)
	v := m.View()
	if strings.Index(v, "127.0.0.1:9001") > strings.Index(v, "127.0.0.1:9002") {
		t.Fatal("config order broken")
	}
	m = step(m, keys("s")...) // state: failing first
	mustContain(t, m.View(), "sort: state")
	rows := m.targetRows()
	if rows[0].t.Addr != "127.0.0.1:9002" {
		t.Fatalf("failing target not first: %+v", rows[0])
	}
	m = step(m, keys("1s")...)
	if rows := m.routeRows(); rows[0].Name != "users" || m.sortBy[ViewRoutes] != 1 {
		t.Fatalf("rps sort: %+v", rows)
	}
	m = step(m, keys("sss")...)
	if rows := m.routeRows(); rows[0].Name != "orders" { // by name
		t.Fatalf("name sort: %+v", rows)
	}
}

func TestDrainAsksForConfirmationAndCallsTheAPI(t *testing.T) {
	rec := &recorder{}
	m := step(newModel(Options{Actions: rec}), FrameMsg(frame()), keyTab, keyDown)
	m = step(m, keys("d")...)
	mustContain(t, m.View(), "Drain users/127.0.0.1:9002? It gets no new requests. [y/N]")
	m = step(m, keys("n")...)
	mustContain(t, m.View(), "cancelled")
	if len(rec.calls) != 0 {
		t.Fatal("a cancelled drain went through")
	}
	m = step(m, keys("d")...)
	nm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'y'}})
	if cmd == nil {
		t.Fatal("confirmed drain made no command")
	}
	m = step(nm.(Model), cmd())
	if len(rec.calls) != 1 || rec.calls[0] != "drain users/127.0.0.1:9002" {
		t.Fatalf("calls %v", rec.calls)
	}
	mustContain(t, m.View(), "drain users/127.0.0.1:9002: done")

	// A draining target's d undrains.
	f := frame()
	f.Stats.Upstreams[0].Targets[1].Draining = true
	f.Stats.Upstreams[0].Targets[1].State = "draining"
	m = step(m, FrameMsg(f), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'d'}})
	mustContain(t, m.View(), "Undrain users/127.0.0.1:9002?")
	_, cmd = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'y'}})
	cmd()
	if rec.calls[1] != "undrain users/127.0.0.1:9002" {
		t.Fatalf("calls %v", rec.calls)
	}
}

func TestActionFailureIsShown(t *testing.T) {
	rec := &recorder{fail: errors.New("404 Not Found: no such upstream target")}
	m := step(newModel(Options{Actions: rec}), FrameMsg(frame()), keyTab, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'r'}})
	nm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'y'}})
	m = step(nm.(Model), cmd())
	mustContain(t, m.View(), "reset users/127.0.0.1:9001 failed: 404 Not Found")
}

func TestReloadAsksForConfirmation(t *testing.T) {
	rec := &recorder{}
	m := step(newModel(Options{Actions: rec}), FrameMsg(frame()), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'R'}})
	mustContain(t, m.View(), "Reload the configuration")
	nm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'y'}})
	m = step(nm.(Model), cmd())
	mustContain(t, m.View(), "reload: done (config version 7)")
}

func TestReadOnlyDisablesActions(t *testing.T) {
	rec := &recorder{}
	m := step(newModel(Options{Actions: rec, ReadOnly: true}), FrameMsg(frame()), keyTab)
	for _, k := range []string{"d", "r", "R"} {
		nm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)})
		m = nm.(Model)
		mustContain(t, m.View(), "read-only: actions are disabled")
		if cmd != nil || m.confirm != nil {
			t.Fatalf("%s asked anyway", k)
		}
	}
	if len(rec.calls) != 0 {
		t.Fatal("read-only console acted")
	}
	mustContain(t, m.View(), "read-only")
}

func TestEnterDrillsDownAndEscGoesBack(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()), keyEnter)
	mustContain(t, m.View(), "Route users", "match /users/", "Targets of users", "127.0.0.1:9002")
	m = step(m, keyEsc, keyTab, keyDown, keyEnter)
	mustContain(t, m.View(), "Target users/127.0.0.1:9002", "12 consecutive errors", "turned failing 2 times", "GET /users/2")
	m = step(m, keyEsc)
	mustContain(t, m.View(), "UPSTREAM/TARGET")
}

func TestHelpOpensAndAnyKeyCloses(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()), tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'?'}})
	mustContain(t, m.View(), "Keys", "drain the selected target")
	m = step(m, keys("x")...)
	if strings.Contains(m.View(), "drain the selected target") {
		t.Fatal("help stayed")
	}
}

func TestQuitKeys(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()))
	for _, k := range []tea.KeyMsg{{Type: tea.KeyRunes, Runes: []rune{'q'}}, {Type: tea.KeyCtrlC}} {
		_, cmd := m.Update(k)
		if cmd == nil {
			t.Fatalf("%v: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%v: not quit", k)
		}
	}
}

func TestDisconnectionIsShownAndReconnectionAnnounced(t *testing.T) {
	m := step(newModel(Options{}), FrameMsg(frame()))
	m = step(m, ConnMsg{Err: errors.New("connection refused"), Attempt: 3}, ClockMsg(clockNow.Add(7*time.Second)))
	mustContain(t, m.View(), "disconnected: reconnecting (attempt 3, last data 7s ago)")
	f := frame()
	f.Stats.UptimeSeconds = 1 // a new process
	m = step(m, FrameMsg(f))
	mustContain(t, m.View(), "● live", "the gateway restarted")
	if len(m.tail) != 3 {
		t.Fatalf("the old process's tail was kept: %d", len(m.tail))
	}
	m = step(m, ConnMsg{Err: errors.New("EOF"), Attempt: 1}, FrameMsg(f))
	mustContain(t, m.View(), "reconnected")
}

func TestViewFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{140, 30}, {80, 24}, {50, 12}, {20, 5}} {
		m := step(newModel(Options{}), FrameMsg(frame()), tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		for v := 0; v < numViews; v++ {
			m.view = v
			lines := strings.Split(m.View(), "\n")
			if len(lines) != size[1] {
				t.Fatalf("%v view %d: %d lines", size, v, len(lines))
			}
			for _, l := range lines {
				if w := lipgloss.Width(l); w > size[0] {
					t.Fatalf("%v view %d: line of %d cells: %q", size, v, w, l)
				}
			}
		}
	}
}

func TestSelectionScrollsIntoView(t *testing.T) {
	f := frame()
	for i := 0; i < 50; i++ {
		f.Tail = append(f.Tail, admin.TailEntry{Seq: uint64(10 + i), At: clockNow, Method: "GET", Path: "/p" + strings.Repeat("x", i%3) + string(rune('a'+i%26)), Status: 200})
	}
	f.Stats.Routes = nil
	for i := 0; i < 40; i++ {
		f.Stats.Routes = append(f.Stats.Routes, admin.RouteStats{Name: "r" + string(rune('A'+i%26)) + string(rune('a'+i/26))})
	}
	m := step(newModel(Options{}), FrameMsg(f), tea.WindowSizeMsg{Width: 120, Height: 15})
	m = step(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{'G'}})
	mustContain(t, m.View(), "▶"+fit("rNb", 16)) // the last route (index 39)
	if m.sel[ViewRoutes] != 39 {
		t.Fatalf("sel %d", m.sel[ViewRoutes])
	}
}

func TestBoundedTailAndEvents(t *testing.T) {
	m := newModel(Options{})
	for i := 0; i < 30; i++ {
		f := frame()
		f.Tail = make([]admin.TailEntry, 100)
		f.Events = make([]admin.Event, 20)
		m = step(m, FrameMsg(f))
	}
	if len(m.tail) != maxTail || len(m.events) != maxEvents {
		t.Fatalf("tail %d events %d", len(m.tail), len(m.events))
	}
}

func TestNoColorDropsColours(t *testing.T) {
	prev := lipgloss.ColorProfile()
	lipgloss.SetColorProfile(termenv.ANSI256)
	defer lipgloss.SetColorProfile(prev)
	coloured := step(newModel(Options{}), FrameMsg(frame())).View()
	if !strings.Contains(coloured, "\x1b[38;5;") {
		t.Fatal("the coloured console has no colours")
	}
	plain := step(newModel(Options{NoColor: true}), FrameMsg(frame())).View()
	if strings.Contains(plain, "\x1b[38;5;") || strings.Contains(plain, "\x1b[48;5;") {
		t.Fatal("NoColor still paints")
	}
	mustContain(t, plain, "users", "edge-1")
}

func TestUpstreamsShowBreakerCountdownAndEjections(t *testing.T) {
	f := frame()
	f.Stats.Upstreams[0].Targets[1] = admin.TargetStats{Addr: "127.0.0.1:9002", State: "open", Breaker: "open", BreakerOpenForMs: 4200, Healthy: true, TimesEjected: 2, Ejected: true, EjectedForMs: 28000}
	f.Stats.Upstreams[0].Targets[0].Breaker = "closed"
	f.Stats.Upstreams[0].Targets[0].Healthy = true
	m := step(newModel(Options{}), FrameMsg(f), keyTab)
	v := m.View()
	mustContain(t, v, "BREAKER", "open 4.2s", "2 (28s)", "closed")
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "127.0.0.1:9003") && !strings.Contains(l, " - ") {
			t.Fatalf("a target without a breaker: %q", l)
		}
	}
	m = step(m, keys("s")...) // by state: open first
	if rows := m.targetRows(); rows[0].t.Addr != "127.0.0.1:9002" {
		t.Fatalf("%+v", rows[0])
	}
	m = step(m, keyEnter)
	mustContain(t, m.View(), "breaker     open 4.2s", "ejected     true")
}

func TestSmallErrorRatesAreNotRoundedAway(t *testing.T) {
	f := frame()
	f.Stats.ErrorRate = 0.0004
	mustContain(t, step(newModel(Options{}), FrameMsg(f)).View(), "errors 0.04%")
}

// TestKeysArrivingInOneReadAreEachAKey: a script (or a fast typist) can deliver "jd" in one
// read, which bubbletea reports as one message with two runes; it must move and then drain.
func TestKeysArrivingInOneReadAreEachAKey(t *testing.T) {
	m := step(newModel(Options{Actions: &recorder{}}), FrameMsg(frame()), keyTab)
	m = step(m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jd")})
	mustContain(t, m.View(), "Drain users/127.0.0.1:9002?")
}
