package console

import "github.com/charmbracelet/lipgloss"

// styles are the console's looks. Without colour (NO_COLOR, --no-color) they keep bold and
// reverse video, which carry meaning on any terminal.
type styles struct {
	title, bold, dim, ok, warn, bad, sel, tab, tabOn, prompt lipgloss.Style
}

func newStyles(noColor bool) styles {
	s := lipgloss.NewStyle
	if noColor {
		return styles{
			title: s().Bold(true), bold: s().Bold(true), dim: s(), ok: s(), warn: s().Bold(true),
			bad: s().Bold(true), sel: s().Reverse(true), tab: s(), tabOn: s().Reverse(true), prompt: s().Bold(true),
		}
	}
	return styles{
		title:  s().Bold(true).Foreground(lipgloss.Color("39")),
		bold:   s().Bold(true),
		dim:    s().Foreground(lipgloss.Color("245")),
		ok:     s().Foreground(lipgloss.Color("42")),
		warn:   s().Foreground(lipgloss.Color("214")),
		bad:    s().Foreground(lipgloss.Color("196")).Bold(true),
		sel:    s().Reverse(true),
		tab:    s().Foreground(lipgloss.Color("245")),
		tabOn:  s().Bold(true).Reverse(true),
		prompt: s().Bold(true).Foreground(lipgloss.Color("214")),
	}
}

// status picks the style of an HTTP status.
func (st styles) status(code int) lipgloss.Style {
	switch {
	case code >= 500 || code == 0:
		return st.bad
	case code >= 400:
		return st.warn
	case code >= 300:
		return st.dim
	}
	return st.ok
}

func (st styles) state(s string) lipgloss.Style {
	switch s {
	case "open", "ejected", "down", "failing":
		return st.bad
	case "draining", "half-open":
		return st.warn
	}
	return st.ok
}
