package opts

import "testing"

// FuzzParsePortSpecs: any -p value either fails or yields bindings whose
// ports are all exposed, with host ports that are numbers or a range given
// for a whole container range.
func FuzzParsePortSpecs(f *testing.F) {
	for _, s := range []string{"80", "8080:80", "127.0.0.1:8080:80/udp", "[::1]:80:80", "1000-1002:2000-2002", "9000:80-82", "[::1", "a:b:c:d", "80/bogus", ":80", "-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		exposed, bindings, err := ParsePortSpecs([]string{spec})
		if err != nil {
			return
		}
		for p, bs := range bindings {
			if _, ok := exposed[p]; !ok {
				t.Fatalf("%q: binding for %v which is not exposed", spec, p)
			}
			if len(bs) == 0 {
				t.Fatalf("%q: empty bindings for %v", spec, p)
			}
		}
	})
}
