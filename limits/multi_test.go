package limits

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// windowRemaining reads window i's remaining units at now without charging.
func windowRemaining(b *MultiBucket, m *Multi, i int, now int64) int64 {
	_, _, d := m.policies[i].step(b.tat[i].Load(), now, 0)
	return d.Remaining
}

func mustMulti(t testing.TB, ps ...*Policy) *Multi {
	t.Helper()
	m, err := NewMulti(ps...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestMultiThrottleRefusalDoesNotSpendDailyQuota(t *testing.T) {
	perSec := mustPolicy("persec", 2, time.Second, 2)
	daily := mustPolicy("daily", 5, 24*time.Hour, 5)
	m := mustMulti(t, perSec, daily)
	var b MultiBucket
	admitted := 0
	// Ten requests per second for three seconds: the throttle refuses most,
	// and those refusals must leave the daily quota alone, so exactly five
	// are admitted (2 + 2 + 1) before the quota binds.
	for s := 0; s < 3; s++ {
		for i := 0; i < 10; i++ {
			d := b.Allow(m, t0+int64(s)*int64(time.Second)+int64(i), 1)
			if d.Allowed {
				admitted++
				continue
			}
			want := perSec
			if s == 2 && i >= 1 {
				want = daily
			}
			if d.Policy != want {
				t.Fatalf("second %d request %d refused by %s, want %s", s, i, d.Policy.Name, want.Name)
			}
		}
	}
	if admitted != 5 {
		t.Fatalf("admitted %d, want 5", admitted)
	}
	d := b.Allow(m, t0+int64(3*time.Second), 1)
	if d.Allowed || d.Policy != daily {
		t.Fatalf("daily quota not binding: %+v", d)
	}
	// The daily window refills one unit per 24h/5 = 4.8h after the first
	// admission at t0.
	if want := time.Duration(24*time.Hour/5) - 3*time.Second; d.RetryAfter != want {
		t.Fatalf("retry after %v, want %v", d.RetryAfter, want)
	}
	if c := perSec.Counts(); c.Rejected != 16 {
		t.Fatalf("per-second rejections %d, want 16", c.Rejected)
	}
	if c := daily.Counts(); c.Rejected != 10 {
		t.Fatalf("daily rejections %d, want 10", c.Rejected)
	}
}

func TestMultiAdmittedDecisionReportsTightestWindow(t *testing.T) {
	a := mustPolicy("a", 10, time.Second, 10)
	q := mustPolicy("q", 100, time.Hour, 3)
	m := mustMulti(t, a, q)
	var b MultiBucket
	d := b.Allow(m, t0, 1)
	if !d.Allowed || d.Policy != q || d.Remaining != 2 {
		t.Fatalf("%+v", d)
	}
}

func TestMultiUnderContentionChargesAllOrNothing(t *testing.T) {
	for _, tc := range []struct {
		name               string
		burstA, burstB     int64
		wantA, wantB       int64 // remaining after the storm
		wantAdmittedUnits  int64
		requestsPerRoutine int
	}{
		{"throttle binds", 100, 1000, 0, 900, 100, 500},
		{"quota binds", 1000, 50, 950, 0, 50, 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pa := mustPolicy("a", tc.burstA, time.Second, tc.burstA)
			pb := mustPolicy("b", tc.burstB, 24*time.Hour, tc.burstB)
			m := mustMulti(t, pa, pb)
			var b MultiBucket
			var admitted atomic.Int64
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < tc.requestsPerRoutine; i++ {
						if b.Allow(m, t0, 1).Allowed {
							admitted.Add(1)
						}
					}
				}()
			}
			wg.Wait()
			if admitted.Load() != tc.wantAdmittedUnits {
				t.Fatalf("admitted %d, want %d", admitted.Load(), tc.wantAdmittedUnits)
			}
			if ra, rb := windowRemaining(&b, m, 0, t0), windowRemaining(&b, m, 1, t0); ra != tc.wantA || rb != tc.wantB {
				t.Fatalf("remaining a=%d b=%d, want %d %d: a refusal charged a window", ra, rb, tc.wantA, tc.wantB)
			}
		})
	}
}

func TestMultiUnderContentionWithMovingTimeStaysConsistent(t *testing.T) {
	// Both windows must have been charged for exactly the admitted units:
	// with no refill in window b (per day) its debt equals admitted units.
	pa := mustPolicy("a", 1000, time.Second, 20) // 1ms per unit
	pb := mustPolicy("b", 1_000_000, 24*time.Hour, 1_000_000)
	m := mustMulti(t, pa, pb)
	var b MultiBucket
	var clock atomic.Int64
	clock.Store(t0)
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				n := int64(1 + i%3)
				if b.Allow(m, clock.Load(), n).Allowed {
					admitted.Add(n)
				}
				if i%64 == 0 {
					clock.Add(int64(50 * time.Microsecond))
				}
			}
		}()
	}
	wg.Wait()
	now := clock.Load()
	elapsed := now - t0
	if bound := 20 + elapsed/int64(time.Millisecond); admitted.Load() > bound {
		t.Fatalf("admitted %d > %d", admitted.Load(), bound)
	}
	// Window b's TAT advanced by exactly admitted * T_b from its first base;
	// its first base was some now in [t0, now].
	tb := b.tat[1].Load()
	interval := int64(pb.Interval())
	lo, hi := t0+admitted.Load()*interval, now+admitted.Load()*interval
	if tb < lo || tb > hi {
		t.Fatalf("window b TAT %d not in [%d, %d]: charged %v units for %d admitted",
			tb, lo, hi, float64(tb-t0)/float64(interval), admitted.Load())
	}
}

func TestMultiShadowWindowIsChargedOnlyWhenEnforcementWouldAdmit(t *testing.T) {
	throttle := mustPolicy("throttle", 10, time.Second, 10)
	quota := mustPolicy("quota", 3, time.Hour, 3)
	quota.Shadow = true
	m := mustMulti(t, throttle, quota)
	var b MultiBucket
	for i := 0; i < 10; i++ {
		d := b.Allow(m, t0, 1)
		if !d.Allowed {
			t.Fatalf("request %d refused: %+v", i, d)
		}
		if d.Shadowed != (i >= 3) {
			t.Fatalf("request %d shadowed=%v", i, d.Shadowed)
		}
		if d.Policy != throttle {
			t.Fatalf("binding policy %v, want the enforcing throttle", d.Policy)
		}
	}
	if r := windowRemaining(&b, m, 1, t0); r != 0 {
		t.Fatalf("shadow quota remaining %d", r)
	}
	if r := windowRemaining(&b, m, 0, t0); r != 0 {
		t.Fatalf("throttle remaining %d, want 0 (all ten admitted were charged)", r)
	}
	if c := quota.Counts(); c.ShadowRejected != 7 || c.Rejected != 0 {
		t.Fatalf("quota counts %+v", c)
	}
	// An enforcing refusal is not a shadow rejection.
	if d := b.Allow(m, t0, 1); d.Allowed || d.Policy != throttle {
		t.Fatalf("%+v", d)
	}
	if c := quota.Counts(); c.ShadowRejected != 7 {
		t.Fatalf("quota counted an enforced refusal: %+v", c)
	}
}

func TestNewMultiRejectsBadWindowSets(t *testing.T) {
	p := mustPolicy("p", 1, time.Second, 1)
	if _, err := NewMulti(); !errors.Is(err, ErrNoWindows) {
		t.Errorf("no windows: %v", err)
	}
	if _, err := NewMulti(p, p, p, p, p); !errors.Is(err, ErrTooManyWindows) {
		t.Errorf("five windows: %v", err)
	}
	if _, err := NewMulti(p, &Policy{Rate: 1, Per: time.Second}); !errors.Is(err, ErrPolicyNotValidated) {
		t.Errorf("unvalidated: %v", err)
	}
	if _, err := NewMulti(p, nil); !errors.Is(err, ErrPolicyNotValidated) {
		t.Errorf("nil: %v", err)
	}
	var b MultiBucket
	if d := b.Allow(nil, t0, 1); d.Allowed || d.Err == nil {
		t.Errorf("nil multi: %+v", d)
	}
	m := mustMulti(t, p)
	if d := b.Allow(m, t0, -2); d.Allowed || !errors.Is(d.Err, ErrNegativeCount) {
		t.Errorf("negative: %+v", d)
	}
	if d := b.Allow(m, t0, 2); d.Allowed || !errors.Is(d.Err, ErrExceedsBurst) {
		t.Errorf("over burst: %+v", d)
	}
}
