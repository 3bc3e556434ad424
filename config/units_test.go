package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDurationAcceptsGoDurations(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"5s", 5 * time.Second},
		{"250ms", 250 * time.Millisecond},
		{"1m30s", 90 * time.Second},
		{"2h", 2 * time.Hour},
		{"0", 0},
		{"0s", 0},
		{" 10s ", 10 * time.Second},
		{"1.5s", 1500 * time.Millisecond},
		{"100us", 100 * time.Microsecond},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got.Duration() != tc.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseDurationRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty duration"},
		{"30", `missing unit in duration "30"`},
		{"-5s", "must not be negative"},
		{"5 sec", `invalid duration "5 sec"`},
		{"1d", `invalid duration "1d"`},
		{"s", `invalid duration "s"`},
	} {
		_, err := ParseDuration(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseDuration(%q) error = %v; want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestParseSizeUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
	}{
		{"0", 0},
		{"512", 512},
		{"512B", 512},
		{"8KiB", 8 << 10},
		{"1MiB", 1 << 20},
		{"1GiB", 1 << 30},
		{"2TiB", 2 << 40},
		{"10KB", 10_000},
		{"10MB", 10_000_000},
		{"1GB", 1_000_000_000},
		{"3TB", 3_000_000_000_000},
		{"8 KiB", 8 << 10},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseSizeRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty size"},
		{"-1", "must not be negative"},
		{"1.5MiB", "must be a whole number"},
		{"8kib", `unknown size unit "kib"`},
		{"8Kb", `unknown size unit "Kb"`},
		{"KiB", `invalid size "KiB"`},
		{"99999999999999999999", "too large"},
		{"9000000TiB", "too large"},
	} {
		_, err := ParseSize(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSize(%q) error = %v; want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestSizeStringPicksLargestExactUnit(t *testing.T) {
	for _, tc := range []struct {
		in   Size
		want string
	}{
		{0, "0"}, {513, "513B"}, {1024, "1KiB"}, {1000, "1KB"}, {8 << 10, "8KiB"},
		{10_000_000, "10MB"}, {1 << 30, "1GiB"}, {1536 << 10, "1536KiB"},
	} {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("Size(%d).String() = %q; want %q", int64(tc.in), got, tc.want)
		}
		back, err := ParseSize(tc.in.String())
		if err != nil || back != tc.in {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in.String(), back, err, tc.in)
		}
	}
}

func TestParseRateUnits(t *testing.T) {
	for _, tc := range []struct {
		in       string
		want     Rate
		str      string
		interval time.Duration
	}{
		{"100/s", Rate{100, time.Second}, "100/s", 10 * time.Millisecond},
		{"1000/min", Rate{1000, time.Minute}, "1000/min", 60 * time.Millisecond},
		{"10/h", Rate{10, time.Hour}, "10/h", 6 * time.Minute},
		{"50000/day", Rate{50000, 24 * time.Hour}, "50000/day", 1728 * time.Millisecond},
		{"5/second", Rate{5, time.Second}, "5/s", 200 * time.Millisecond},
		{"100/10s", Rate{100, 10 * time.Second}, "100/10s", 100 * time.Millisecond},
		{" 3 / min ", Rate{3, time.Minute}, "3/min", 20 * time.Second},
		{"2000000000/s", Rate{2000000000, time.Second}, "2000000000/s", 1},
	} {
		got, err := ParseRate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseRate(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("ParseRate(%q).String() = %q; want %q", tc.in, got.String(), tc.str)
		}
		if got.Interval() != tc.interval {
			t.Errorf("ParseRate(%q).Interval() = %v; want %v", tc.in, got.Interval(), tc.interval)
		}
	}
	if r, _ := ParseRate("1000/min"); r.PerSecond() < 16.66 || r.PerSecond() > 16.67 {
		t.Errorf("1000/min PerSecond = %v", r.PerSecond())
	}
}

func TestParseRateRejects(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"100", "write COUNT/UNIT"},
		{"0/s", "at least one event"},
		{"-1/s", `invalid count "-1"`},
		{"x/s", `invalid count "x"`},
		{"10/m", `ambiguous rate unit "m"`},
		{"10/week", `unknown rate unit "week"`},
		{"10/0s", `unknown rate unit "0s"`},
	} {
		_, err := ParseRate(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseRate(%q) error = %v; want it to contain %q", tc.in, err, tc.want)
		}
	}
}

func TestUnitsRoundTripThroughText(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1m30s")); err != nil || d.Duration() != 90*time.Second {
		t.Fatalf("Duration.UnmarshalText = %v, %v", d, err)
	}
	if b, _ := d.MarshalText(); string(b) != "1m30s" {
		t.Errorf("Duration.MarshalText = %q", b)
	}
	var s Size
	if err := s.UnmarshalText([]byte("bogus")); err == nil {
		t.Error("Size.UnmarshalText(bogus) succeeded")
	}
	var r Rate
	if err := r.UnmarshalText([]byte("7/h")); err != nil || r != (Rate{7, time.Hour}) {
		t.Errorf("Rate.UnmarshalText = %+v, %v", r, err)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "512", "8KiB", "10MB", "1.5MiB", "-1", "99999999999TiB", " 3 GB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, v)
		}
		back, err := ParseSize(v.String())
		if err != nil || back != v {
			t.Fatalf("round trip of %q: %q -> %d, %v", s, v.String(), back, err)
		}
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"0", "5s", "1m30s", "30", "-1s", "1.5h", "9999999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseDuration(s)
		if err != nil {
			return
		}
		if v < 0 {
			t.Fatalf("ParseDuration(%q) = %v, negative", s, v)
		}
		back, err := ParseDuration(v.String())
		if err != nil || back != v {
			t.Fatalf("round trip of %q: %q -> %v, %v", s, v.String(), back, err)
		}
	})
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"100/s", "1000/min", "10/h", "50000/day", "100/10s", "0/s", "1/0s", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if r.Count <= 0 || r.Per <= 0 || r.Interval() <= 0 {
			t.Fatalf("ParseRate(%q) = %+v (interval %v)", s, r, r.Interval())
		}
		back, err := ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("round trip of %q: %q -> %+v, %v", s, r.String(), back, err)
		}
	})
}
