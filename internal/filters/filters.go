// Package filters decodes and checks the "filters" query parameter of
// Docker's list and prune endpoints, and parses the timestamps their
// until/since filters take.
//
// Every endpoint validates its filters with one call to Validate and the set
// of keys it applies; a key outside that set is a 400 naming it, so a filter
// can never be accepted and ignored (an ignored filter turns
// `rm -f $(ps -aq --filter …)` into "remove everything").
package filters

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
)

// Args maps a filter key to its values. Values of one key are alternatives
// unless the endpoint documents otherwise (label filters are all required).
type Args = map[string][]string

// MaxLen bounds the raw filters parameter: a list query has no reason to
// carry more, and decoding it costs memory in proportion.
const MaxLen = 64 << 10

// Parse decodes Docker's JSON filters parameter in both the current
// {"key":{"value":true}} and the old {"key":["value"]} shapes. An empty
// string is no filter at all.
func Parse(raw string) (Args, error) {
	out := Args{}
	if raw == "" {
		return out, nil
	}
	if len(raw) > MaxLen {
		return nil, errdefs.Invalid("invalid filter: the filters parameter is longer than the limit of %d bytes", MaxLen)
	}
	var current map[string]map[string]bool
	if err := json.Unmarshal([]byte(raw), &current); err == nil {
		for k, vals := range current {
			for v, on := range vals {
				if on {
					out[k] = append(out[k], v)
				}
			}
			if len(out[k]) > 1 {
				sort.Strings(out[k])
			}
			if len(out[k]) == 0 {
				// {"label":{}}, null or only false values: the key was
				// given and must still be checked against the accepted set.
				out[k] = []string{}
			}
		}
		return out, nil
	}
	var old map[string][]string
	if err := json.Unmarshal([]byte(raw), &old); err != nil {
		return nil, errdefs.Invalid("invalid filter: %s", err.Error())
	}
	for k, v := range old {
		if v == nil {
			v = []string{}
		}
		out[k] = v
	}
	return out, nil
}

// Validate refuses a key outside accepted, with Docker's wording.
func Validate(f Args, accepted ...string) error {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ok := false
		for _, a := range accepted {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			return errdefs.Invalid("invalid filter '%s'", k)
		}
	}
	return nil
}

// Bool reads a true/false filter (dangling, all, inuse ...): nil when the
// key is absent. As in Docker, a key given without a value, with a value
// that is not a boolean, or with both true and false is refused.
func Bool(f Args, key string) (*bool, error) {
	vals, ok := f[key]
	if !ok {
		return nil, nil
	}
	if len(vals) == 0 {
		return nil, errdefs.Invalid("invalid filter '%s': a value is required (true or false)", key)
	}
	var seen [2]bool
	for _, v := range vals {
		b, err := strconv.ParseBool(strings.ToLower(v))
		if err != nil {
			return nil, errdefs.Invalid("invalid filter '%s=%s': invalid value, want true or false", key, v)
		}
		if b {
			seen[1] = true
		} else {
			seen[0] = true
		}
	}
	if seen[0] && seen[1] {
		return nil, errdefs.Invalid("invalid filter '%s': both true and false given", key)
	}
	b := seen[1]
	return &b, nil
}

// Until reads a timestamp filter (until, since as a time): the earliest of
// several values, zero when absent. An unparseable value is a 400 naming it.
func Until(f Args, key string, now time.Time) (time.Time, error) {
	var out time.Time
	for _, v := range f[key] {
		t, err := Timestamp(v, now)
		if err != nil {
			return time.Time{}, errdefs.Invalid("invalid filter '%s=%s': %v", key, v, err)
		}
		if out.IsZero() || t.Before(out) {
			out = t
		}
	}
	return out, nil
}

// Labels reports whether labels pass the label and label! filters: every
// "label" value ("key" or "key=value") must match, and no "label!" value may.
func Labels(f Args, labels map[string]string) bool {
	for _, l := range f["label"] {
		if !labelMatches(labels, l) {
			return false
		}
	}
	for _, l := range f["label!"] {
		if labelMatches(labels, l) {
			return false
		}
	}
	return true
}

func labelMatches(labels map[string]string, filter string) bool {
	k, v, hasValue := strings.Cut(filter, "=")
	got, ok := labels[k]
	return ok && (!hasValue || got == v)
}

// Any reports whether match holds for one of the key's values, or the key is
// absent.
func Any(f Args, key string, match func(v string) bool) bool {
	vals := f[key]
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		if match(v) {
			return true
		}
	}
	return false
}

// Timestamp parses the time forms Docker accepts in until/since filters and
// query parameters:
//   - a Go duration, relative to now ("10m", "24h", "1h30m"): now minus it;
//   - Unix seconds, with an optional fraction ("1700000000.5");
//   - RFC 3339 with or without a zone and with or without seconds or
//     fractions ("2020-01-01T00:00:00", "2020-01-01T00:00:00Z",
//     "2020-01-01T10:00+02:00"); without a zone it is local time;
//   - a date alone ("2020-01-01"), local midnight.
func Timestamp(value string, now time.Time) (time.Time, error) {
	if value == "" {
		return time.Time{}, fmt.Errorf("empty timestamp")
	}
	if d, err := time.ParseDuration(value); err == nil {
		return now.Add(-d), nil
	}
	if strings.ContainsAny(value, "-T:") {
		return parseDate(value)
	}
	return parseUnix(value)
}

func parseDate(value string) (time.Time, error) {
	if len(value) > 64 {
		return time.Time{}, fmt.Errorf("invalid timestamp %q", value[:64]+"…")
	}
	// A zone is Z, +hh:mm or a third '-' after the date's two.
	hasZone := strings.ContainsAny(value, "zZ+") || strings.Count(value, "-") == 3
	var layout string
	switch {
	case strings.Contains(value, "T"):
		_, clock, _ := strings.Cut(value, "T")
		colons := strings.Count(clock, ":")
		if hasZone && !strings.ContainsAny(clock, "zZ") && colons > 0 {
			colons-- // the zone's own hh:mm
		}
		layout = "2006-01-02T15"
		if colons >= 1 {
			layout += ":04"
		}
		if colons >= 2 {
			layout += ":05"
		}
		if strings.Contains(value, ".") {
			layout += ".999999999"
		}
	default:
		layout = "2006-01-02"
	}
	if hasZone {
		layout += "Z07:00"
		t, err := time.Parse(layout, value)
		if err != nil {
			return time.Time{}, fmt.Errorf("invalid timestamp %q: want RFC 3339, a date, Unix seconds or a duration", value)
		}
		return t, nil
	}
	t, err := time.ParseInLocation(layout, value, time.Local)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid timestamp %q: want RFC 3339, a date, Unix seconds or a duration", value)
	}
	return t, nil
}

func parseUnix(value string) (time.Time, error) {
	bad := fmt.Errorf("invalid timestamp %q: want RFC 3339, a date, Unix seconds or a duration", value)
	if len(value) > 40 {
		return time.Time{}, fmt.Errorf("invalid timestamp: %d characters", len(value))
	}
	secStr, fracStr, hasFrac := strings.Cut(value, ".")
	if secStr == "" || strings.HasPrefix(secStr, "+") {
		return time.Time{}, bad
	}
	sec, err := strconv.ParseInt(secStr, 10, 64)
	if err != nil {
		return time.Time{}, bad
	}
	var nsec int64
	if hasFrac {
		if fracStr == "" || len(fracStr) > 9 {
			return time.Time{}, bad
		}
		for _, c := range fracStr {
			if c < '0' || c > '9' {
				return time.Time{}, bad
			}
		}
		nsec, _ = strconv.ParseInt(fracStr+strings.Repeat("0", 9-len(fracStr)), 10, 64)
		if strings.HasPrefix(secStr, "-") {
			nsec = -nsec
		}
	}
	// Beyond what time.Unix can represent as a wall clock, refuse.
	if sec > 1<<40 || sec < -(1<<40) {
		return time.Time{}, bad
	}
	return time.Unix(sec, nsec), nil
}
