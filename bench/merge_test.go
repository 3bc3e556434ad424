package bench

import (
	"encoding/json"
	"testing"
	"time"
)

func TestMergeAddsHistogramsCountsAndStatuses(t *testing.T) {
	srv := newTestServer(t)
	addr, reqs := mustRequests(t, srv.url("/ok"), srv.url("/missing"), srv.url("/fail"))
	a := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 2, MaxRequests: 300}, 10*time.Second)
	b := runFor(t, Config{Addr: addr, Requests: reqs, Connections: 3, MaxRequests: 150}, 10*time.Second)

	// Merge what the JSON files carry, as `sluice bench --merge` does.
	var decoded []*Result
	for _, r := range []*Result{a, b} {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		d, err := DecodeResult(data)
		if err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, d)
	}
	m, err := Merge(decoded...)
	if err != nil {
		t.Fatal(err)
	}

	combined := newHistogram()
	combined.Merge(a.uncorrected)
	combined.Merge(b.uncorrected)
	got, want := m.uncorrected.Export(), combined.Export()
	if len(got.Counts) != len(want.Counts) {
		t.Fatalf("merged histogram has %d buckets, combined %d", len(got.Counts), len(want.Counts))
	}
	for i := range want.Counts {
		if got.Counts[i] != want.Counts[i] {
			t.Fatalf("bucket %d: merged %d, combined %d", i, got.Counts[i], want.Counts[i])
		}
	}
	if m.Requests != 450 || m.uncorrected.TotalCount() != 450 || m.corrected.TotalCount() != 450 {
		t.Errorf("merged %d responses, histograms %d/%d, want 450", m.Requests, m.uncorrected.TotalCount(), m.corrected.TotalCount())
	}
	for code, n := range map[string]int64{"200": 150, "404": 150, "500": 150} {
		if m.Status[code] != n {
			t.Errorf("status %s: %d, want %d", code, m.Status[code], n)
		}
	}
	if m.Runs != 2 || m.Config.Connections != 5 {
		t.Errorf("runs %d connections %d, want 2 and 5", m.Runs, m.Config.Connections)
	}
	if m.ElapsedSeconds != max(a.ElapsedSeconds, b.ElapsedSeconds) {
		t.Errorf("elapsed %v, want the longer run", m.ElapsedSeconds)
	}
	if m.Latency.Uncorrected.Max != max(a.Latency.Uncorrected.Max, b.Latency.Uncorrected.Max) {
		t.Errorf("merged max %d, runs %d and %d", m.Latency.Uncorrected.Max, a.Latency.Uncorrected.Max, b.Latency.Uncorrected.Max)
	}
}

func TestMergeRefusesMixedModels(t *testing.T) {
	a, b := newResult(), newResult()
	a.Model, b.Model = "closed", "open"
	if _, err := Merge(a, b); err == nil {
		t.Error("merged a closed-loop and an open-loop result")
	}
	if _, err := Merge(); err == nil {
		t.Error("merged nothing")
	}
}

func TestDecodeResultRejectsInconsistentReports(t *testing.T) {
	res := newResult()
	res.Model = "closed"
	res.Status["200"] = 2
	res.uncorrected.RecordValue(5)
	res.uncorrected.RecordValue(7)
	res.corrected.Merge(res.uncorrected)
	res.finish()
	good, _ := json.Marshal(res)
	if _, err := DecodeResult(good); err != nil {
		t.Fatalf("good report: %v", err)
	}
	tests := map[string]func(m map[string]any){
		"status_sum_differs_from_histogram": func(m map[string]any) { m["status"].(map[string]any)["200"] = 3 },
		"histogram_garbage":                 func(m map[string]any) { m["histograms"].(map[string]any)["uncorrected"] = "AAAA" },
		"histogram_missing":                 func(m map[string]any) { m["histograms"].(map[string]any)["corrected"] = "" },
		"foreign_schema":                    func(m map[string]any) { m["$schema"] = "other" },
		"status_code_out_of_range":          func(m map[string]any) { m["status"].(map[string]any)["42"] = 0 },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			var m map[string]any
			json.Unmarshal(good, &m)
			mutate(m)
			data, _ := json.Marshal(m)
			if _, err := DecodeResult(data); err == nil {
				t.Error("accepted")
			}
		})
	}
}

func FuzzDecodeResult(f *testing.F) {
	res := newResult()
	res.Model = "open"
	res.Status["200"] = 1
	res.uncorrected.RecordValue(42)
	res.corrected.RecordValue(4200)
	res.finish()
	good, _ := json.Marshal(res)
	f.Add(good)
	f.Add([]byte(`{"$schema":"https://sluice-gw.dev/schemas/bench-result/v1","histograms":{"unit":"us","corrected":"HISTFAAAABx4nJNpmSzMwMDAxQABzFCaEUTvmNJgbwMRAACdBAGc"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeResult(data)
		if err != nil {
			return
		}
		// Anything accepted must merge and re-encode consistently.
		m, err := Merge(r)
		if err != nil {
			return
		}
		if m.uncorrected.TotalCount() != r.uncorrected.TotalCount() || m.Requests != r.uncorrected.TotalCount() {
			t.Fatalf("merge of one report changed its counts: %d vs %d", m.uncorrected.TotalCount(), r.uncorrected.TotalCount())
		}
	})
}
