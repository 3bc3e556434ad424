package limits

import (
	"errors"
	"testing"
	"time"
)

func TestParseRateAcceptsConfigNotation(t *testing.T) {
	for in, want := range map[string]struct {
		rate int64
		per  time.Duration
	}{
		"100/s":       {100, time.Second},
		"1000/min":    {1000, time.Minute},
		"50000/day":   {50000, 24 * time.Hour},
		"10/100ms":    {10, 100 * time.Millisecond},
		"3/2h":        {3, 2 * time.Hour},
		" 7 / 5days ": {7, 5 * 24 * time.Hour},
		"1/second":    {1, time.Second},
		"9/m":         {9, time.Minute},
		"4/250us":     {4, 250 * time.Microsecond},
	} {
		r, per, err := ParseRate(in)
		if err != nil || r != want.rate || per != want.per {
			t.Errorf("ParseRate(%q) = %d, %v, %v; want %d, %v", in, r, per, err, want.rate, want.per)
		}
	}
}

func TestParseRateRejectsMalformedInput(t *testing.T) {
	for _, in := range []string{
		"", "100", "/s", "100/", "0/s", "-1/s", "+5/s", "1.5/s", "100/fortnight",
		"100/0s", "100/-1s", "1/99999999999999999999d", "1/9999999999h", "100//s", "x/s", "100/s/s",
	} {
		if _, _, err := ParseRate(in); !errors.Is(err, ErrRateSyntax) {
			t.Errorf("ParseRate(%q) error %v, want ErrRateSyntax", in, err)
		}
	}
}

func TestParsePolicyValidates(t *testing.T) {
	p, err := ParsePolicy("api", "100/s", 200)
	if err != nil || p.Interval() != 10*time.Millisecond || p.EffectiveBurst() != 200 {
		t.Fatalf("%v %v", p, err)
	}
	if _, err := ParsePolicy("api", "2/ns", 0); !errors.Is(err, ErrPolicyInvalid) {
		t.Fatalf("finer than 1ns accepted: %v", err)
	}
	if _, err := ParsePolicy("api", "1/s", -1); !errors.Is(err, ErrPolicyInvalid) {
		t.Fatalf("negative burst accepted: %v", err)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"100/s", "1000/min", "50000/day", "10/100ms", "3/2h", "/", "1/9999999999999d", "µs/µs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, per, err := ParseRate(s)
		if err != nil {
			if !errors.Is(err, ErrRateSyntax) {
				t.Fatalf("error %v does not wrap ErrRateSyntax", err)
			}
			return
		}
		if r <= 0 || per <= 0 {
			t.Fatalf("ParseRate(%q) = %d, %v without error", s, r, per)
		}
	})
}
