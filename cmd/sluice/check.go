package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sluice-gw/sluice/config"
)

func init() {
	commands["check"] = command{
		summary: "validate a configuration file and print every problem in it",
		run:     func(args []string) int { return runCheck(args, os.Stdout, os.Stderr) },
	}
}

// runCheck prints "FILE: ok" (or, with -print, the configuration with its
// defaults filled in) and returns 0 for a valid file; otherwise it prints
// every problem, one per line as FILE:LINE:COL: FIELD: message, and returns 2.
func runCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	// Flag errors are reported in one line below, not with the full usage.
	fs.SetOutput(io.Discard)
	file := fs.String("c", "", "configuration `FILE` to check")
	printCfg := fs.Bool("print", false, "print the configuration with every default filled in (instead of \"FILE: ok\")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: sluice check -c FILE [-print]")
			fmt.Fprintln(stdout)
			fmt.Fprintln(stdout, "Validates FILE and prints \"FILE: ok\", or every problem in it")
			fmt.Fprintln(stdout, "as FILE:LINE:COL: FIELD: message. Exit code 0 if valid, 2 if not.")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "sluice check: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice check: unexpected argument %q (use -c FILE)\n", fs.Arg(0))
		return 2
	}
	if *file == "" {
		fmt.Fprintln(stderr, "sluice check: -c FILE is required")
		return 2
	}
	cfg, err := config.Load(*file)
	if err != nil {
		var errs *config.Errors
		if errors.As(err, &errs) {
			for _, e := range *errs {
				fmt.Fprintln(stderr, e.Error())
			}
		} else {
			fmt.Fprintf(stderr, "sluice check: %v\n", err)
		}
		return 2
	}
	if *printCfg {
		// Only the file on stdout, so the output can be saved and used.
		stdout.Write(cfg.Format())
		return 0
	}
	fmt.Fprintf(stdout, "%s: ok\n", *file)
	return 0
}
