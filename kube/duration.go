package kube

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// hoconUnits are the duration units of OpenWhisk's configuration (HOCON,
// as Typesafe Config reads it); "m" is minutes.
var hoconUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "nano": time.Nanosecond, "nanos": time.Nanosecond, "nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
	"us": time.Microsecond, "micro": time.Microsecond, "micros": time.Microsecond, "microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseHOCONDuration reads a duration the way the invoker reads its
// configuration: "5m", "300 seconds", "1 minute"; a bare number is
// milliseconds.
func parseHOCONDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" || n < 0 {
		return 0, fmt.Errorf("%q is not a duration OpenWhisk reads (e.g. 5m, 300 seconds)", s)
	}
	scale := time.Millisecond
	if unit != "" {
		var ok bool
		if scale, ok = hoconUnits[unit]; !ok {
			return 0, fmt.Errorf("%q has an unknown unit %q (use ms, s, m, h, or their long forms)", s, unit)
		}
	}
	d := n * float64(scale)
	if d > float64(1<<62) {
		return 0, fmt.Errorf("%q is too long", s)
	}
	return time.Duration(d), nil
}
