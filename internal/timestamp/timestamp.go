// Package timestamp reads the time values of --since/--until and of the
// until/since filters, by the docker CLI's rules, in one place for the
// client (which sends Unix seconds) and berthd (which filters by them).
// It links nothing beyond the standard library: the CLI starts fast.
package timestamp

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// API turns a value into what the Engine API takes, as the docker CLI
// does:
//   - a Go duration ("10m", "1h30m"; not "0"): ref minus it, in whole
//     Unix seconds;
//   - an RFC 3339 date or time, with or without a zone, seconds or
//     fraction ("2020-01-01", "2020-01-01T10", "2020-01-01T10:11:12.5Z",
//     "2020-01-01T10:00+02:00"); without a zone it is in ref's zone:
//     "seconds.nanoseconds" (nine digits);
//   - Unix seconds with an optional fraction ("1700000000.5"): as given.
//
// Errors name the value (for a value with a '-', the time parser's words,
// as docker's).
func API(value string, ref time.Time) (string, error) {
	if d, err := time.ParseDuration(value); value != "0" && err == nil {
		return strconv.FormatInt(ref.Add(-d).Unix(), 10), nil
	}
	// A zone is Z, +hh:mm, or a third '-' after the date's two.
	local := !strings.ContainsAny(value, "zZ+") && strings.Count(value, "-") != 3
	var t time.Time
	var err error
	if local {
		t, err = time.ParseInLocation(layout(value, local), value, time.FixedZone(ref.Zone()))
	} else {
		t, err = time.Parse(layout(value, local), value)
	}
	if err != nil {
		if strings.Contains(value, "-") {
			return "", err
		}
		if _, err := unix(value); err != nil {
			return "", fmt.Errorf("failed to parse value as time or duration: %q", value)
		}
		return value, nil
	}
	return fmt.Sprintf("%d.%09d", t.Unix(), int64(t.Nanosecond())), nil
}

// Parse reads a value as API does and returns the time it names.
func Parse(value string, ref time.Time) (time.Time, error) {
	if value == "" {
		return time.Time{}, fmt.Errorf("empty timestamp")
	}
	s, err := API(value, ref)
	if err != nil {
		return time.Time{}, err
	}
	return unix(s)
}

// FromAPI reads a since or until value of an Engine API request (logs,
// events) as Docker's daemon does: only what API writes, Unix seconds with
// an optional fraction of at most nine digits; "" is no time (the zero
// Time). Durations and dates are the client's to turn into seconds.
func FromAPI(value string) (time.Time, error) {
	if value == "" {
		return time.Time{}, nil
	}
	return unix(value)
}

// layout is the time layout for a date or time value: the clock as far as
// the value goes (hours, minutes, seconds, a fraction), then the zone.
func layout(value string, local bool) string {
	switch {
	case strings.Contains(value, "."):
		if local {
			return "2006-01-02T15:04:05.999999999"
		}
		return time.RFC3339Nano
	case strings.Contains(value, "T"):
		colons := strings.Count(value, ":")
		if !local && !strings.ContainsAny(value, "zZ") && colons > 0 {
			colons-- // the zone's own hh:mm
		}
		layouts := []string{"2006-01-02T15Z07:00", "2006-01-02T15:04Z07:00", time.RFC3339}
		if local {
			layouts = []string{"2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05"}
		}
		return layouts[min(colons, 2)]
	case local:
		return "2006-01-02"
	}
	return "2006-01-02Z07:00"
}

// unix reads seconds[.fraction]: decimal digits (the seconds may carry a
// '-'), at most nine of fraction. As in the Engine API the fraction adds
// to the seconds, so "-5.5" is 4.5 s before the epoch: API writes a time
// before 1970 that way.
func unix(value string) (time.Time, error) {
	bad := fmt.Errorf("invalid timestamp %q: want Unix seconds[.nanoseconds]", value)
	s, frac, hasFrac := strings.Cut(value, ".")
	if !digits(strings.TrimPrefix(s, "-")) || (hasFrac && (!digits(frac) || len(frac) > 9)) {
		return time.Time{}, bad
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, bad
	}
	var nsec int64
	if hasFrac {
		nsec, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	return time.Unix(sec, nsec), nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
