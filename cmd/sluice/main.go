// Command sluice is the Sluice API gateway: run it, check a configuration,
// watch it in the console, or load-test it.
//
// Each subcommand lives in its own file and registers itself in init, so the
// binary builds with whatever subset of those files is present and main.go
// never needs editing when one is added.
package main

import (
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/sluice-gw/sluice/config"
)

// command is one subcommand. run receives the arguments after the command
// name and returns the process exit code: 0 success, 1 runtime failure,
// 2 bad flags or configuration (printed as one line on stderr).
type command struct {
	summary string
	run     func(args []string) int
}

// commands is filled by each command file's init.
var commands = map[string]command{}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch picks the subcommand named by args[0].
func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(args) > 1 && name == "help" {
			// "sluice help check" is "sluice check -h".
			if c, ok := commands[args[1]]; ok {
				return c.run([]string{"-h"})
			}
			unknown(stderr, args[1])
			return 2
		}
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		unknown(stderr, name)
		return 2
	}
	return c.run(args[1:])
}

func unknown(w io.Writer, name string) {
	msg := fmt.Sprintf("sluice: unknown command %q", name)
	if s := closestCommand(name); s != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", s)
	}
	fmt.Fprintln(w, msg+"; run 'sluice help' for the list")
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Sluice is an HTTP API gateway.")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: sluice COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands)+1)
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	width := len("help")
	for _, n := range names {
		width = max(width, len(n))
	}
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-*s  %s\n", width, "help", "show this list, or 'sluice help COMMAND' for a command's flags")
}

// closestCommand suggests a registered command for a typo.
func closestCommand(name string) string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	return config.Suggest(name, names)
}
