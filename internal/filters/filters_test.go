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

func TestUntil(t *testing.T) {
	now := time.Now()
	got, err := Until(Args{"until": {"1h", "2h"}}, "until", now)
	if err != nil || !got.Equal(time.Unix(now.Add(-2*time.Hour).Unix(), 0)) { // durations count whole seconds, as docker's
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
