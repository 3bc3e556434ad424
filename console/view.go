package console

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"

	"github.com/sluice-gw/sluice/admin"
)

// View renders the whole screen, exactly m.height lines of at most m.width cells.
func (m Model) View() string {
	var lines []string
	lines = append(lines, m.headerLines()...)
	lines = append(lines, m.tabLine())
	body := m.height - len(lines) - 2
	var content []string
	switch {
	case m.help:
		content = m.helpLines()
	case !m.everFrame:
		content = []string{"", "  waiting for the gateway at " + m.o.Admin + " ..."}
		if m.connErr != "" {
			content = append(content, "  "+m.connErr)
		}
	case m.detail && m.view == ViewRoutes:
		content = m.routeDetail()
	case m.detail && m.view == ViewUpstreams:
		content = m.targetDetail()
	default:
		content = m.table(body)
	}
	for len(content) < body {
		content = append(content, "")
	}
	lines = append(lines, content[:max(body, 0)]...)
	lines = append(lines, m.st.dim.Render(strings.Repeat("─", m.width)))
	lines = append(lines, m.footer())
	for i, l := range lines {
		lines[i] = clip(l, m.width)
	}
	return strings.Join(lines, "\n")
}

// clip cuts a rendered line to w cells, keeping its escape sequences balanced.
func clip(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return lipgloss.NewStyle().MaxWidth(w).Render(s)
}

// fit pads or truncates plain text to exactly w cells.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	n := utf8.RuneCountInString(s)
	if n > w {
		r := []rune(s)
		if w == 1 {
			return string(r[:1])
		}
		return string(r[:w-1]) + "…"
	}
	return s + strings.Repeat(" ", w-n)
}

func rfit(s string, w int) string {
	n := utf8.RuneCountInString(s)
	if n >= w {
		return fit(s, w)
	}
	return strings.Repeat(" ", w-n) + s
}

func (m Model) headerLines() []string {
	st := m.stats
	conn := m.st.ok.Render("● live")
	switch {
	case !m.everFrame && m.attempt == 0:
		conn = m.st.dim.Render("○ connecting")
	case !m.connected:
		ago := ""
		if !m.lastFrameAt.IsZero() {
			ago = fmt.Sprintf(", last data %s ago", m.now.Sub(m.lastFrameAt).Truncate(time.Second))
		}
		conn = m.st.bad.Render(fmt.Sprintf("✖ disconnected: reconnecting (attempt %d%s)", m.attempt, ago))
	}
	if m.paused {
		conn += " " + m.st.warn.Render("⏸ PAUSED")
	}
	l1 := m.st.title.Render("Sluice") + " " + m.st.bold.Render(st.Instance) + m.st.dim.Render("  admin "+m.o.Admin) + "  " + conn
	if m.o.ReadOnly {
		l1 += m.st.dim.Render("  read-only")
	}
	reload := m.st.dim.Render("no reload yet")
	if r := st.LastReload; r != nil {
		if r.OK {
			reload = m.st.ok.Render("reload ok " + r.At.Local().Format("15:04:05"))
		} else {
			reload = m.st.bad.Render("reload FAILED " + r.At.Local().Format("15:04:05") + ": " + r.Error)
		}
	}
	errStyle := m.st.ok
	if st.ErrorRate >= 0.01 {
		errStyle = m.st.bad
	} else if st.ErrorRate > 0 {
		errStyle = m.st.warn
	}
	l2 := fmt.Sprintf("up %s  config v%d (%s)  conns %d  ", fmtUptime(st.UptimeSeconds), st.ConfigVersion, reload, st.Connections) +
		m.st.bold.Render(fmt.Sprintf("rps %s", fmtRate(st.RPS))) + "  " +
		errStyle.Render("errors "+fmtPct(st.ErrorRate)+"%") +
		fmt.Sprintf("  p50 %s  p99 %s", fmtMs(st.P50Ms), fmtMs(st.P99Ms))
	return []string{l1, l2}
}

func (m Model) tabLine() string {
	var b strings.Builder
	for i, n := range viewNames {
		label := fmt.Sprintf(" %d %s ", i+1, n)
		if i == m.view {
			b.WriteString(m.st.tabOn.Render(label))
		} else {
			b.WriteString(m.st.tab.Render(label))
		}
	}
	if f := m.filter[m.view]; f != "" {
		b.WriteString(m.st.warn.Render("  filter: " + f))
	}
	if names := sortNames[m.view]; len(names) > 1 {
		b.WriteString(m.st.dim.Render("  sort: " + names[m.sortBy[m.view]]))
	}
	return b.String()
}

func (m Model) footer() string {
	switch {
	case m.confirm != nil:
		return m.st.prompt.Render(m.confirm.prompt)
	case m.filtering:
		return m.st.prompt.Render("filter: ") + m.input + "█" + m.st.dim.Render("  (enter apply, esc cancel)")
	case m.flash != "" && m.o.Now().Sub(m.flashAt) < 5*time.Second:
		return m.st.warn.Render(m.flash)
	}
	hint := "? help  tab/1-4 views  j/k move  / filter  s sort  p pause  enter details  esc back  q quit"
	if !m.o.ReadOnly {
		hint = "? help  tab/1-4 views  j/k move  / filter  s sort  p pause  enter details  d drain  q quit"
	}
	return m.st.dim.Render(hint)
}

func (m Model) helpLines() []string {
	keys := [][2]string{
		{"?", "this help (any key closes it)"},
		{"tab, shift+tab, 1-4", "switch view: Routes, Upstreams, Tail, Events"},
		{"j/k, ↓/↑, g/G", "move the selection"},
		{"/", "filter the view (enter applies, esc cancels; esc again clears)"},
		{"s", "cycle the sort order"},
		{"p", "pause or resume the live tail"},
		{"enter / esc", "details of the selected route or target / back"},
		{"d", "drain the selected target (undrain when draining), after confirmation"},
		{"r", "reset the selected target's failure count (metrics), after confirmation"},
		{"R", "reload the gateway's configuration, after confirmation"},
		{"q, ctrl+c", "quit (the gateway keeps running)"},
	}
	out := []string{"", m.st.bold.Render("  Keys")}
	for _, k := range keys {
		out = append(out, "  "+m.st.bold.Render(fit(k[0], 22))+k[1])
	}
	if m.o.ReadOnly {
		out = append(out, "", "  read-only: d, r and R are disabled")
	}
	out = append(out, "",
		"  HEALTH is the first of: draining, open (breaker refusing), ejected (outlier detection),",
		"  down (health checks), half-open (breaker probing), failing (consecutive answers the",
		"  gateway had to make for it, as the metrics see them), up.")
	return out
}

// window returns the range of rows to show so that sel is visible in n lines.
func window(sel, rows, n int) (int, int) {
	if n <= 0 || rows == 0 {
		return 0, 0
	}
	start := 0
	if sel >= n {
		start = sel - n + 1
	}
	return start, min(rows, start+n)
}

func (m Model) table(n int) []string {
	n-- // the column header
	var head string
	var rows []string
	sel := m.sel[m.view]
	switch m.view {
	case ViewRoutes:
		head, rows = m.routeTable()
	case ViewUpstreams:
		head, rows = m.targetTable()
	case ViewTail:
		head, rows = m.tailTable()
	default:
		head, rows = m.eventTable()
	}
	sel = min(sel, max(len(rows)-1, 0))
	out := []string{m.st.bold.Render(head)}
	if len(rows) == 0 {
		msg := "  nothing to show"
		if m.filter[m.view] != "" {
			msg += " (filter: " + m.filter[m.view] + ", esc clears)"
		}
		return append(out, m.st.dim.Render(msg))
	}
	lo, hi := window(sel, len(rows), n)
	for i := lo; i < hi; i++ {
		r := rows[i]
		if i == sel && (m.view == ViewRoutes || m.view == ViewUpstreams) {
			r = m.st.sel.Render("▶" + r)
		} else {
			r = " " + r
		}
		out = append(out, r)
	}
	return out
}

func (m Model) routeTable() (string, []string) {
	spark := max(m.width-95, 8)
	head := " " + fit("ROUTE", 16) + fit("UPSTREAM", 12) + rfit("RPS", 8) + rfit("2xx/s", 8) + rfit("4xx/s", 8) + rfit("5xx/s", 8) +
		rfit("P50", 9) + rfit("P99", 9) + rfit("INFL", 6) + rfit("429/s", 7) + "  " + fit("LAST 60s", spark)
	var rows []string
	for _, r := range m.routeRows() {
		e5 := rfit(fmtRate(r.Rate5xx), 8)
		if r.Rate5xx > 0 {
			e5 = m.st.bad.Render(e5)
		}
		e4 := rfit(fmtRate(r.Rate4xx), 8)
		if r.Rate4xx > 0 {
			e4 = m.st.warn.Render(e4)
		}
		rows = append(rows, fit(r.Name, 16)+fit(r.Upstream, 12)+rfit(fmtRate(r.RPS), 8)+rfit(fmtRate(r.Rate2xx), 8)+e4+e5+
			rfit(fmtMs(r.P50Ms), 9)+rfit(fmtMs(r.P99Ms), 9)+rfit(fmt.Sprint(r.InFlight), 6)+rfit(fmtRate(r.Rate429), 7)+"  "+
			m.sparkline(r.History, r.ErrHistory, spark))
	}
	return head, rows
}

func (m Model) targetTable() (string, []string) {
	head := " " + fit("UPSTREAM/TARGET", 30) + fit("HEALTH", 10) + fit("BREAKER", 13) + rfit("INFL", 5) + rfit("EWMA", 9) + rfit("P99", 9) +
		rfit("RPS", 8) + rfit("ERR%", 7) + rfit("CONSEC", 7) + rfit("WEIGHT", 7) + rfit("EJECT", 9) + rfit("POOL", 8)
	var rows []string
	for _, r := range m.targetRows() {
		t := r.t
		errs := rfit(fmtPct(t.ErrorRate), 7)
		if t.ErrorRate > 0 {
			errs = m.st.bad.Render(errs)
		}
		rows = append(rows, fit(r.upstream+"/"+t.Addr, 30)+m.st.state(t.State).Render(fit(t.State, 10))+
			m.st.state(t.Breaker).Render(fit(breakerCell(t), 13))+rfit(fmt.Sprint(t.InFlight), 5)+
			rfit(fmtMs(t.EWMAMs), 9)+rfit(fmtMs(t.P99Ms), 9)+rfit(fmtRate(t.RPS), 8)+errs+rfit(fmt.Sprint(t.Consecutive), 7)+
			rfit(fmt.Sprint(t.Weight), 7)+rfit(ejectCell(t), 9)+rfit(fmt.Sprintf("%d/%d", t.PoolOpen, t.PoolIdle), 8))
	}
	return head, rows
}

// breakerCell is the breaker's state with the countdown of an open one: "open 4.2s".
func breakerCell(t admin.TargetStats) string {
	switch {
	case t.Breaker == "":
		return "-"
	case t.Breaker == "open" && t.BreakerOpenForMs > 0:
		return fmt.Sprintf("open %.1fs", t.BreakerOpenForMs/1000)
	}
	return t.Breaker
}

// ejectCell is how often outlier detection ejected the target, with what remains of the
// current ejection: "2 (28s)".
func ejectCell(t admin.TargetStats) string {
	if t.Ejected {
		return fmt.Sprintf("%d (%.0fs)", t.TimesEjected, t.EjectedForMs/1000)
	}
	return fmt.Sprint(t.TimesEjected)
}

func (m Model) tailTable() (string, []string) {
	pathW := max(m.width-90, 12) // 70 cells of fixed columns, 20 for the error
	head := " " + fit("TIME", 13) + fit("ST", 4) + fit("METHOD", 7) + fit("PATH", pathW) + fit("ROUTE", 12) + fit("TARGET", 22) + rfit("MS", 9) + "  ERROR"
	var rows []string
	for _, e := range m.tailRows() {
		rows = append(rows, fit(e.At.Local().Format("15:04:05.000"), 13)+m.st.status(e.Status).Render(fit(fmt.Sprint(e.Status), 4))+
			fit(e.Method, 7)+fit(e.Path, pathW)+fit(e.Route, 12)+fit(e.Target, 22)+rfit(fmt.Sprintf("%.2f", e.DurationMs), 9)+"  "+
			m.st.bad.Render(e.Error))
	}
	return head, rows
}

func (m Model) eventTable() (string, []string) {
	head := " " + fit("TIME", 10) + fit("LEVEL", 7) + fit("KIND", 8) + fit("SUBJECT", 32) + "DETAIL"
	var rows []string
	for _, e := range m.eventRows() {
		lv := m.st.dim
		switch e.Level {
		case "error":
			lv = m.st.bad
		case "warn":
			lv = m.st.warn
		}
		rows = append(rows, fit(e.At.Local().Format("15:04:05"), 10)+lv.Render(fit(e.Level, 7))+fit(e.Kind, 8)+fit(e.Subject, 32)+e.Detail)
	}
	return head, rows
}

func (m Model) routeDetail() []string {
	rows := m.routeRows()
	r := rows[min(m.sel[ViewRoutes], len(rows)-1)]
	w := max(m.width-4, 10)
	out := []string{
		m.st.bold.Render("Route "+r.Name) + m.st.dim.Render("  (esc back)"),
		fmt.Sprintf("  match %s  upstream %s  requests %d  in-flight %d", r.Match, r.Upstream, r.Requests, r.InFlight),
		fmt.Sprintf("  rps %s  2xx %s  3xx %s  4xx %s  5xx %s  429 %s  p50 %s  p99 %s", fmtRate(r.RPS), fmtRate(r.Rate2xx),
			fmtRate(r.Rate3xx), fmtRate(r.Rate4xx), fmtRate(r.Rate5xx), fmtRate(r.Rate429), fmtMs(r.P50Ms), fmtMs(r.P99Ms)),
		"",
		"  requests per second, last 60 s (peak " + fmtRate(peak(r.History)) + ")",
		"  " + m.sparkline(r.History, nil, w),
		"  5xx per second (peak " + fmtRate(peak(r.ErrHistory)) + ")",
		"  " + m.st.bad.Render(spark(r.ErrHistory, w)),
		"",
		m.st.bold.Render("  Targets of " + r.Upstream),
	}
	for _, u := range m.stats.Upstreams {
		if u.Name != r.Upstream {
			continue
		}
		for _, t := range u.Targets {
			out = append(out, "  "+fit(t.Addr, 24)+m.st.state(t.State).Render(fit(t.State, 10))+
				fmt.Sprintf("breaker %s  rps %s  err %s%%  ewma %s  in-flight %d", breakerCell(t), fmtRate(t.RPS), fmtPct(t.ErrorRate), fmtMs(t.EWMAMs), t.InFlight))
		}
	}
	return out
}

func (m Model) targetDetail() []string {
	rows := m.targetRows()
	r := rows[min(m.sel[ViewUpstreams], len(rows)-1)]
	t := r.t
	out := []string{
		m.st.bold.Render("Target "+r.upstream+"/"+t.Addr) + m.st.dim.Render("  (esc back, d drain/undrain, r reset)"),
		"  health      " + m.st.state(t.State).Render(t.State),
		fmt.Sprintf("  draining    %v", t.Draining),
		fmt.Sprintf("  failing     %v  (%d consecutive errors, turned failing %d times)", t.Failing, t.Consecutive, t.Trips),
		fmt.Sprintf("  breaker     %s", breakerCell(t)),
		fmt.Sprintf("  ejected     %v  (%s times ejected)", t.Ejected, ejectCell(t)),
		fmt.Sprintf("  health chk  %v", map[bool]string{true: "passing (or none configured)", false: "failing"}[t.Healthy]),
		fmt.Sprintf("  in-flight   %d", t.InFlight),
		fmt.Sprintf("  weight      %d", t.Weight),
		fmt.Sprintf("  latency     ewma %s  p50 %s  p99 %s", fmtMs(t.EWMAMs), fmtMs(t.P50Ms), fmtMs(t.P99Ms)),
		fmt.Sprintf("  traffic     %s rps  error rate %.1f%%  requests %d  errors %d", fmtRate(t.RPS), t.ErrorRate*100, t.Requests, t.Errors),
		fmt.Sprintf("  pool        %d open, %d idle", t.PoolOpen, t.PoolIdle),
		"",
		m.st.bold.Render("  Recent requests to this target"),
	}
	n := 0
	for _, e := range m.tailRows() {
		if e.Target != t.Addr || e.Upstream != r.upstream {
			continue
		}
		out = append(out, "  "+fit(e.At.Local().Format("15:04:05.000"), 13)+m.st.status(e.Status).Render(fit(fmt.Sprint(e.Status), 4))+
			fit(e.Method+" "+e.Path, 40)+rfit(fmt.Sprintf("%.2fms", e.DurationMs), 10)+"  "+e.Error)
		if n++; n == 8 {
			break
		}
	}
	return out
}

var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// spark draws the last w values, scaled to their maximum; zero is a blank.
func spark(v []float64, w int) string {
	if len(v) > w {
		v = v[len(v)-w:]
	}
	top := peak(v)
	var b strings.Builder
	for _, x := range v {
		switch {
		case x <= 0 || top <= 0:
			b.WriteRune(' ')
		default:
			i := int(math.Ceil(x/top*float64(len(sparkRunes)))) - 1
			b.WriteRune(sparkRunes[min(max(i, 0), len(sparkRunes)-1)])
		}
	}
	return b.String()
}

// sparkline is spark, coloured red where the second had 5xx answers.
func (m Model) sparkline(v, errs []float64, w int) string {
	s := []rune(spark(v, w))
	off := len(v) - len(s)
	var b strings.Builder
	for i, r := range s {
		if j := off + i; j >= 0 && j < len(errs) && errs[j] > 0 {
			b.WriteString(m.st.bad.Render(string(r)))
		} else {
			b.WriteString(m.st.ok.Render(string(r)))
		}
	}
	return b.String()
}

func peak(v []float64) float64 {
	top := 0.0
	for _, x := range v {
		top = max(top, x)
	}
	return top
}

func fmtRate(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 10000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func fmtMs(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 1000:
		return fmt.Sprintf("%.1fms", v)
	}
	return fmt.Sprintf("%.2fs", v/1000)
}

// fmtPct formats a share as a percentage, with two decimals below 1% so that a trickle of
// errors never shows as 0.0.
func fmtPct(v float64) string {
	p := v * 100
	if p > 0 && p < 1 {
		return fmt.Sprintf("%.2f", p)
	}
	return fmt.Sprintf("%.1f", p)
}

func fmtUptime(sec float64) string {
	d := time.Duration(sec) * time.Second
	if d >= 24*time.Hour {
		return fmt.Sprintf("%dd%s", d/(24*time.Hour), (d % (24 * time.Hour)).Truncate(time.Minute))
	}
	return d.String()
}
