package timestamp

import (
	"strings"
	"testing"
	"time"
)

// ref is 2026-12-06 12:00 in a zone of its own (+01:00), so that local
// values visibly take ref's zone, not UTC's or the machine's.
var ref = time.Date(2026, 12, 6, 12, 0, 0, 0, time.FixedZone("CET", 3600))

func TestAPI(t *testing.T) {
	for in, want := range map[string]string{
		"24h":                         "1796468400",
		"1h30m":                       "1796549400",
		"-1h":                         "1796558400",
		"1765000000":                  "1765000000",
		"1765000000.5":                "1765000000.5",
		"0":                           "0",
		"-5":                          "",
		"2026-12-06":                  "1796511600.000000000",
		"2026-12-06T10":               "1796547600.000000000",
		"2026-12-06T10:30":            "1796549400.000000000",
		"2026-12-06T10:30:15":         "1796549415.000000000",
		"2026-12-06T10:30:15.25":      "1796549415.250000000",
		"2026-12-06T10:30:15Z":        "1796553015.000000000",
		"2026-12-06T10:30:15+01:00":   "1796549415.000000000",
		"2026-12-06T10:30+01:00":      "1796549400.000000000",
		"2026-12-06T10+01:00":         "1796547600.000000000",
		"2026-12-06T10:30:15.5-02:00": "1796560215.500000000",
		"2026-12-06Z":                 "1796515200.000000000",
		"1969-12-31T23:59:59.5Z":      "-1.500000000",
	} {
		got, err := API(in, ref)
		if want == "" {
			if err == nil {
				t.Errorf("API(%q) = %q, want an error", in, got)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("API(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParse(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for in, want := range map[string]time.Time{
		"24h":                            ref.Add(-24 * time.Hour),
		"0s":                             ref,
		"1700000000":                     time.Unix(1700000000, 0),
		"1700000000.5":                   time.Unix(1700000000, 500000000),
		"1700000000.000000001":           time.Unix(1700000000, 1),
		"2020-01-01":                     utc("2019-12-31T23:00:00Z"),
		"2020-01-01T00:00:00.25":         utc("2019-12-31T23:00:00.25Z"),
		"2020-01-01T00:00:00.123456789Z": utc("2020-01-01T00:00:00.123456789Z"),
		"2020-01-01T02:00+02:00":         utc("2020-01-01T00:00:00Z"),
		"2020-01-01T00:00:00-01:00":      utc("2020-01-01T01:00:00Z"),
		"1969-12-31T23:59:59.5Z":         utc("1969-12-31T23:59:59.5Z"),
	} {
		got, err := Parse(in, ref)
		if err != nil || !got.Equal(want) {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "yesterday", "2020-13-01", "2020-01-01T25:00:00", "1.2.3", "1.", ".5", "+5", "1e9",
		"2020/01/01", "12abc", "1.x", "-5", "-1.5", "1700000000.1234567891", "99999999999999999999"} {
		if got, err := Parse(bad, ref); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", bad, got)
		}
	}
	// The words users see: docker's.
	if _, err := Parse("soon", ref); err == nil || err.Error() != `failed to parse value as time or duration: "soon"` {
		t.Errorf("Parse(soon): %v", err)
	}
	if _, err := Parse("2020-13-01", ref); err == nil || !strings.Contains(err.Error(), "month out of range") {
		t.Errorf("Parse(2020-13-01): %v", err)
	}
}

// FromAPI takes what the docker CLI sends (API's output) and refuses what
// Docker's daemon refuses: dates, durations, anything but digits.
func TestFromAPI(t *testing.T) {
	for in, want := range map[string]time.Time{
		"":                     {},
		"0":                    time.Unix(0, 0),
		"1765000000":           time.Unix(1765000000, 0),
		"1765000000.5":         time.Unix(1765000000, 500000000),
		"1765000000.000000001": time.Unix(1765000000, 1),
		"1796549415.250000000": time.Unix(1796549415, 250000000),
		"-5.5":                 time.Unix(-5, 500000000),
	} {
		if got, err := FromAPI(in); err != nil || !got.Equal(want) || got.IsZero() != want.IsZero() {
			t.Errorf("FromAPI(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2026-12-06", "2026-12-06T10:30:15Z", "10m", "abc", "1.", ".5", "1.2.3",
		"1765000000.1234567890", "1e9", " 1", "1 ", "0x10", "1.-5", "99999999999999999999"} {
		if got, err := FromAPI(in); err == nil || !strings.Contains(err.Error(), "Unix seconds") {
			t.Errorf("FromAPI(%q) = %v, %v; want an error naming Unix seconds", in, got, err)
		}
	}
}

// FuzzTimestamp: whatever API accepts, it turns into Unix seconds the
// daemon reads back (FromAPI) as the time Parse gives; Parse accepts exactly
// what API accepts.
func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"24h", "1700000000.5", "2020-01-01", "2020-01-01T00:00:00", "2020-01-01T00:00:00Z",
		"2020-01-01T00:00+02:00", "-1", "0", "1969-12-31T23:59:59.5Z", "600000h", "1.-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		s, err := API(v, ref)
		p, perr := Parse(v, ref)
		if v != "" && (err == nil) != (perr == nil) {
			t.Fatalf("%q: API error %v, Parse error %v", v, err, perr)
		}
		if err != nil || v == "" {
			return
		}
		u, err := FromAPI(s)
		if err != nil {
			t.Fatalf("%q: API gave %q, which the daemon cannot read: %v", v, s, err)
		}
		if !u.Equal(p) {
			t.Fatalf("%q: API gave %q (%v), Parse %v", v, s, u, p)
		}
	})
}
