package console

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/sluice-gw/sluice/admin"
)

// Views, in tab order; keys 1-4 select them.
const (
	ViewRoutes = iota
	ViewUpstreams
	ViewTail
	ViewEvents
	numViews
)

var viewNames = [numViews]string{"Routes", "Upstreams", "Tail", "Events"}

// Bounds of what the console keeps: it never grows with the gateway's traffic.
const (
	maxTail   = 1000
	maxEvents = 300
)

// Messages the model understands besides bubbletea's keys and sizes.
type (
	// FrameMsg is one frame of the admin stream.
	FrameMsg admin.Frame
	// ConnMsg reports that the stream broke; the runner is reconnecting.
	ConnMsg struct {
		Err     error
		Attempt int
	}
	// ActionMsg is the result of an operator action.
	ActionMsg struct {
		What   string
		Result admin.ActionResult
		Err    error
	}
	// ClockMsg advances the model's clock (the "last data N s ago" line).
	ClockMsg time.Time
)

// Actions the console can ask the admin API for. nil disables them (read-only).
type Actions interface {
	TargetAction(ctx context.Context, upstream, addr, action string) (admin.ActionResult, error)
	Reload(ctx context.Context) (admin.ActionResult, error)
}

// Options configure a Model.
type Options struct {
	Admin    string // shown in the header
	ReadOnly bool
	NoColor  bool
	Actions  Actions
	Now      func() time.Time // default time.Now
}

type confirm struct {
	prompt string
	cmd    tea.Cmd
}

// Model is the console's state. Update and View follow bubbletea's contract.
type Model struct {
	o      Options
	st     styles
	width  int
	height int

	view   int
	sel    [numViews]int
	sortBy [numViews]int
	filter [numViews]string

	filtering bool
	input     string
	help      bool
	detail    bool // drill-down of the selected route or target
	paused    bool
	confirm   *confirm

	connected   bool
	everFrame   bool
	attempt     int
	connErr     string
	lastFrameAt time.Time
	now         time.Time
	flash       string
	flashAt     time.Time

	stats  admin.Stats
	tail   []admin.TailEntry
	held   int // tail entries that arrived while paused (shown on resume)
	events []admin.Event
}

// New returns a model waiting for its first frame.
func New(o Options) Model {
	if o.Now == nil {
		o.Now = time.Now
	}
	return Model{o: o, st: newStyles(o.NoColor), width: 100, height: 30, now: o.Now()}
}

// Init starts the clock.
func (m Model) Init() tea.Cmd { return clock() }

func clock() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return ClockMsg(t) })
}

// Update applies one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = max(msg.Width, 20), max(msg.Height, 5)
	case ClockMsg:
		m.now = time.Time(msg)
		return m, clock()
	case FrameMsg:
		m.applyFrame(admin.Frame(msg))
	case ConnMsg:
		m.connected = false
		m.attempt = msg.Attempt
		if msg.Err != nil {
			m.connErr = msg.Err.Error()
		}
	case ActionMsg:
		if msg.Err != nil {
			m.setFlash(msg.What + " failed: " + msg.Err.Error())
		} else {
			s := msg.What + ": done"
			if !msg.Result.Changed && msg.Result.State != "" {
				s = msg.What + ": already " + msg.Result.State
			}
			if msg.Result.Version != 0 {
				s += fmt.Sprintf(" (config version %d)", msg.Result.Version)
			}
			m.setFlash(s)
		}
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// Keys typed quickly (or sent by a script) can arrive in one read, which
			// bubbletea reports as one message with several runes: each is a key.
			var cmds []tea.Cmd
			var mm tea.Model = m
			for _, r := range msg.Runes {
				var cmd tea.Cmd
				mm, cmd = mm.(Model).key(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
				cmds = append(cmds, cmd)
			}
			return mm, tea.Batch(cmds...)
		}
		return m.key(msg)
	}
	return m, nil
}

func (m *Model) setFlash(s string) {
	m.flash = s
	m.flashAt = m.o.Now()
}

func (m *Model) applyFrame(f admin.Frame) {
	now := m.o.Now()
	if m.everFrame && !m.connected {
		m.setFlash("reconnected")
	}
	if m.everFrame && (f.Stats.Instance != m.stats.Instance || f.Stats.UptimeSeconds+2 < m.stats.UptimeSeconds) {
		m.setFlash("the gateway restarted")
		m.tail, m.events = nil, nil
	}
	m.connected, m.everFrame, m.attempt, m.connErr = true, true, 0, ""
	m.lastFrameAt, m.now = now, now
	m.stats = f.Stats
	m.events = appendBounded(m.events, f.Events, maxEvents)
	if m.paused {
		m.held += len(f.Tail)
		return
	}
	m.tail = appendBounded(m.tail, f.Tail, maxTail)
}

func appendBounded[T any](dst, src []T, n int) []T {
	dst = append(dst, src...)
	if len(dst) > n {
		dst = append(dst[:0:0], dst[len(dst)-n:]...)
	}
	return dst
}

func (m Model) key(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	s := k.String()
	if s == "ctrl+c" {
		return m, tea.Quit
	}
	if m.confirm != nil {
		c := m.confirm
		m.confirm = nil
		if s == "y" || s == "Y" {
			return m, c.cmd
		}
		m.setFlash("cancelled")
		return m, nil
	}
	if m.filtering {
		switch k.Type {
		case tea.KeyEnter:
			m.filtering = false
			m.filter[m.view] = m.input
			m.sel[m.view] = 0
		case tea.KeyEsc:
			m.filtering = false
		case tea.KeyBackspace:
			if r := []rune(m.input); len(r) > 0 {
				m.input = string(r[:len(r)-1])
			}
		case tea.KeyRunes, tea.KeySpace:
			m.input += string(k.Runes)
			if k.Type == tea.KeySpace {
				m.input += " "
			}
		}
		return m, nil
	}
	if m.help {
		m.help = false // any key closes the help
		if s != "q" {
			return m, nil
		}
	}
	switch s {
	case "q":
		return m, tea.Quit
	case "?":
		m.help = true
	case "tab":
		m.view, m.detail = (m.view+1)%numViews, false
	case "shift+tab":
		m.view, m.detail = (m.view+numViews-1)%numViews, false
	case "1", "2", "3", "4":
		m.view, m.detail = int(s[0]-'1'), false
	case "j", "down":
		m.sel[m.view] = min(m.sel[m.view]+1, max(m.rowCount()-1, 0))
	case "k", "up":
		m.sel[m.view] = max(m.sel[m.view]-1, 0)
	case "g", "home":
		m.sel[m.view] = 0
	case "G", "end":
		m.sel[m.view] = max(m.rowCount()-1, 0)
	case "/":
		m.filtering, m.input = true, m.filter[m.view]
	case "s":
		m.sortBy[m.view] = (m.sortBy[m.view] + 1) % len(sortNames[m.view])
		m.setFlash("sort: " + sortNames[m.view][m.sortBy[m.view]])
	case "p":
		m.paused = !m.paused
		if !m.paused && m.held > 0 {
			m.setFlash(fmt.Sprintf("resumed (%d sampled requests arrived while paused were skipped)", m.held))
			m.held = 0
		}
	case "enter":
		if (m.view == ViewRoutes || m.view == ViewUpstreams) && m.rowCount() > 0 {
			m.detail = true
		}
	case "esc":
		switch {
		case m.detail:
			m.detail = false
		case m.filter[m.view] != "":
			m.filter[m.view] = ""
		}
	case "d":
		return m.askTarget("drain")
	case "r":
		return m.askTarget("reset")
	case "R":
		if m.denied() {
			return m, nil
		}
		a := m.o.Actions
		m.confirm = &confirm{prompt: "Reload the configuration from its file?", cmd: func() tea.Msg {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			res, err := a.Reload(ctx)
			return ActionMsg{What: "reload", Result: res, Err: err}
		}}
	}
	return m, nil
}

func (m *Model) denied() bool {
	if m.o.ReadOnly || m.o.Actions == nil {
		m.setFlash("read-only: actions are disabled")
		return true
	}
	return false
}

// askTarget asks to confirm an action on the selected target. "drain" undrains a draining
// target, so one key toggles.
func (m Model) askTarget(action string) (tea.Model, tea.Cmd) {
	if m.view != ViewUpstreams {
		m.setFlash("select a target in Upstreams (2) first")
		return m, nil
	}
	rows := m.targetRows()
	if len(rows) == 0 {
		return m, nil
	}
	if m.denied() {
		return m, nil
	}
	r := rows[min(m.sel[ViewUpstreams], len(rows)-1)]
	if action == "drain" && r.t.Draining {
		action = "undrain"
	}
	a := m.o.Actions
	what := action + " " + r.upstream + "/" + r.t.Addr
	prompt := map[string]string{
		"drain":   "Drain %s? It gets no new requests. [y/N]",
		"undrain": "Undrain %s? It takes requests again. [y/N]",
		"reset":   "Reset the failure count of %s? [y/N]",
	}[action]
	up, addr := r.upstream, r.t.Addr
	m.confirm = &confirm{prompt: fmt.Sprintf(prompt, up+"/"+addr), cmd: func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := a.TargetAction(ctx, up, addr, action)
		return ActionMsg{What: what, Result: res, Err: err}
	}}
	return m, nil
}

// Sorting, per view.
var sortNames = [numViews][]string{
	ViewRoutes:    {"config", "rps", "p99", "5xx", "name"},
	ViewUpstreams: {"config", "state", "in-flight", "ewma", "errors"},
	ViewTail:      {"time"},
	ViewEvents:    {"time"},
}

func (m Model) routeRows() []admin.RouteStats {
	f := strings.ToLower(m.filter[ViewRoutes])
	var rows []admin.RouteStats
	for _, r := range m.stats.Routes {
		if f == "" || strings.Contains(strings.ToLower(r.Name+" "+r.Upstream+" "+r.Match), f) {
			rows = append(rows, r)
		}
	}
	less := map[int]func(a, b admin.RouteStats) bool{
		1: func(a, b admin.RouteStats) bool { return a.RPS > b.RPS },
		2: func(a, b admin.RouteStats) bool { return a.P99Ms > b.P99Ms },
		3: func(a, b admin.RouteStats) bool { return a.Rate5xx > b.Rate5xx },
		4: func(a, b admin.RouteStats) bool { return a.Name < b.Name },
	}[m.sortBy[ViewRoutes]]
	if less != nil {
		sort.SliceStable(rows, func(i, j int) bool { return less(rows[i], rows[j]) })
	}
	return rows
}

type targetRow struct {
	upstream string
	t        admin.TargetStats
}

var stateRank = map[string]int{
	admin.StateOpen: 0, admin.StateEjected: 1, admin.StateDown: 2, admin.StateFailing: 3,
	admin.StateHalfOpen: 4, admin.StateDraining: 5, admin.StateUp: 6,
}

func (m Model) targetRows() []targetRow {
	f := strings.ToLower(m.filter[ViewUpstreams])
	var rows []targetRow
	for _, u := range m.stats.Upstreams {
		for _, t := range u.Targets {
			if f == "" || strings.Contains(strings.ToLower(u.Name+"/"+t.Addr+" "+t.State), f) {
				rows = append(rows, targetRow{u.Name, t})
			}
		}
	}
	less := map[int]func(a, b targetRow) bool{
		1: func(a, b targetRow) bool { return stateRank[a.t.State] < stateRank[b.t.State] },
		2: func(a, b targetRow) bool { return a.t.InFlight > b.t.InFlight },
		3: func(a, b targetRow) bool { return a.t.EWMAMs > b.t.EWMAMs },
		4: func(a, b targetRow) bool { return a.t.ErrorRate > b.t.ErrorRate },
	}[m.sortBy[ViewUpstreams]]
	if less != nil {
		sort.SliceStable(rows, func(i, j int) bool { return less(rows[i], rows[j]) })
	}
	return rows
}

// tailRows are the tail entries that pass the filter, newest first.
func (m Model) tailRows() []admin.TailEntry {
	f := strings.ToLower(m.filter[ViewTail])
	rows := make([]admin.TailEntry, 0, len(m.tail))
	for i := len(m.tail) - 1; i >= 0; i-- {
		e := m.tail[i]
		if f == "" || strings.Contains(strings.ToLower(fmt.Sprintf("%d %s %s %s %s %s %s", e.Status, e.Method, e.Path, e.Route, e.Target, e.Error, e.Client)), f) {
			rows = append(rows, e)
		}
	}
	return rows
}

func (m Model) eventRows() []admin.Event {
	f := strings.ToLower(m.filter[ViewEvents])
	rows := make([]admin.Event, 0, len(m.events))
	for i := len(m.events) - 1; i >= 0; i-- {
		e := m.events[i]
		if f == "" || strings.Contains(strings.ToLower(e.Kind+" "+e.Level+" "+e.Subject+" "+e.Detail), f) {
			rows = append(rows, e)
		}
	}
	return rows
}

func (m Model) rowCount() int {
	switch m.view {
	case ViewRoutes:
		return len(m.routeRows())
	case ViewUpstreams:
		return len(m.targetRows())
	case ViewTail:
		return len(m.tailRows())
	default:
		return len(m.eventRows())
	}
}
