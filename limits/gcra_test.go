package limits

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is an arbitrary non-zero start so tests do not depend on now == 0.
const t0 = int64(1_000_000_000_000)

// mustPolicy returns a validated policy for the constant values of a test.
func mustPolicy(name string, rate int64, per time.Duration, burst int64) *Policy {
	p := &Policy{Name: name, Rate: rate, Per: per, Burst: burst}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

type step struct {
	at        time.Duration // offset from t0
	n         int64
	allowed   bool
	remaining int64
	retry     time.Duration
	reset     time.Duration
}

func runSteps(t *testing.T, p *Policy, steps []step) {
	t.Helper()
	var b Bucket
	for i, s := range steps {
		d := b.Allow(p, t0+int64(s.at), s.n)
		if d.Err != nil {
			t.Fatalf("step %d: unexpected error %v", i, d.Err)
		}
		if d.Allowed != s.allowed || d.Remaining != s.remaining || d.RetryAfter != s.retry || d.Reset != s.reset {
			t.Fatalf("step %d at +%v n=%d: got allowed=%v remaining=%d retry=%v reset=%v; want %v %d %v %v",
				i, s.at, s.n, d.Allowed, d.Remaining, d.RetryAfter, d.Reset, s.allowed, s.remaining, s.retry, s.reset)
		}
	}
}

func TestGCRABurstThenOneUnitPerInterval(t *testing.T) {
	p := mustPolicy("api", 100, time.Second, 200) // T = 10ms, capacity 2s
	ms := time.Millisecond
	var steps []step
	for i := int64(1); i <= 200; i++ {
		steps = append(steps, step{0, 1, true, 200 - i, 0, time.Duration(i) * 10 * ms})
	}
	steps = append(steps,
		step{0, 1, false, 0, 10 * ms, 2 * time.Second},                         // bucket empty
		step{9 * ms, 1, false, 0, 1 * ms, 2*time.Second - 9*ms},                // 1ms early
		step{10 * ms, 1, true, 0, 0, 2 * time.Second},                          // exactly one interval later
		step{10 * ms, 1, false, 0, 10 * ms, 2 * time.Second},                   // and only one
		step{1010 * ms, 1, true, 99, 0, 2*time.Second - 990*ms},                // a second refills 100
		step{1010 * ms, 99, true, 0, 0, 2 * time.Second},                       // spend them at once
		step{1010 * ms, 0, true, 0, 0, 2 * time.Second},                        // n=0 is a query
		step{1 * time.Hour, 200, true, 0, 0, 2 * time.Second},                  // idle refills to burst, no more
		step{1 * time.Hour, 1, false, 0, 10 * ms, 2 * time.Second},             // still empty
		step{1*time.Hour + 30*ms, 5, false, 3, 20 * ms, 2*time.Second - 30*ms}, // 3 available, 5 asked
	)
	runSteps(t, p, steps)
}

func TestGCRAPerMinuteDefaultsBurstToRate(t *testing.T) {
	p := mustPolicy("perMin", 1000, time.Minute, 0) // T = 60ms, burst 1000
	if p.EffectiveBurst() != 1000 || p.Interval() != 60*time.Millisecond {
		t.Fatalf("burst %d interval %v", p.EffectiveBurst(), p.Interval())
	}
	var b Bucket
	for i := 0; i < 1000; i++ {
		if d := b.Allow(p, t0, 1); !d.Allowed {
			t.Fatalf("request %d refused", i)
		}
	}
	d := b.Allow(p, t0, 1)
	if d.Allowed || d.RetryAfter != 60*time.Millisecond || d.Reset != time.Minute {
		t.Fatalf("after burst: %+v", d)
	}
	// Sustained: exactly one per 60ms over ten minutes of arrivals every 15ms.
	admitted := 0
	for at := int64(1); at <= int64(10*time.Minute)/int64(15*time.Millisecond); at++ {
		if b.Allow(p, t0+at*int64(15*time.Millisecond), 1).Allowed {
			admitted++
		}
	}
	if admitted != 10*1000 {
		t.Fatalf("admitted %d in 10 minutes, want 10000", admitted)
	}
}

func TestGCRAPerDayQuota(t *testing.T) {
	p := mustPolicy("daily", 50000, 24*time.Hour, 0) // T = 1.728s
	var b Bucket
	if d := b.Allow(p, t0, 50000); !d.Allowed || d.Remaining != 0 || d.Reset != 24*time.Hour {
		t.Fatalf("whole quota at once: %+v", d)
	}
	d := b.Allow(p, t0+int64(time.Hour), 2084)
	if d.Allowed || d.Remaining != 2083 { // 3600s / 1.728s = 2083.3
		t.Fatalf("an hour later: %+v", d)
	}
	if d := b.Allow(p, t0+int64(time.Hour), 2083); !d.Allowed || d.Remaining != 0 {
		t.Fatalf("an hour later, 2083: %+v", d)
	}
}

func TestGCRARoundsIntervalUpSoRateIsNeverExceeded(t *testing.T) {
	p := mustPolicy("third", 3, time.Second, 1)
	if p.Interval() != 333333334 {
		t.Fatalf("interval %d", p.Interval())
	}
	var b Bucket
	admitted := 0
	for ns := int64(0); ns <= int64(time.Minute); ns += int64(time.Millisecond) {
		if b.Allow(p, t0+ns, 1).Allowed {
			admitted++
		}
	}
	// 1 at t0, then one per 333333334ns: floor(60e9/333333334)+1 = 180.
	if admitted != 180 {
		t.Fatalf("admitted %d in a minute, want 180", admitted)
	}
}

func TestGCRARetryAfterIsExact(t *testing.T) {
	for _, p := range []*Policy{
		mustPolicy("a", 7, time.Second, 3),
		mustPolicy("b", 1, time.Hour, 2),
		mustPolicy("c", 1000, time.Millisecond, 50),
	} {
		var b Bucket
		now := t0
		for i := 0; i < 200; i++ {
			d := b.Allow(p, now, 2)
			if d.Allowed {
				continue
			}
			if d.RetryAfter <= 0 {
				t.Fatalf("%v: refusal without RetryAfter: %+v", p, d)
			}
			if b.Allow(p, now+int64(d.RetryAfter)-1, 2).Allowed {
				t.Fatalf("%v: admitted 1ns before RetryAfter %v", p, d.RetryAfter)
			}
			if !b.Allow(p, now+int64(d.RetryAfter), 2).Allowed {
				t.Fatalf("%v: refused at RetryAfter %v", p, d.RetryAfter)
			}
			now += int64(d.RetryAfter)
		}
	}
}

func TestGCRAStaleTimeNeverAdmitsMore(t *testing.T) {
	// A caller whose now is behind another's (read before a slower CAS) must
	// see a stricter, not a looser, bucket.
	p := mustPolicy("s", 10, time.Second, 10)
	var b Bucket
	b.Allow(p, t0+int64(time.Second), 10)
	if d := b.Allow(p, t0, 1); d.Allowed {
		t.Fatalf("stale now admitted: %+v", d)
	}
}

func TestGCRARejectsInvalidRequests(t *testing.T) {
	p := mustPolicy("x", 10, time.Second, 5)
	var b Bucket
	if d := b.Allow(p, t0, -1); d.Allowed || !errors.Is(d.Err, ErrNegativeCount) {
		t.Fatalf("negative n: %+v", d)
	}
	if d := b.Allow(p, t0, 6); d.Allowed || !errors.Is(d.Err, ErrExceedsBurst) || d.RetryAfter != 0 || d.Remaining != 5 {
		t.Fatalf("n > burst: %+v", d)
	}
	if d := b.Allow(&Policy{Rate: 1, Per: time.Second}, t0, 1); d.Allowed || !errors.Is(d.Err, ErrPolicyNotValidated) {
		t.Fatalf("unvalidated policy: %+v", d)
	}
	if d := b.Allow(p, t0, 5); !d.Allowed {
		t.Fatalf("invalid requests consumed: %+v", d)
	}
}

func TestPolicyValidateRejectsBadValues(t *testing.T) {
	for name, p := range map[string]*Policy{
		"zero rate":       {Rate: 0, Per: time.Second},
		"negative rate":   {Rate: -1, Per: time.Second},
		"zero period":     {Rate: 1},
		"negative burst":  {Rate: 1, Per: time.Second, Burst: -1},
		"sub-nanosecond":  {Rate: 2, Per: 1},
		"huge burst":      {Rate: 1, Per: time.Hour, Burst: 1 << 40},
		"control in name": {Name: "a\nb", Rate: 1, Per: time.Second},
		"non-ASCII name":  {Name: "caf\xc3\xa9", Rate: 1, Per: time.Second},
	} {
		if err := p.Validate(); !errors.Is(err, ErrPolicyInvalid) {
			t.Errorf("%s: Validate() = %v, want ErrPolicyInvalid", name, err)
		}
	}
}

func TestShadowPolicyAdmitsCountsAndMimicsEnforcement(t *testing.T) {
	p := mustPolicy("shadow", 10, time.Second, 5)
	p.Shadow = true
	var b Bucket
	for i := 0; i < 5; i++ {
		if d := b.Allow(p, t0, 1); !d.Allowed || d.Shadowed {
			t.Fatalf("within burst %d: %+v", i, d)
		}
	}
	for i := 0; i < 3; i++ {
		if d := b.Allow(p, t0, 1); !d.Allowed || !d.Shadowed || d.RetryAfter != 0 {
			t.Fatalf("over burst: %+v", d)
		}
	}
	// The state is what enforcement would have left: one unit back 100ms later.
	if d := b.Allow(p, t0+int64(100*time.Millisecond), 1); d.Shadowed {
		t.Fatalf("shadow refusals were charged: %+v", d)
	}
	if c := p.Counts(); c.ShadowRejected != 3 || c.Rejected != 0 {
		t.Fatalf("counts %+v", c)
	}
}

func TestBucketUnderContentionAdmitsExactlyBurstAtOneInstant(t *testing.T) {
	p := mustPolicy("hot", 1000, time.Second, 5000)
	var b Bucket
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				if b.Allow(p, t0, 1).Allowed {
					admitted.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if admitted.Load() != 5000 {
		t.Fatalf("admitted %d at one instant, want exactly the burst 5000", admitted.Load())
	}
	if c := p.Counts(); c.Rejected != 16*2000-5000 {
		t.Fatalf("rejected %d", c.Rejected)
	}
}

func TestBucketUnderContentionNeverExceedsElapsedAllowance(t *testing.T) {
	// Many goroutines hammer one key while a clock goroutine advances the
	// injected time; whatever now each caller read, total admissions are
	// bounded by burst + elapsed/T, and with demand far above the rate they
	// reach that bound within the last interval's slack.
	p := mustPolicy("hot", 1000, time.Second, 100) // T = 1ms
	var b Bucket
	var clock atomic.Int64
	clock.Store(t0)
	var admitted atomic.Int64
	var done atomic.Bool
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200000 && !done.Load(); i++ {
				if b.Allow(p, clock.Load(), 1).Allowed {
					admitted.Add(1)
				}
			}
		}()
	}
	const ticks = 2000
	for i := 0; i < ticks; i++ {
		clock.Add(int64(100 * time.Microsecond))
		if i%50 == 0 {
			time.Sleep(time.Microsecond) // let the hammering goroutines run
		}
	}
	done.Store(true)
	wg.Wait()
	elapsed := clock.Load() - t0
	bound := 100 + elapsed/int64(time.Millisecond)
	if got := admitted.Load(); got > bound {
		t.Fatalf("admitted %d > bound %d over %v", got, bound, time.Duration(elapsed))
	}
	// Settle: at the final instant, the bucket must be consistent with the
	// count: the admitted units plus what remains never exceed the bound.
	d := b.Allow(p, clock.Load(), 0)
	if admitted.Load()+d.Remaining > bound {
		t.Fatalf("admitted %d + remaining %d > bound %d", admitted.Load(), d.Remaining, bound)
	}
}
