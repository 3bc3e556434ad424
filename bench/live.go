package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/sys/unix"
)

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

type tickMsg time.Time
type finishedMsg struct{}

// liveModel is the bubbletea progress screen. It only reads Run.Progress,
// once a second, so it costs the load loops nothing.
type liveModel struct {
	run     *Run
	title   string
	total   time.Duration // warmup + duration, 0 when bounded by count only
	last    Progress
	started bool
	done    bool
}

var (
	liveTitle = lipgloss.NewStyle().Bold(true)
	liveLabel = lipgloss.NewStyle().Faint(true)
	liveValue = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("6"))
	liveError = lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Color("1"))
	liveBar   = lipgloss.NewStyle().Foreground(lipgloss.Color("6"))
)

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m liveModel) Init() tea.Cmd { return tick() }

func (m liveModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			m.run.Stop()
		}
	case tickMsg:
		m.last, m.started = m.run.Progress(), true
		return m, tick()
	case finishedMsg:
		// The final counts, with rate and percentiles of the last full
		// second: the interval since the last tick is a sliver.
		p := m.run.Progress()
		p.RPS, p.P50, p.P99 = m.last.RPS, m.last.P50, m.last.P99
		m.last, m.done = p, true
		return m, tea.Quit
	}
	return m, nil
}

func (m liveModel) View() string {
	var b strings.Builder
	b.WriteString(liveTitle.Render("sluice bench " + m.title))
	b.WriteString("\n")
	p := m.last
	if m.total > 0 {
		const width = 40
		frac := min(float64(p.Elapsed)/float64(m.total), 1)
		fill := int(frac * width)
		b.WriteString(liveBar.Render(strings.Repeat("█", fill)) + liveLabel.Render(strings.Repeat("░", width-fill)))
		fmt.Fprintf(&b, " %.0fs/%.0fs", p.Elapsed.Seconds(), m.total.Seconds())
	} else {
		fmt.Fprintf(&b, "%.0fs", p.Elapsed.Seconds())
	}
	if p.Warmup {
		b.WriteString(liveLabel.Render("  warmup"))
	}
	b.WriteString("\n")
	field := func(name, value string) string { return liveLabel.Render(name+" ") + liveValue.Render(value) + "   " }
	b.WriteString(field("req/s", fmt.Sprintf("%.0f", p.RPS)))
	b.WriteString(field("p50", fmtDuration(p.P50)))
	b.WriteString(field("p99", fmtDuration(p.P99)))
	b.WriteString(field("responses", fmt.Sprint(p.Requests)))
	errs := liveLabel.Render("errors ") + liveValue.Render("0")
	if p.Errors > 0 {
		errs = liveLabel.Render("errors ") + liveError.Render(fmt.Sprint(p.Errors))
	}
	b.WriteString(errs)
	b.WriteString("\n")
	if !m.done {
		b.WriteString(liveLabel.Render("q to stop early"))
		b.WriteString("\n")
	}
	return b.String()
}

// runLiveView shows the progress screen until the run ends.
func runLiveView(run *Run, out io.Writer) error {
	m := liveModel{run: run, title: strings.Join(run.cfg.Targets, " ")}
	if run.cfg.Duration > 0 {
		m.total = run.cfg.Warmup + run.cfg.Duration
	}
	p := tea.NewProgram(m, tea.WithOutput(out), tea.WithoutSignalHandler())
	go func() {
		<-run.Done()
		p.Send(finishedMsg{})
	}()
	_, err := p.Run()
	if err != nil {
		run.Stop()
	}
	return err
}
