package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// SchemaID names the JSON report format (bench/schema.json).
const SchemaID = "https://sluice-gw.dev/schemas/bench-result/v1"

// Result is the outcome of one run, or of several merged. Its JSON form is
// described by bench/schema.json; the histograms travel encoded so reports
// from several generators can be merged exactly.
type Result struct {
	Schema         string           `json:"$schema"`
	Started        time.Time        `json:"started"`
	Runs           int              `json:"runs"`
	Model          string           `json:"model"` // "closed" or "open"
	Config         RunConfig        `json:"config"`
	ElapsedSeconds float64          `json:"elapsed_seconds"`
	Requests       int64            `json:"requests"` // responses received
	RPS            float64          `json:"rps"`
	LateSends      int64            `json:"late_sends"`
	BytesRead      int64            `json:"bytes_read"`
	BytesWritten   int64            `json:"bytes_written"`
	Status         map[string]int64 `json:"status"`
	Errors         map[string]int64 `json:"errors"`
	Latency        Latencies        `json:"latency"`
	Histograms     EncodedHists     `json:"histograms"`

	corrected   *hdrhistogram.Histogram
	uncorrected *hdrhistogram.Histogram
}

// RunConfig echoes the settings a report was produced with.
type RunConfig struct {
	Targets         []string `json:"targets"`
	Connections     int      `json:"connections"`
	Rate            float64  `json:"rate"`
	DurationSeconds float64  `json:"duration_seconds"`
	MaxRequests     int64    `json:"max_requests"`
	WarmupSeconds   float64  `json:"warmup_seconds"`
	Pipeline        int      `json:"pipeline"`
	TimeoutSeconds  float64  `json:"timeout_seconds"`
}

// Latencies holds the corrected latencies (from the intended send time; the
// same as uncorrected in the closed loop) and the uncorrected ones (from the
// actual send).
type Latencies struct {
	Corrected   LatencySummary `json:"corrected"`
	Uncorrected LatencySummary `json:"uncorrected"`
}

// LatencySummary is a digest of one histogram, in microseconds.
type LatencySummary struct {
	Count int64   `json:"count"`
	Min   int64   `json:"min_us"`
	Mean  float64 `json:"mean_us"`
	P50   int64   `json:"p50_us"`
	P90   int64   `json:"p90_us"`
	P99   int64   `json:"p99_us"`
	P999  int64   `json:"p99_9_us"`
	P9999 int64   `json:"p99_99_us"`
	Max   int64   `json:"max_us"`
}

// EncodedHists carries both histograms in the HdrHistogram V2 compressed
// encoding, base64, as every HdrHistogram implementation reads it.
type EncodedHists struct {
	Unit        string `json:"unit"` // always "us"
	Corrected   string `json:"corrected"`
	Uncorrected string `json:"uncorrected"`
}

func newResult() *Result {
	r := &Result{
		Schema: SchemaID, Runs: 1,
		Status: map[string]int64{}, Errors: map[string]int64{},
		corrected: newHistogram(), uncorrected: newHistogram(),
	}
	for _, name := range errorKindNames {
		r.Errors[name] = 0
	}
	return r
}

// Corrected returns the corrected latency histogram (microseconds).
func (r *Result) Corrected() *hdrhistogram.Histogram { return r.corrected }

// Uncorrected returns the uncorrected latency histogram (microseconds).
func (r *Result) Uncorrected() *hdrhistogram.Histogram { return r.uncorrected }

// ErrorTotal is the number of failed requests of every kind.
func (r *Result) ErrorTotal() int64 {
	var n int64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// finish derives the summaries, rate and encodings from the histograms.
func (r *Result) finish() {
	r.Requests = 0
	for _, n := range r.Status {
		r.Requests += n
	}
	r.RPS = 0
	if r.ElapsedSeconds > 0 {
		r.RPS = float64(r.Requests) / r.ElapsedSeconds
	}
	r.Latency.Corrected = summarize(r.corrected)
	r.Latency.Uncorrected = summarize(r.uncorrected)
	r.Histograms = EncodedHists{Unit: "us", Corrected: encodeHist(r.corrected), Uncorrected: encodeHist(r.uncorrected)}
}

func summarize(h *hdrhistogram.Histogram) LatencySummary {
	if h.TotalCount() == 0 {
		return LatencySummary{}
	}
	v := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9, 99.99})
	return LatencySummary{
		Count: h.TotalCount(), Min: h.Min(), Mean: h.Mean(),
		P50: v[0], P90: v[1], P99: v[2], P999: v[3], P9999: v[4], Max: h.Max(),
	}
}

func encodeHist(h *hdrhistogram.Histogram) string {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		// Encoding into memory only fails on a bytes.Buffer write error,
		// which does not happen; an empty encoding would be refused by
		// DecodeResult and the schema rather than read as an empty run.
		return ""
	}
	return string(b)
}

// DecodeResult reads a JSON report and its histograms, checking that the
// numbers agree with them.
func DecodeResult(data []byte) (*Result, error) {
	r := &Result{}
	if err := json.Unmarshal(data, r); err != nil {
		return nil, err
	}
	if r.Schema != SchemaID {
		return nil, fmt.Errorf("not a sluice bench report ($schema %q)", r.Schema)
	}
	if r.Histograms.Unit != "us" {
		return nil, fmt.Errorf("histogram unit %q, want \"us\"", r.Histograms.Unit)
	}
	var err error
	if r.corrected, err = decodeHist(r.Histograms.Corrected); err != nil {
		return nil, fmt.Errorf("corrected histogram: %w", err)
	}
	if r.uncorrected, err = decodeHist(r.Histograms.Uncorrected); err != nil {
		return nil, fmt.Errorf("uncorrected histogram: %w", err)
	}
	if r.Status == nil {
		r.Status = map[string]int64{}
	}
	if r.Errors == nil {
		r.Errors = map[string]int64{}
	}
	for code, n := range r.Status {
		if c, err := strconv.Atoi(code); err != nil || c < 100 || c > 999 || n < 0 {
			return nil, fmt.Errorf("bad status entry %q: %d", code, n)
		}
	}
	var total int64
	for _, n := range r.Status {
		total += n
	}
	if r.uncorrected.TotalCount() != total {
		return nil, fmt.Errorf("histogram holds %d values but status counts sum to %d", r.uncorrected.TotalCount(), total)
	}
	return r, nil
}

func decodeHist(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, errors.New("missing")
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, err
	}
	// Re-home into the standard geometry so merges never drop values.
	out := newHistogram()
	if dropped := out.Merge(h); dropped != 0 {
		return nil, fmt.Errorf("%d values outside 0..%d us", dropped, histHighest)
	}
	return out, nil
}

// Merge combines results of runs that loaded the same target at the same
// time (several generators): counts and histograms add up, the elapsed time is
// the longest one, so the rate is the combined rate. The configuration of the
// first result is kept, with the connection count and rate summed.
func Merge(results ...*Result) (*Result, error) {
	if len(results) == 0 {
		return nil, errors.New("nothing to merge")
	}
	m := newResult()
	m.Runs = 0
	m.Model = results[0].Model
	m.Config = results[0].Config
	m.Config.Connections, m.Config.Rate = 0, 0
	m.Started = results[0].Started
	for _, r := range results {
		if r.Model != m.Model {
			return nil, fmt.Errorf("cannot merge a %s-loop result with a %s-loop one", r.Model, m.Model)
		}
		if r.Started.Before(m.Started) {
			m.Started = r.Started
		}
		m.Runs += r.Runs
		m.Config.Connections += r.Config.Connections
		m.Config.Rate += r.Config.Rate
		m.ElapsedSeconds = max(m.ElapsedSeconds, r.ElapsedSeconds)
		m.LateSends += r.LateSends
		m.BytesRead += r.BytesRead
		m.BytesWritten += r.BytesWritten
		for k, v := range r.Status {
			m.Status[k] += v
		}
		for k, v := range r.Errors {
			m.Errors[k] += v
		}
		m.corrected.Merge(r.corrected)
		m.uncorrected.Merge(r.uncorrected)
	}
	m.finish()
	return m, nil
}

// sortedStatus lists status codes in ascending order.
func (r *Result) sortedStatus() []string {
	keys := make([]string, 0, len(r.Status))
	for k := range r.Status {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
