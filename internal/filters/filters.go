// Package filters decodes and checks the "filters" query parameter of
// Docker's list and prune endpoints; their until/since filters take the
// timestamps of internal/timestamp.
//
// Every endpoint validates its filters with one call to Validate and the set
// of keys it applies; a key outside that set is a 400 naming it, so a filter
// can never be accepted and ignored (an ignored filter turns
// `rm -f $(ps -aq --filter …)` into "remove everything").
package filters

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
	"github.com/berth-dev/berth/internal/timestamp"
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

// Until reads a timestamp filter (until, since as a time; the forms of
// internal/timestamp): the earliest of several values, zero when absent.
// An unparseable value is a 400 naming it.
func Until(f Args, key string, now time.Time) (time.Time, error) {
	var out time.Time
	for _, v := range f[key] {
		t, err := timestamp.Parse(v, now)
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
