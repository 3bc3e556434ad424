package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a length of time written the way Go writes it: "250ms", "5s",
// "1m30s", "2h". A bare number is rejected (except 0) because "30" is as
// likely to mean minutes as seconds.
type Duration time.Duration

// ParseDuration reads a non-negative duration with a unit.
func ParseDuration(s string) (Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration (for example \"5s\")")
	}
	if s == "0" {
		return 0, nil
	}
	if isDigits(s) {
		return 0, fmt.Errorf("missing unit in duration %q (for example \"%ss\" or \"%sms\")", s, s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use a number and a unit: ns, us, ms, s, m, h; for example \"1m30s\")", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q must not be negative", s)
	}
	return Duration(d), nil
}

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d the way time.Duration does ("1m30s").
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d in the form ParseDuration reads.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads d with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Size is a number of bytes: "512", "8KiB", "1MiB", "1GiB" (powers of 1024) or
// "10KB", "10MB", "1GB" (powers of 1000, as the SI and IEC 80000-13 define them).
type Size int64

var sizeUnits = []struct {
	name string
	mult int64
}{
	// Binary units first so String prefers them when both divide exactly.
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3},
	{"B", 1},
}

const sizeUnitList = "B, KB, MB, GB, TB, KiB, MiB, GiB, TiB"

// ParseSize reads a non-negative whole number of bytes with an optional unit.
// Unit names are case-sensitive: "kb" and "Kb" are rejected rather than
// guessed at, since "b" conventionally means bits.
func ParseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty size (for example \"8KiB\")")
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		if s[0] == '-' {
			return 0, fmt.Errorf("size %q must not be negative", s)
		}
		return 0, fmt.Errorf("invalid size %q (use a whole number and an optional unit: %s)", s, sizeUnitList)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	unit := strings.TrimSpace(s[i:])
	if unit == "" {
		return Size(n), nil
	}
	if unit[0] == '.' {
		return 0, fmt.Errorf("size %q must be a whole number (write \"1536KiB\", not \"1.5MiB\")", s)
	}
	for _, u := range sizeUnits {
		if u.name == unit {
			if n > math.MaxInt64/u.mult {
				return 0, fmt.Errorf("size %q is too large", s)
			}
			return Size(n * u.mult), nil
		}
	}
	return 0, fmt.Errorf("unknown size unit %q in %q (use %s)", unit, s, sizeUnitList)
}

// String formats s with the largest unit that divides it exactly, binary
// units preferred: 8192 is "8KiB", 10000000 is "10MB", 1000 is "1KB", 513 is "513B".
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if int64(s)%u.mult == 0 {
			return strconv.FormatInt(int64(s)/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10) + "B"
}

// MarshalText writes s in the form ParseSize reads.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads s with ParseSize.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Rate is Count events per Per: "100/s", "1000/min", "10/h", "50000/day", or
// with an explicit window, "100/10s". Limiters turn it into an emission
// interval (Interval) for GCRA.
type Rate struct {
	Count int64
	Per   time.Duration
}

var rateUnits = []struct {
	names []string
	per   time.Duration
}{
	{[]string{"s", "sec", "second"}, time.Second},
	{[]string{"min", "minute"}, time.Minute},
	{[]string{"h", "hour"}, time.Hour},
	{[]string{"day", "d"}, 24 * time.Hour},
}

// ParseRate reads "COUNT/UNIT" or "COUNT/DURATION" with a positive count.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(s)
	count, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rate{}, fmt.Errorf("invalid rate %q (write COUNT/UNIT, for example \"100/s\", \"1000/min\", \"10/h\", \"50000/day\")", s)
	}
	count, per = strings.TrimSpace(count), strings.TrimSpace(per)
	n, err := strconv.ParseInt(count, 10, 64)
	if err != nil || !isDigits(count) {
		return Rate{}, fmt.Errorf("invalid count %q in rate %q (a whole number, for example \"100/s\")", count, s)
	}
	if n == 0 {
		return Rate{}, fmt.Errorf("rate %q must allow at least one event", s)
	}
	for _, u := range rateUnits {
		for _, name := range u.names {
			if per == name {
				return Rate{Count: n, Per: u.per}, nil
			}
		}
	}
	if per == "m" {
		return Rate{}, fmt.Errorf("ambiguous rate unit \"m\" in %q (write \"min\" for minutes)", s)
	}
	d, err := ParseDuration(per)
	if err != nil || d == 0 {
		return Rate{}, fmt.Errorf("unknown rate unit %q in %q (use s, min, h, day, or a duration such as \"10s\")", per, s)
	}
	return Rate{Count: n, Per: time.Duration(d)}, nil
}

// Interval is the time one event "costs": Per/Count, at least 1ns.
func (r Rate) Interval() time.Duration {
	if r.Count <= 0 {
		return 0
	}
	iv := r.Per / time.Duration(r.Count)
	if iv < 1 && r.Per > 0 {
		iv = 1
	}
	return iv
}

// PerSecond is the rate as events per second.
func (r Rate) PerSecond() float64 {
	if r.Per <= 0 {
		return 0
	}
	return float64(r.Count) / r.Per.Seconds()
}

// String formats r in the form ParseRate reads: "100/s", "1000/min", "100/10s".
func (r Rate) String() string {
	c := strconv.FormatInt(r.Count, 10)
	for _, u := range rateUnits {
		if r.Per == u.per {
			return c + "/" + u.names[0]
		}
	}
	return c + "/" + r.Per.String()
}

// MarshalText writes r in the form ParseRate reads.
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads r with ParseRate.
func (r *Rate) UnmarshalText(b []byte) error {
	v, err := ParseRate(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
