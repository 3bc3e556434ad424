package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

func us(v int64) string { return fmtDuration(time.Duration(v) * time.Microsecond) }

func fmtDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dus", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.2fs", d.Seconds())
	}
}

// WriteSummary prints the human-readable report.
func (r *Result) WriteSummary(w io.Writer) {
	c := r.Config
	load := fmt.Sprintf("closed loop, %d connections", c.Connections)
	if r.Model == "open" {
		load = fmt.Sprintf("open loop at %g req/s over %d connections", c.Rate, c.Connections)
	}
	if c.Pipeline > 1 {
		load += fmt.Sprintf(", pipeline %d", c.Pipeline)
	}
	fmt.Fprintf(w, "%s (%s", strings.Join(c.Targets, " "), load)
	if r.Runs > 1 {
		fmt.Fprintf(w, ", %d runs merged", r.Runs)
	}
	fmt.Fprintf(w, ")\n")
	fmt.Fprintf(w, "  %d responses in %.2fs: %.1f req/s, read %s, wrote %s\n",
		r.Requests, r.ElapsedSeconds, r.RPS, bytesHuman(r.BytesRead), bytesHuman(r.BytesWritten))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  latency\tp50\tp90\tp99\tp99.9\tp99.99\tmax\t\n")
	row := func(name string, s LatencySummary) {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", name, us(s.P50), us(s.P90), us(s.P99), us(s.P999), us(s.P9999), us(s.Max))
	}
	if r.Model == "open" {
		row("corrected", r.Latency.Corrected)
		row("uncorrected", r.Latency.Uncorrected)
	} else {
		row("", r.Latency.Uncorrected)
	}
	tw.Flush()
	var codes []string
	for _, k := range r.sortedStatus() {
		codes = append(codes, fmt.Sprintf("%s: %d", k, r.Status[k]))
	}
	fmt.Fprintf(w, "  status  %s\n", strings.Join(codes, ", "))
	if n := r.ErrorTotal(); n > 0 {
		var kinds []string
		for _, k := range errorKindNames {
			if r.Errors[k] > 0 {
				kinds = append(kinds, fmt.Sprintf("%s %d", k, r.Errors[k]))
			}
		}
		fmt.Fprintf(w, "  errors  %d (%s)\n", n, strings.Join(kinds, ", "))
	} else {
		fmt.Fprintf(w, "  errors  0\n")
	}
	if r.Model == "open" {
		fmt.Fprintf(w, "  late sends  %d (started more than %v after their intended time)\n", r.LateSends, lateAfter)
	}
}

func bytesHuman(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// WriteComparison prints B against A metric by metric, with the ratio B/A.
func WriteComparison(w io.Writer, nameA string, a *Result, nameB string, b *Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\t%s\t%s\tB/A\t\n", nameA, nameB)
	ratio := func(x, y float64) string {
		if x == 0 {
			if y == 0 {
				return "1.00x"
			}
			return "inf"
		}
		return fmt.Sprintf("%.2fx", y/x)
	}
	fmt.Fprintf(tw, "req/s\t%.1f\t%.1f\t%s\t\n", a.RPS, b.RPS, ratio(a.RPS, b.RPS))
	fmt.Fprintf(tw, "responses\t%d\t%d\t%s\t\n", a.Requests, b.Requests, ratio(float64(a.Requests), float64(b.Requests)))
	fmt.Fprintf(tw, "errors\t%d\t%d\t%s\t\n", a.ErrorTotal(), b.ErrorTotal(), ratio(float64(a.ErrorTotal()), float64(b.ErrorTotal())))
	lat := func(name string, x, y LatencySummary) {
		rows := []struct {
			n    string
			x, y int64
		}{{"p50", x.P50, y.P50}, {"p90", x.P90, y.P90}, {"p99", x.P99, y.P99}, {"p99.9", x.P999, y.P999}, {"p99.99", x.P9999, y.P9999}, {"max", x.Max, y.Max}}
		for _, r := range rows {
			fmt.Fprintf(tw, "%s %s\t%s\t%s\t%s\t\n", name, r.n, us(r.x), us(r.y), ratio(float64(r.x), float64(r.y)))
		}
	}
	lat("latency", a.Latency.Uncorrected, b.Latency.Uncorrected)
	if a.Model == "open" || b.Model == "open" {
		lat("corrected", a.Latency.Corrected, b.Latency.Corrected)
	}
	tw.Flush()
}
