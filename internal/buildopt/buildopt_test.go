package buildopt

import "testing"

func TestCache(t *testing.T) {
	typ, a, err := Cache(`type=registry,"ref=r:5000/c:1",mode=max`)
	if err != nil || typ != "registry" || a["ref"] != "r:5000/c:1" || a["mode"] != "max" || len(a) != 2 {
		t.Fatalf("got %q %v %v", typ, a, err)
	}
	if typ, a, err := Cache("img:tag"); err != nil || typ != "registry" || a["ref"] != "img:tag" {
		t.Fatalf("bare name: %q %v %v", typ, a, err)
	}
	for _, bad := range []string{"ref=x", "type=local,dest", `type="x`} {
		if _, _, err := Cache(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzKV(f *testing.F) {
	f.Add(`type=local,dest="a,b"`)
	f.Add("id=x,src=/y")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := KV(s)
		if err == nil && m == nil {
			t.Fatal("nil map without error")
		}
	})
}

func TestAnyLocalCache(t *testing.T) {
	for _, c := range []struct {
		from, to []string
		want     bool
		bad      bool
	}{
		{nil, nil, false, false},
		{[]string{"repo/cache"}, []string{"type=inline"}, false, false},
		{[]string{"repo/cache"}, []string{"type=local,dest=/tmp/c"}, true, false},
		{[]string{"type=local,src=/tmp/c"}, nil, true, false},
		{[]string{"type=local,src=/tmp/c,broken"}, nil, false, true},
	} {
		got, err := AnyLocalCache(c.from, c.to)
		if got != c.want || (err != nil) != c.bad {
			t.Errorf("AnyLocalCache(%q, %q) = %v, %v", c.from, c.to, got, err)
		}
	}
}
