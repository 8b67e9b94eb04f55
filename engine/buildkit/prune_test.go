package buildkit

import (
	"testing"

	"github.com/containerd/containerd/v2/pkg/filters"
)

func TestPruneFilter(t *testing.T) {
	for _, tc := range []struct {
		in      map[string][]string
		want    string
		wantErr bool
	}{
		{in: nil, want: ""},
		{in: map[string][]string{"id": {"abc"}}, want: `id=="abc"`},
		{in: map[string][]string{"description": {"a.b, c"}}, want: `description~="a\\.b, c"`},
		{in: map[string][]string{"inuse": {"true"}}, want: "inuse"},
		{in: map[string][]string{"inuse": {"false"}}, wantErr: true},
		{in: map[string][]string{"id": {"a", "b"}}, wantErr: true},
		{in: map[string][]string{"until": {"1h"}}, wantErr: true},
	} {
		got, err := pruneFilter(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("pruneFilter(%v) = %q, %v; want %q, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got != "" {
			if _, err := filters.Parse(got); err != nil {
				t.Errorf("pruneFilter(%v) = %q: BuildKit cannot parse it: %v", tc.in, got, err)
			}
		}
	}
}

func FuzzPruneFilter(f *testing.F) {
	f.Add("description", "x,y==\"z\"")
	f.Add("id", "")
	f.Fuzz(func(t *testing.T, k, v string) {
		got, err := pruneFilter(map[string][]string{k: {v}})
		if err != nil || got == "" {
			return
		}
		if _, err := filters.Parse(got); err != nil {
			t.Fatalf("pruneFilter(%q=%q) = %q, unparseable: %v", k, v, got, err)
		}
	})
}

func TestCheckCacheFilters(t *testing.T) {
	for _, ok := range [][]string{nil, {`type=="exec.cachemount"`}, {"inuse", `description~="a,b=c"`, `id=="x",private`}, {"parents~=\"color\""}} {
		if err := checkCacheFilters(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range [][]string{{"color==red"}, {`type=="x",until=="1h"`}, {`description=="a",="b"`}} {
		if err := checkCacheFilters(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzCheckCacheFilters(f *testing.F) {
	f.Add(`type=="a,b",inuse`)
	f.Fuzz(func(t *testing.T, s string) {
		_ = checkCacheFilters([]string{s})
	})
}
