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
	"time"

	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/demo"
	"github.com/sluice-gw/sluice/gateway"
)

func init() {
	commands["run"] = command{
		summary: "run the gateway (without -c: the embedded demo with example upstreams)",
		run:     func(args []string) int { return runRun(args, os.Stdout, os.Stderr) },
	}
}

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("c", "", "configuration `FILE` (default: the embedded demo)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: sluice run [-c FILE]")
			fmt.Fprintln(stdout)
			fmt.Fprintln(stdout, "Runs the gateway. Without -c it serves the embedded demo: example upstreams on")
			fmt.Fprintln(stdout, "127.0.0.1:9001-9003 behind the gateway on 127.0.0.1:8080.")
			fmt.Fprintln(stdout, "Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads the configuration.")
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sluice run: unexpected argument %q (use -c FILE)\n", fs.Arg(0))
		return 2
	}
	load := func() (*config.Config, error) {
		if *file == "" {
			return config.Parse("demo.yaml", config.DemoYAML())
		}
		return config.Load(*file)
	}
	cfg, err := load()
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %v\n", oneLine(err))
		return 2
	}
	if *file == "" {
		servers, err := demo.Start(demo.Default)
		if err != nil {
			fmt.Fprintf(stderr, "sluice run: %v\n", err)
			return 1
		}
		defer servers.Close()
	}
	g, err := gateway.Start(cfg, gateway.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
		return 1
	}
	for _, l := range cfg.Listen {
		fmt.Fprintf(stdout, "sluice: listening on http://%s (%s engine)\n", l.Address, cfg.Engine)
	}
	if *file == "" {
		fmt.Fprintln(stdout, "sluice: demo mode; try: curl http://127.0.0.1:8080/users/")
	}

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			next, err := load()
			if err == nil {
				err = g.Reload(next)
			}
			if err != nil {
				fmt.Fprintf(stderr, "sluice: reload refused, the old configuration keeps serving: %v\n", oneLine(err))
			} else {
				fmt.Fprintf(stdout, "sluice: configuration reloaded (version %d)\n", g.Version())
			}
			continue
		}
		fmt.Fprintf(stdout, "sluice: %v: draining (at most %s)\n", sig, cfg.ShutdownTimeout)
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
		err := g.Shutdown(ctx)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "sluice: %v\n", err)
			return 1
		}
		fmt.Fprintln(stdout, "sluice: stopped")
		return 0
	}
	return 0
}

// oneLine folds a multi-error into "first (and N more)" for one-line CLI errors; `sluice check`
// prints them all.
func oneLine(err error) string {
	var errs *config.Errors
	if errors.As(err, &errs) && len(*errs) > 1 {
		return fmt.Sprintf("%v (and %d more; run 'sluice check -c FILE')", (*errs)[0], len(*errs)-1)
	}
	return err.Error()
}
