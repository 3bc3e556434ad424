package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

const usage = `usage: sluice bench [flags] URL...
       sluice bench [flags] --request-file FILE URL
       sluice bench --merge A.json B.json...
       sluice bench --compare A.json B.json

Load HTTP/1.1 servers over keep-alive connections and report exact latency.
Without --rate the load is a closed loop (each connection sends as soon as
the previous answer arrived); with --rate R requests are due at fixed times
and latency counts from the due time (coordinated omission corrected).

flags:
`

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ", ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Main runs `sluice bench` and returns the process exit code: 0 on success,
// 1 when the run failed (no response at all, or an I/O error writing the
// report), 2 for bad flags.
func Main(args []string) int {
	return mainIO(args, os.Stdout, os.Stderr, isTerminal(os.Stdout))
}

type options struct {
	conns       int
	rate        float64
	duration    time.Duration
	requests    int64
	warmup      time.Duration
	pipeline    int
	method      string
	headers     stringList
	body        string
	bodyFile    string
	requestFile string
	timeout     time.Duration
	jsonOut     bool
	out         string
	merge       bool
	compare     bool
	quiet       bool
	engine      string
}

func parseArgs(args []string) (*options, *flag.FlagSet, []string, error) {
	o := &options{}
	fs := flag.NewFlagSet("sluice bench", flag.ContinueOnError)
	// Errors are reported as one line by the caller; -h prints the usage.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.IntVar(&o.conns, "c", 50, "connections")
	fs.Float64Var(&o.rate, "rate", 0, "open loop: requests per second in total (0: closed loop)")
	fs.DurationVar(&o.duration, "duration", 0, "measured duration (default 10s unless --requests is set)")
	fs.Int64Var(&o.requests, "requests", 0, "stop after this many measured requests")
	fs.DurationVar(&o.warmup, "warmup", 0, "load applied before measuring")
	fs.IntVar(&o.pipeline, "pipeline", 1, "requests written together per connection")
	fs.StringVar(&o.method, "m", "GET", "request method")
	fs.Var(&o.headers, "H", "request header \"Name: value\" (repeatable)")
	fs.StringVar(&o.body, "body", "", "request body")
	fs.StringVar(&o.bodyFile, "body-file", "", "read the request body from a file")
	fs.StringVar(&o.requestFile, "request-file", "", "raw HTTP/1.1 requests, back to back, sent in rotation to URL's host")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "connect and response timeout")
	fs.BoolVar(&o.jsonOut, "json", false, "print the JSON report (bench/schema.json) instead of the summary")
	fs.StringVar(&o.out, "out", "", "also write the JSON report to this file")
	fs.BoolVar(&o.merge, "merge", false, "merge JSON reports given as arguments into one")
	fs.BoolVar(&o.compare, "compare", false, "compare two JSON reports: B against A")
	fs.BoolVar(&o.quiet, "q", false, "no live progress")
	fs.StringVar(&o.engine, "engine", EngineLoop, "loop (one epoll loop for all connections) or goroutines (one per connection)")
	// Flags may follow the URLs: parse, take the next positional, repeat.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fs, nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return o, fs, pos, nil
}

func mainIO(args []string, stdout, stderr io.Writer, tty bool) int {
	o, fs, pos, err := parseArgs(args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			fs.SetOutput(stdout)
			fs.PrintDefaults()
			return 0
		}
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 2
	}
	switch {
	case o.merge && o.compare:
		fmt.Fprintln(stderr, "sluice bench: --merge and --compare exclude each other")
		return 2
	case o.merge:
		return runMerge(o, pos, stdout, stderr)
	case o.compare:
		return runCompare(pos, stdout, stderr)
	}
	cfg, err := o.config(pos)
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	run, err := Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 1
	}
	switch {
	case o.quiet || o.jsonOut && !tty:
		// Nothing live: the JSON on stdout must stay parseable.
	case tty:
		if err := runLiveView(run, stdout); err != nil {
			fmt.Fprintf(stderr, "sluice bench: live view: %v\n", err)
		}
	default:
		go progressLines(run, stderr)
	}
	res := run.Wait()
	return emit(o, res, stdout, stderr)
}

func (o *options) config(pos []string) (Config, error) {
	cfg := Config{
		Connections: o.conns, Rate: o.rate, Duration: o.duration, MaxRequests: o.requests,
		Warmup: o.warmup, Pipeline: o.pipeline, Timeout: o.timeout, Engine: o.engine,
	}
	if cfg.Duration == 0 && cfg.MaxRequests == 0 {
		cfg.Duration = 10 * time.Second
	}
	if o.body != "" && o.bodyFile != "" {
		return cfg, errors.New("--body and --body-file exclude each other")
	}
	body := []byte(o.body)
	if o.bodyFile != "" {
		b, err := os.ReadFile(o.bodyFile)
		if err != nil {
			return cfg, err
		}
		body = b
	}
	if o.requestFile != "" {
		if len(pos) != 1 {
			return cfg, errors.New("--request-file takes exactly one URL (the address to connect to)")
		}
		if len(body) > 0 || len(o.headers) > 0 || o.method != "GET" {
			return cfg, errors.New("--request-file excludes -m, -H, --body and --body-file")
		}
		data, err := os.ReadFile(o.requestFile)
		if err != nil {
			return cfg, err
		}
		if cfg.Requests, err = ParseRequestFile(data); err != nil {
			return cfg, fmt.Errorf("%s: %w", o.requestFile, err)
		}
		if cfg.Addr, err = AddrOf(pos[0]); err != nil {
			return cfg, err
		}
		cfg.Targets = []string{pos[0] + " (" + o.requestFile + ")"}
	} else {
		var err error
		if cfg.Addr, cfg.Requests, err = BuildRequests(pos, o.method, o.headers, body); err != nil {
			return cfg, err
		}
		cfg.Targets = pos
	}
	return cfg, cfg.Validate()
}

func emit(o *options, res *Result, stdout, stderr io.Writer) int {
	data, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 1
	}
	data = append(data, '\n')
	if o.out != "" {
		if err := os.WriteFile(o.out, data, 0o644); err != nil {
			fmt.Fprintf(stderr, "sluice bench: %v\n", err)
			return 1
		}
	}
	if o.jsonOut {
		stdout.Write(data)
	} else {
		res.WriteSummary(stdout)
	}
	if res.Requests == 0 {
		fmt.Fprintln(stderr, "sluice bench: no response received")
		return 1
	}
	return 0
}

func readResults(paths []string) ([]*Result, error) {
	var out []*Result
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		r, err := DecodeResult(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func runMerge(o *options, paths []string, stdout, stderr io.Writer) int {
	if len(paths) < 2 {
		fmt.Fprintln(stderr, "sluice bench: --merge needs at least two JSON reports")
		return 2
	}
	rs, err := readResults(paths)
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 2
	}
	m, err := Merge(rs...)
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 2
	}
	// The merged report is JSON on stdout unless --out takes it.
	o.jsonOut = o.jsonOut || o.out == ""
	return emit(o, m, stdout, stderr)
}

func runCompare(paths []string, stdout, stderr io.Writer) int {
	if len(paths) != 2 {
		fmt.Fprintln(stderr, "sluice bench: --compare needs exactly two JSON reports")
		return 2
	}
	rs, err := readResults(paths)
	if err != nil {
		fmt.Fprintf(stderr, "sluice bench: %v\n", err)
		return 2
	}
	WriteComparison(stdout, "A="+paths[0], rs[0], "B="+paths[1], rs[1])
	return 0
}

// progressLines prints one line a second until the run ends; the caller
// does not wait for it, a line cut short at exit is harmless.
func progressLines(run *Run, w io.Writer) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-run.ctx.Done():
			return
		case <-t.C:
			fmt.Fprintln(w, run.Progress().line())
		}
	}
}

func (p Progress) line() string {
	phase := ""
	if p.Warmup {
		phase = " (warmup)"
	}
	return fmt.Sprintf("%6.1fs%s  %9.0f req/s  p50 %-8s p99 %-8s  responses %d  errors %d",
		p.Elapsed.Seconds(), phase, p.RPS, fmtDuration(p.P50), fmtDuration(p.P99), p.Requests, p.Errors)
}
