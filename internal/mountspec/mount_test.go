package mountspec

import (
	"testing"

	"github.com/moby/moby/api/types/mount"
)

func TestParseMount(t *testing.T) {
	m, err := ParseMount("type=bind,src=/a,dst=/b,readonly,bind-propagation=rshared")
	if err != nil || m.Type != mount.TypeBind || m.Source != "/a" || m.Target != "/b" || !m.ReadOnly || m.BindOptions.Propagation != "rshared" {
		t.Fatalf("bind: %+v %v", m, err)
	}
	m, err = ParseMount("source=v,target=/d,volume-nocopy,volume-opt=type=tmpfs,volume-opt=device=tmpfs,ro=false")
	if err != nil || m.Type != mount.TypeVolume || !m.VolumeOptions.NoCopy || m.VolumeOptions.DriverConfig.Options["type"] != "tmpfs" || m.ReadOnly {
		t.Fatalf("volume: %+v %v", m, err)
	}
	m, err = ParseMount("type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770")
	if err != nil || m.TmpfsOptions.SizeBytes != 64<<20 || m.TmpfsOptions.Mode != 0o1770 {
		t.Fatalf("tmpfs: %+v %v", m, err)
	}
	for in, want := range map[string]string{
		"type=bind,src=/a":                          "target is required",
		"type=bind,dst=/b,volume-nocopy":            "cannot mix 'volume-*' options with mount type 'bind'",
		"type=volume,dst=/b,tmpfs-size=1m":          "cannot mix 'tmpfs-*' options with mount type 'volume'",
		"type=tmpfs,dst=/b,bind-propagation=shared": "cannot mix 'bind-*' options with mount type 'tmpfs'",
		"dst=/b,bogus":                              "invalid field 'bogus' must be a key=value pair",
		"dst=/b,foo=bar":                            "unexpected key 'foo' in 'foo=bar'",
		"dst=/b,readonly=maybe":                     "invalid value for readonly: maybe",
		"type=tmpfs,dst=/b,tmpfs-size=huge":         "invalid value for tmpfs-size: huge",
		"type=tmpfs,dst=/b,tmpfs-mode=999":          "invalid value for tmpfs-mode: 999",
	} {
		if _, err := ParseMount(in); err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}
