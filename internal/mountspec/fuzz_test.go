package mountspec

import (
	"strings"
	"testing"

	"github.com/moby/moby/api/types/mount"
)

// FuzzParseMount feeds arbitrary --mount values to ParseMount: it never
// panics, and what it accepts has a target and only the options of its
// own type.
func FuzzParseMount(f *testing.F) {
	for _, s := range []string{
		"type=bind,src=/a,dst=/b,readonly,bind-propagation=rshared,bind-nonrecursive,bind-create-mountpoint=true",
		"source=v,target=/d,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,ro=false",
		"type=volume,dst=/v,volume-label=a=b,volume-driver=local,volume-subpath=x,volume-nocopy=0",
		"type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770,consistency=cached",
		`"dst=/a,b",src=./x`, "dst=/b,bogus", "type=bind,dst=/b,volume-foo=1", "", ",",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value string) {
		m, err := ParseMount(value)
		if err != nil {
			return
		}
		if m.Target == "" {
			t.Fatalf("%q: accepted without a target", value)
		}
		if (m.BindOptions != nil && m.Type != mount.TypeBind) || (m.VolumeOptions != nil && m.Type != mount.TypeVolume) ||
			(m.TmpfsOptions != nil && m.Type != mount.TypeTmpfs) {
			t.Fatalf("%q: options of another type accepted: %+v", value, m)
		}
		if m.Type != mount.Type(strings.ToLower(string(m.Type))) {
			t.Fatalf("%q: type not lower-cased: %q", value, m.Type)
		}
	})
}
