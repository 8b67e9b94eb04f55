package client

import (
	"net/url"
	"strings"
	"testing"
)

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
