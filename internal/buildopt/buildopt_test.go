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
