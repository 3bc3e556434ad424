package limits

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseRate parses the rate notation used in configuration: a count, a
// slash, and a period, such as "100/s", "1000/min", "50000/day", "10/100ms"
// or "3/2h". A period is an optional positive integer followed by a unit:
// ns, us, ms, s (sec, second), m (min, minute), h (hour), d (day). Units may
// be plural ("5/2days"); spaces around the parts are allowed. The count must
// be a positive integer. The result still needs Policy.Validate (which, for
// example, rejects rates finer than one unit per nanosecond).
func ParseRate(s string) (rate int64, per time.Duration, err error) {
	count, period, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%w: %q has no '/'", ErrRateSyntax, s)
	}
	count, period = strings.TrimSpace(count), strings.TrimSpace(period)
	rate, err = strconv.ParseInt(count, 10, 64)
	if err != nil || rate <= 0 || count[0] == '+' {
		return 0, 0, fmt.Errorf("%w: count %q is not a positive integer", ErrRateSyntax, count)
	}
	i := 0
	for i < len(period) && period[i] >= '0' && period[i] <= '9' {
		i++
	}
	mult := int64(1)
	if i > 0 {
		mult, err = strconv.ParseInt(period[:i], 10, 64)
		if err != nil || mult <= 0 {
			return 0, 0, fmt.Errorf("%w: period multiplier %q is not a positive integer", ErrRateSyntax, period[:i])
		}
	}
	unit, ok := rateUnits[strings.TrimSpace(period[i:])]
	if !ok {
		return 0, 0, fmt.Errorf("%w: unknown period unit %q (want ns, us, ms, s, min, h or day)", ErrRateSyntax, period[i:])
	}
	if mult > int64(1<<63-1)/int64(unit) {
		return 0, 0, fmt.Errorf("%w: period %q overflows", ErrRateSyntax, period)
	}
	return rate, time.Duration(mult) * unit, nil
}

var rateUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParsePolicy builds and validates a policy from the rate notation of
// ParseRate and a burst (0 means the rate).
func ParsePolicy(name, rate string, burst int64) (*Policy, error) {
	r, per, err := ParseRate(rate)
	if err != nil {
		return nil, err
	}
	p := &Policy{Name: name, Rate: r, Per: per, Burst: burst}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}
