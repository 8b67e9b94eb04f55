package filters

import (
	"strings"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/errdefs"
)

func TestParseShapes(t *testing.T) {
	for _, raw := range []string{`{"label":{"a=b":true,"c":true}}`, `{"label":["a=b","c"]}`} {
		f, err := Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := strings.Join(f["label"], ","); got != "a=b,c" {
			t.Errorf("%s: label = %q", raw, got)
		}
	}
	f, err := Parse(`{"until":{}}`)
	if err != nil {
		t.Fatal(err)
	}
	if err := Validate(f, "label"); err == nil || !strings.Contains(err.Error(), "'until'") {
		t.Errorf("an empty value set must still be validated, got %v", err)
	}
	for _, bad := range []string{`{`, `[]`, `{"a":1}`, `"x"`, strings.Repeat("x", MaxLen+1)} {
		if _, err := Parse(bad); !errdefs.IsInvalid(err) {
			t.Errorf("Parse(%.20q) = %v, want an invalid-argument error", bad, err)
		}
	}
}

func TestValidateNamesKey(t *testing.T) {
	err := Validate(Args{"label": {"a"}, "bogus": {"x"}}, "label", "until")
	if err == nil || err.Error() != "invalid filter 'bogus'" || !errdefs.IsInvalid(err) {
		t.Fatalf("got %v", err)
	}
	if err := Validate(Args{"label": {"a"}, "until": {"1h"}}, "label", "until"); err != nil {
		t.Fatal(err)
	}
}

func TestBool(t *testing.T) {
	if b, err := Bool(Args{"dangling": {"true"}}, "dangling"); err != nil || b == nil || !*b {
		t.Errorf("true: %v %v", b, err)
	}
	if b, err := Bool(Args{"dangling": {"0"}}, "dangling"); err != nil || b == nil || *b {
		t.Errorf("0: %v %v", b, err)
	}
	if b, err := Bool(Args{"dangling": {"true", "false"}}, "dangling"); err == nil {
		t.Errorf("both: %v, want an error", b)
	}
	if b, err := Bool(Args{"dangling": {}}, "dangling"); err == nil {
		t.Errorf("no value: %v, want an error", b)
	}
	if b, err := Bool(Args{}, "dangling"); err != nil || b != nil {
		t.Errorf("absent: %v %v", b, err)
	}
	if _, err := Bool(Args{"dangling": {"maybe"}}, "dangling"); err == nil || !strings.Contains(err.Error(), "dangling=maybe") {
		t.Errorf("maybe: %v", err)
	}
}

func TestLabels(t *testing.T) {
	l := map[string]string{"a": "1", "b": ""}
	cases := []struct {
		f    Args
		want bool
	}{
		{Args{}, true},
		{Args{"label": {"a"}}, true},
		{Args{"label": {"a=1"}}, true},
		{Args{"label": {"a=2"}}, false},
		{Args{"label": {"a", "c"}}, false},
		{Args{"label": {"b="}}, true},
		{Args{"label!": {"a"}}, false},
		{Args{"label!": {"a=2"}}, true},
		{Args{"label!": {"c"}}, true},
		{Args{"label": {"a"}, "label!": {"b"}}, false},
	}
	for _, c := range cases {
		if got := Labels(c.f, l); got != c.want {
			t.Errorf("Labels(%v) = %v, want %v", c.f, got, c.want)
		}
	}
}

func TestTimestamp(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	local := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.Local)
	}
	cases := []struct {
		in   string
		want time.Time
	}{
		{"24h", now.Add(-24 * time.Hour)},
		{"1h30m", now.Add(-90 * time.Minute)},
		{"0s", now},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.5", time.Unix(1700000000, 500000000)},
		{"1700000000.000000001", time.Unix(1700000000, 1)},
		{"2020-01-01", local(2020, 1, 1, 0, 0, 0, 0)},
		{"2020-01-01T00:00:00", local(2020, 1, 1, 0, 0, 0, 0)},
		{"2020-01-01T10:11", local(2020, 1, 1, 10, 11, 0, 0)},
		{"2020-01-01T10", local(2020, 1, 1, 10, 0, 0, 0)},
		{"2020-01-01T00:00:00.25", local(2020, 1, 1, 0, 0, 0, 250000000)},
		{"2020-01-01T00:00:00Z", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2020-01-01T00:00:00.123456789Z", time.Date(2020, 1, 1, 0, 0, 0, 123456789, time.UTC)},
		{"2020-01-01T02:00:00+02:00", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2020-01-01T02:00+02:00", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"2020-01-01T00:00:00-01:00", time.Date(2020, 1, 1, 1, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := Timestamp(c.in, now)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !got.Equal(c.want) {
			t.Errorf("%s: got %v, want %v", c.in, got, c.want)
		}
	}
	for _, bad := range []string{"", "yesterday", "24", "2020-13-01", "2020-01-01T25:00:00", "1.2.3", "1.", ".5", "+5", "1e9", "2020/01/01", "12abc", "1700000000.1234567891"} {
		if bad == "24" {
			continue // plain seconds: valid
		}
		if _, err := Timestamp(bad, now); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestUntil(t *testing.T) {
	now := time.Now()
	got, err := Until(Args{"until": {"1h", "2h"}}, "until", now)
	if err != nil || !got.Equal(now.Add(-2*time.Hour)) {
		t.Errorf("got %v %v", got, err)
	}
	_, err = Until(Args{"until": {"soon"}}, "until", now)
	if err == nil || !strings.Contains(err.Error(), "until=soon") || !errdefs.IsInvalid(err) {
		t.Errorf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"label":{"a":true}}`, `{"label":["a"]}`, `{}`, `{"a":{"b":false}}`, `{"until":null}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		args, err := Parse(raw)
		if err != nil {
			if !errdefs.IsInvalid(err) {
				t.Fatalf("error not invalid-argument: %v", err)
			}
			return
		}
		if err := Validate(args); len(args) > 0 && err == nil {
			t.Fatalf("Validate with no accepted key passed %v", args)
		}
		Labels(args, map[string]string{"a": "b"})
		Bool(args, "a")
	})
}

func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"24h", "1700000000.5", "2020-01-01", "2020-01-01T00:00:00", "2020-01-01T00:00:00Z", "2020-01-01T00:00+02:00", "-1"} {
		f.Add(s)
	}
	now := time.Unix(1800000000, 0)
	f.Fuzz(func(t *testing.T, v string) {
		ts, err := Timestamp(v, now)
		if err == nil && ts.IsZero() && v != "0001-01-01" {
			// Only an explicit year-1 date may give the zero time.
			if !strings.HasPrefix(v, "0001-01-01") {
				t.Fatalf("%q parsed to the zero time", v)
			}
		}
	})
}
