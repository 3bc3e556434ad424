package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/console"
)

func init() {
	commands["console"] = command{
		summary: "watch and operate a running gateway live in the terminal",
		run:     func(args []string) int { return runConsole(args, os.Stdin, os.Stdout, os.Stderr) },
	}
}

func runConsole(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := os.Getenv("SLUICE_ADMIN")
	if def == "" {
		def = config.DefaultAdminAddress
	}
	addr := fs.String("admin", def, "admin API `ADDR` of the gateway (host:port or URL; default $SLUICE_ADMIN)")
	token := fs.String("token", os.Getenv("SLUICE_ADMIN_TOKEN"), "bearer `TOKEN` of the admin API (default $SLUICE_ADMIN_TOKEN)")
	readOnly := fs.Bool("read-only", false, "disable the actions (drain, reset, reload)")
	noColor := fs.Bool("no-color", false, "no colours (also when NO_COLOR is set)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: sluice console [--admin ADDR] [--token TOKEN] [--read-only] [--no-color]")
			fmt.Fprintln(stdout)
			fmt.Fprintln(stdout, "Attaches to a running gateway's admin API and shows it live: the header, routes,")
			fmt.Fprintln(stdout, "upstream targets, a sampled request tail and events. Press ? inside for the keys.")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "sluice console: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice console: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *addr == "" || *addr == "off" {
		fmt.Fprintln(stderr, "sluice console: --admin needs an address")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	err := console.Run(ctx, console.Config{Admin: *addr, Token: *token, ReadOnly: *readOnly, NoColor: *noColor, In: stdin, Out: stdout})
	if err != nil {
		fmt.Fprintf(stderr, "sluice console: %v\n", err)
		return 1
	}
	return 0
}
