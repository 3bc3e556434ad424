//go:build !linux

package console

import "os"

// IsTerminal reports whether f looks like a terminal (a character device).
func IsTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
