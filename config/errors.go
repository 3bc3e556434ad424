package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a configuration file, positioned at the YAML node
// that caused it. Line and Column are 1-based; 0 means unknown (for example an
// error about the file as a whole).
type Error struct {
	File   string
	Line   int
	Column int
	// Path names the field in the schema: "upstreams.users.targets[0].address".
	// Empty for errors that belong to no field (YAML syntax errors).
	Path string
	Msg  string
}

// Error formats the problem the way compilers do, so editors can jump to it:
// "FILE:LINE:COL: PATH: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, in file order. Parse
// reports all of them at once so a user fixes a file in one round trip.
type Errors []*Error

// Error joins the problems one per line.
func (e *Errors) Error() string {
	lines := make([]string, len(*e))
	for i, err := range *e {
		lines[i] = err.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(*e))
	for i, err := range *e {
		out[i] = err
	}
	return out
}

// sortByPosition orders problems by line then column, keeping the order they
// were found in for equal positions (file-level errors, line 0, come first).
func (e Errors) sortByPosition() {
	sort.SliceStable(e, func(i, j int) bool {
		if e[i].Line != e[j].Line {
			return e[i].Line < e[j].Line
		}
		return e[i].Column < e[j].Column
	})
}
