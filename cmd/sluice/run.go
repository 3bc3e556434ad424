package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/sluice-gw/sluice/admin"
	"github.com/sluice-gw/sluice/config"
	"github.com/sluice-gw/sluice/console"
	"github.com/sluice-gw/sluice/demo"
	"github.com/sluice-gw/sluice/gateway"
	"github.com/sluice-gw/sluice/metrics"
)

func init() {
	commands["run"] = command{
		summary: "run the gateway (without -c: the embedded demo with example upstreams)",
		run: func(args []string) int {
			tty := console.IsTerminal(os.Stdout) && console.IsTerminal(os.Stdin)
			return runRun(args, runEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, tty: tty})
		},
	}
}

// runEnv is what `sluice run` is attached to.
type runEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	tty            bool // stdin and stdout are a terminal: the demo opens the console
}

// optionalBool is a boolean flag that knows whether it was given, so that --console defaults
// to "on for the demo in a terminal" and --console=false still turns it off.
type optionalBool struct{ set, v bool }

func (b *optionalBool) String() string   { return strconv.FormatBool(b.v) }
func (b *optionalBool) IsBoolFlag() bool { return true }
func (b *optionalBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	b.set, b.v = true, v
	return nil
}

// configLoader reads the configuration `sluice run` was started with, the file or the
// embedded demo; SIGHUP and the admin API's reload both call it.
func configLoader(file string) func() (*config.Config, error) {
	return func() (*config.Config, error) {
		if file == "" {
			return config.Parse("demo.yaml", config.DemoYAML())
		}
		return config.Load(file)
	}
}

func runRun(args []string, env runEnv) int {
	stdout, stderr := env.stdout, env.stderr
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("c", "", "configuration `FILE` (default: the embedded demo)")
	replace := fs.Int("replace", 0, "binary upgrade: take over from the running Sluice with this `PID` (it drains and exits)")
	pidFile := fs.String("pidfile", "", "write the process ID to `FILE` (for -replace $(cat FILE))")
	var withConsole optionalBool
	fs.Var(&withConsole, "console", "open the live console in this terminal (default: on for the demo when stdout is a terminal)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, "Usage: sluice run [-c FILE] [--console]")
			fmt.Fprintln(stdout)
			fmt.Fprintln(stdout, "Runs the gateway. Without -c it serves the embedded demo: example upstreams on")
			fmt.Fprintln(stdout, "127.0.0.1:9001-9003 behind the gateway on 127.0.0.1:8080; in a terminal the demo")
			fmt.Fprintln(stdout, "opens the live console with a little demo traffic (--console=false to keep it off).")
			fmt.Fprintln(stdout, "Signals: SIGTERM/SIGINT drain and stop; SIGHUP reloads the configuration.")
			fmt.Fprintln(stdout, "Binary upgrade: start the new binary with -replace PID; it listens beside the old one")
			fmt.Fprintln(stdout, "(SO_REUSEPORT), then tells it to drain and exit, without refusing a connection.")
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
	useConsole := withConsole.v
	if !withConsole.set {
		useConsole = *file == "" && env.tty
	}
	load := configLoader(*file)
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
	var g *gateway.Gateway
	m := metrics.New(metrics.Options{
		Connections: func() int64 { return g.Connections() },
		Version:     func() uint64 { return g.Version() },
	})
	g, err = gateway.Start(cfg, gateway.Options{Observer: m})
	if err != nil {
		fmt.Fprintf(stderr, "sluice run: %v\n", err)
		return 1
	}
	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			fmt.Fprintf(stderr, "sluice run: %v\n", err)
			shutdown(g, cfg, io.Discard, stderr, "pidfile failed")
			return 1
		}
	}
	if *replace > 0 {
		// Both processes listen now; the old one's listeners close when it starts draining.
		if err := takeOver(*replace); err != nil {
			fmt.Fprintf(stderr, "sluice run: -replace %d: %v\n", *replace, err)
			shutdown(g, cfg, io.Discard, stderr, "takeover failed")
			return 1
		}
		fmt.Fprintf(stdout, "sluice: took over from process %d, which drains and exits\n", *replace)
	}
	// Signals are ours from here on: a SIGTERM during the rest of the start drains too.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	m.Event(metrics.EventStart, "gateway", fmt.Sprintf("started, config version %d", g.Version()), metrics.LevelInfo)
	reload := func() (uint64, error) {
		next, err := load()
		if err == nil {
			err = g.Reload(next)
		}
		return g.Version(), err
	}
	for _, l := range cfg.Listen {
		fmt.Fprintf(stdout, "sluice: listening on http://%s (%s engine)\n", l.Address, cfg.Engine)
	}
	adminAddr := cfg.Admin.Address
	if adminAddr == "" && useConsole {
		adminAddr = "127.0.0.1:0" // the console needs the API; this one is private to the process
	}
	var adminSrv *admin.Server
	if adminAddr != "" {
		srv, err := listenAdmin(admin.Options{Address: adminAddr, Token: cfg.Admin.Token, Gateway: g, Metrics: m, Reload: reload}, *replace > 0)
		if err != nil {
			fmt.Fprintf(stderr, "sluice run: %v\n", err)
			shutdown(g, cfg, io.Discard, stderr, "admin failed")
			return 1
		}
		defer srv.Close()
		adminSrv = srv
		adminAddr = srv.Addr().String()
		if cfg.Admin.Enabled() {
			fmt.Fprintf(stdout, "sluice: admin API on http://%s (metrics: /metrics; watch: sluice console --admin %s)\n", adminAddr, adminAddr)
		}
	}
	if *file == "" {
		fmt.Fprintln(stdout, "sluice: demo mode; try: curl http://127.0.0.1:8080/users/")
	}

	onHUP := func(out, errw io.Writer) {
		v, err := reload()
		m.Reloaded(v, err)
		if err != nil {
			fmt.Fprintf(errw, "sluice: reload refused, the old configuration keeps serving: %v\n", oneLine(err))
		} else {
			fmt.Fprintf(out, "sluice: configuration reloaded (version %d)\n", v)
		}
	}
	if useConsole {
		cctx, stopConsole := context.WithCancel(ctx)
		defer stopConsole()
		if *file == "" {
			go demoTraffic(cctx, cfg.Listen[0].Address, 10*time.Minute)
		}
		done := make(chan error, 1)
		go func() {
			done <- console.Run(cctx, console.Config{Admin: adminAddr, Token: cfg.Admin.Token, In: env.stdin, Out: stdout})
		}()
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGHUP {
					onHUP(io.Discard, io.Discard) // the console shows the reload event
					continue
				}
				stopConsole()
				<-done
				return shutdown(g, cfg, stdout, stderr, sig.String())
			case err := <-done:
				if err != nil {
					fmt.Fprintf(stderr, "sluice: console: %v\n", err)
				}
				return shutdown(g, cfg, stdout, stderr, "console closed")
			}
		}
	}
	for sig := range sigs {
		if sig == syscall.SIGHUP {
			onHUP(stdout, stderr)
			continue
		}
		if adminSrv != nil {
			// Free the admin address at once: a replacing process is waiting for it.
			adminSrv.Close()
		}
		return shutdown(g, cfg, stdout, stderr, sig.String())
	}
	return 0
}

// takeOver asks the process pid (an older Sluice on the same listeners) to drain and exit.
// Connections still in its accept queues when its listeners close would be reset; Linux
// (5.14+) migrates them to the other listeners of the SO_REUSEPORT group, ours, when
// net.ipv4.tcp_migrate_req is set, so it is set here when the process may.
func takeOver(pid int) error {
	_ = os.WriteFile("/proc/sys/net/ipv4/tcp_migrate_req", []byte("1"), 0o644)
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(syscall.SIGTERM)
}

// listenAdmin opens the admin API; when taking over, the old process holds the address until
// it starts draining, so the bind is retried for a while.
func listenAdmin(o admin.Options, waitForAddress bool) (*admin.Server, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv, err := admin.Listen(o)
		if err == nil || !waitForAddress || time.Now().After(deadline) || !errors.Is(err, syscall.EADDRINUSE) {
			return srv, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// shutdown drains the gateway within the configured time and reports how it went.
func shutdown(g *gateway.Gateway, cfg *config.Config, stdout, stderr io.Writer, why string) int {
	fmt.Fprintf(stdout, "sluice: %s: draining (at most %s)\n", why, cfg.ShutdownTimeout)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	if err := g.Shutdown(ctx); err != nil {
		fmt.Fprintf(stderr, "sluice: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "sluice: stopped")
	return 0
}

// demoTraffic sends the demo a little traffic for the console to show: about 20 requests a
// second over its routes, some of them 404s, slow answers and 503s, for at most d and never
// more than 20*d/s requests in all.
func demoTraffic(ctx context.Context, addr string, d time.Duration) {
	paths := []string{
		"/users/", "/users/1", "/users/2", "/orders/", "/users/3", "/users/99", "/orders/",
		"/users/", "/delay/40", "/status/503", "/users/4", "/hello",
	}
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(d)
	limit := int(20 * d / time.Second)
	for i := 0; i < limit && time.Now().Before(end); i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+paths[i%len(paths)], nil)
		if err != nil {
			return
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}
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
