package lb

import (
	"errors"
	"testing"
	"time"
)

// step is one event in a breaker scenario.
type step struct {
	at        int64 // ms
	allow     bool  // call Allow (else OnResult)
	fail      bool
	latencyMs int64
	n         int // repeat count (OnResult), default 1

	wantOK, wantProbe bool // for Allow
	wantState         BreakerState
}

func TestBreakerTransitions(t *testing.T) {
	base := BreakerConfig{
		Name: "up", Window: 10 * time.Second, Buckets: 10, MinRequests: 10,
		FailureRatio: 0.5, SlowCallDuration: time.Second, SlowCallRatio: 0.8,
		OpenDuration: 5 * time.Second, HalfOpenProbes: 2,
	}
	tests := []struct {
		name  string
		cfg   BreakerConfig
		steps []step
		want  []BreakerState // to-states of the transitions, in order
	}{
		{
			name: "stays closed below min requests",
			steps: []step{
				{at: 0, fail: true, n: 9, wantState: Closed},
				{at: 0, allow: true, wantOK: true, wantState: Closed},
			},
		},
		{
			name: "trips at failure ratio with min requests",
			steps: []step{
				{at: 0, n: 5, wantState: Closed},
				{at: 0, fail: true, n: 4, wantState: Closed},
				{at: 0, fail: true, wantState: Open},
				{at: 1, allow: true, wantOK: false, wantState: Open},
			},
			want: []BreakerState{Open},
		},
		{
			name: "old failures slide out of the window",
			steps: []step{
				{at: 0, fail: true, n: 9, wantState: Closed},
				{at: 11000, n: 5, wantState: Closed},
				{at: 11000, fail: true, wantState: Closed}, // 1 of 6 in window
			},
		},
		{
			name: "trips on slow calls",
			steps: []step{
				{at: 0, latencyMs: 10, n: 2, wantState: Closed},
				{at: 0, latencyMs: 1500, n: 7, wantState: Closed},
				{at: 0, latencyMs: 1500, wantState: Open}, // 8 of 10 slow
			},
			want: []BreakerState{Open},
		},
		{
			name: "half-open after open duration, closes after probes succeed",
			steps: []step{
				{at: 0, fail: true, n: 10, wantState: Open},
				{at: 4999, allow: true, wantOK: false, wantState: Open},
				{at: 5000, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
				{at: 5000, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
				{at: 5000, allow: true, wantOK: false, wantState: HalfOpen}, // probes exhausted
				{at: 5010, wantState: HalfOpen},
				{at: 5020, wantState: Closed},
				{at: 5030, allow: true, wantOK: true, wantState: Closed},
				{at: 5030, fail: true, n: 9, wantState: Closed}, // window was cleared
			},
			want: []BreakerState{Open, HalfOpen, Closed},
		},
		{
			name: "failed probe reopens",
			steps: []step{
				{at: 0, fail: true, n: 10, wantState: Open},
				{at: 5000, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
				{at: 5001, fail: true, wantState: Open},
				{at: 9000, allow: true, wantOK: false, wantState: Open}, // a new full cooldown
				{at: 10001, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
			},
			want: []BreakerState{Open, HalfOpen, Open, HalfOpen},
		},
		{
			name: "slow probe reopens",
			steps: []step{
				{at: 0, fail: true, n: 10, wantState: Open},
				{at: 5000, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
				{at: 6000, latencyMs: 2000, wantState: Open},
			},
			want: []BreakerState{Open, HalfOpen, Open},
		},
		{
			name: "lost probes are reissued after open duration",
			steps: []step{
				{at: 0, fail: true, n: 10, wantState: Open},
				{at: 5000, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
				{at: 5000, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
				{at: 9999, allow: true, wantOK: false, wantState: HalfOpen},
				{at: 10000, allow: true, wantOK: true, wantProbe: true, wantState: HalfOpen},
			},
			want: []BreakerState{Open, HalfOpen},
		},
		{
			name: "results while open are ignored",
			steps: []step{
				{at: 0, fail: true, n: 10, wantState: Open},
				{at: 100, n: 50, wantState: Open},
				{at: 200, allow: true, wantOK: false, wantState: Open},
			},
			want: []BreakerState{Open},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			var got []BreakerState
			cfg.OnTransition = func(tr Transition) {
				if tr.Name != "up" || tr.From == tr.To {
					t.Errorf("bad transition %+v", tr)
				}
				got = append(got, tr.To)
			}
			b, err := NewBreaker(cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, st := range tc.steps {
				now := st.at * ms
				if st.allow {
					ok, probe := b.Allow(now)
					if ok != st.wantOK || probe != st.wantProbe {
						t.Fatalf("step %d: Allow = %v,%v, want %v,%v", i, ok, probe, st.wantOK, st.wantProbe)
					}
				} else {
					n := max(st.n, 1)
					for k := 0; k < n; k++ {
						b.OnResult(now, st.fail, time.Duration(st.latencyMs)*time.Millisecond)
					}
				}
				if b.State() != st.wantState {
					t.Fatalf("step %d: state %v, want %v", i, b.State(), st.wantState)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("transitions %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("transitions %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestBreakerLogRecordsTransitionsWithTimes(t *testing.T) {
	log, err := NewTransitionLog(2)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewBreaker(BreakerConfig{Name: "x", FailureRatio: 1, MinRequests: 1, OpenDuration: time.Second, Log: log})
	b.OnResult(7, true, 0)      // closed → open at 7
	b.Allow(7 + sec)            // open → half-open
	b.OnResult(8+sec, false, 0) // half-open → closed
	got, next, dropped := log.Since(0, nil)
	if next != 3 || dropped != 1 || len(got) != 2 {
		t.Fatalf("next %d dropped %d got %+v", next, dropped, got)
	}
	want := []Transition{{"x", Open, HalfOpen, 7 + sec}, {"x", HalfOpen, Closed, 8 + sec}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	if more, n2, _ := log.Since(next, nil); len(more) != 0 || n2 != 3 {
		t.Fatalf("nothing new expected, got %+v", more)
	}
}

func TestNilBreakerAllowsEverything(t *testing.T) {
	var b *Breaker
	if ok, probe := b.Allow(0); !ok || probe {
		t.Fatal("nil breaker refused")
	}
	b.OnResult(0, true, time.Hour)
	if b.State() != Closed {
		t.Fatal("nil breaker not closed")
	}
}

func TestBreakerConfigValidation(t *testing.T) {
	for _, cfg := range []BreakerConfig{
		{},                                      // can never trip
		{FailureRatio: 1.5},                     // ratio > 1
		{FailureRatio: 0.5, Buckets: -1},        // bad buckets
		{FailureRatio: 0.5, MinRequests: -1},    // bad min
		{FailureRatio: 0.5, OpenDuration: -1},   // bad duration
		{SlowCallRatio: 0.5},                    // slow ratio without duration
		{FailureRatio: 0.5, HalfOpenProbes: -1}, // bad probes
	} {
		if _, err := NewBreaker(cfg); !errors.Is(err, ErrBadConfig) {
			t.Fatalf("%+v: err %v", cfg, err)
		}
	}
	if _, err := NewTransitionLog(0); !errors.Is(err, ErrBadConfig) {
		t.Fatal("zero-capacity log accepted")
	}
}

func TestBreakerResetClosesAnOpenBreaker(t *testing.T) {
	log, _ := NewTransitionLog(8)
	b, err := NewBreaker(BreakerConfig{Name: "t", FailureRatio: 0.5, MinRequests: 2, OpenDuration: time.Hour, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if b.Reset(1) {
		t.Fatal("reset of a closed breaker reported a change")
	}
	for i := 0; i < 4; i++ {
		b.OnResult(int64(i+1), true, 0)
	}
	if b.State() != Open {
		t.Fatalf("state %v after failures, want open", b.State())
	}
	if !b.Reset(10) || b.State() != Closed {
		t.Fatalf("reset left the breaker %v", b.State())
	}
	if ok, _ := b.Allow(11); !ok {
		t.Fatal("a reset breaker refuses requests")
	}
	trs, _, _ := log.Since(0, nil)
	if len(trs) != 2 || trs[1].To != Closed {
		t.Fatalf("transitions %+v", trs)
	}
}
