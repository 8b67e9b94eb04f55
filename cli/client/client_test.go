package client

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestGetTimestamp(t *testing.T) {
	ref := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]string{
		"10m":                         "1796557800",
		"1h30m":                       "1796553000",
		"1765000000":                  "1765000000",
		"1765000000.5":                "1765000000.5",
		"0":                           "0",
		"2026-12-06":                  "1796515200.000000000",
		"2026-12-06T10":               "1796551200.000000000",
		"2026-12-06T10:30":            "1796553000.000000000",
		"2026-12-06T10:30:15":         "1796553015.000000000",
		"2026-12-06T10:30:15.25":      "1796553015.250000000",
		"2026-12-06T10:30:15Z":        "1796553015.000000000",
		"2026-12-06T10:30:15+01:00":   "1796549415.000000000",
		"2026-12-06T10:30:15.5-02:00": "1796560215.500000000",
		"2026-12-06Z":                 "1796515200.000000000",
	} {
		got, err := getTimestamp(in, ref)
		if err != nil || got != want {
			t.Errorf("getTimestamp(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"yesterday", "2026-13-01", "12ab", "1.x", "-5"} {
		if got, err := getTimestamp(in, ref); err == nil {
			t.Errorf("getTimestamp(%q) = %q, want an error", in, got)
		}
	}
}

func TestAPIVersion(t *testing.T) {
	for in, want := range map[string]string{"1.47": "1.47", " 1.4 ": "1.4", "1.056": "1.56"} {
		if got, err := parseAPIVersion(in); err != nil || got != want {
			t.Errorf("parseAPIVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "v1.47", "1", "1.x", "a.1", "1.-1"} {
		if got, err := parseAPIVersion(in); err == nil {
			t.Errorf("parseAPIVersion(%q) = %q, want an error", in, got)
		}
	}
	c := &Client{}
	if err := c.negotiate("1.47"); err != nil || c.ClientVersion() != "1.47" {
		t.Errorf("negotiate(1.47): %v, version %s", err, c.ClientVersion())
	}
	c = &Client{}
	if err := c.negotiate("1.60"); err != nil || c.ClientVersion() != MaxAPIVersion {
		t.Errorf("negotiate(1.60): %v, version %s, want %s", err, c.ClientVersion(), MaxAPIVersion)
	}
	if err := (&Client{}).negotiate("1.39"); err == nil || !strings.Contains(err.Error(), "minimum supported API version is 1.40") {
		t.Errorf("negotiate(1.39) = %v", err)
	}
	if !versionLess("1.9", "1.10") || versionLess("1.10", "1.9") || versionLess("1.47", "1.47") {
		t.Error("versionLess compares numerically")
	}
}

func TestFiltersQuery(t *testing.T) {
	q := filterQuery(Filters{}.Add("label", "a=b").Add("status", "running"))
	want := url.Values{"filters": {`{"label":{"a=b":true},"status":{"running":true}}`}}
	if q.Encode() != want.Encode() {
		t.Errorf("filters query %s, want %s", q.Encode(), want.Encode())
	}
	if q := filterQuery(nil); len(q) != 0 {
		t.Errorf("empty filters give %v", q)
	}
}
