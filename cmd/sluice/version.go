package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
)

// version is set at build time: go build -ldflags "-X main.version=1.2.3".
var version = "dev"

func init() {
	commands["version"] = command{
		summary: "print the version and the Go version it was built with",
		run:     func(args []string) int { return runVersion(args, os.Stdout, os.Stderr) },
	}
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			fmt.Fprintln(stdout, "Usage: sluice version")
			return 0
		}
		fmt.Fprintf(stderr, "sluice version: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice version: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	fmt.Fprintf(stdout, "sluice %s %s %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return 0
}
