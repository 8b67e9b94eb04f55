package containers

import (
	"path"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

func TestCleanWorkingDir(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "/", "/a/../b/": "/b", "/../../tmp": "/tmp"} {
		if got, err := cleanWorkingDir(in); err != nil || got != want {
			t.Errorf("cleanWorkingDir(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"tmp", "../../../tmp", "./x", "/a\x00b"} {
		_, err := cleanWorkingDir(in)
		if err == nil || !strings.Contains(err.Error(), "it needs to be an absolute path") {
			t.Errorf("cleanWorkingDir(%q): %v, want Docker's absolute-path error", in, err)
		}
	}
}

func TestCleanDevices(t *testing.T) {
	got, err := cleanDevices([]container.DeviceMapping{
		{PathOnHost: "/dev/null"},
		{PathOnHost: "/dev/zero", PathInContainer: "/dev/../../dev/z", CgroupPermissions: "rw"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].PathInContainer != "/dev/null" || got[0].CgroupPermissions != "rwm" || got[1].PathInContainer != "/dev/z" || got[1].CgroupPermissions != "rw" {
		t.Errorf("cleanDevices = %+v", got)
	}
	for _, tc := range []struct {
		d    container.DeviceMapping
		want string
	}{
		{container.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "../../../../tmp/x"}, "../../../../tmp/x is not an absolute path"},
		{container.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "dev/x"}, "dev/x is not an absolute path"},
		{container.DeviceMapping{PathOnHost: "dev/null"}, "dev/null is not an absolute path"},
		{container.DeviceMapping{PathOnHost: "/dev/null", PathInContainer: "/.."}, "cannot be '/'"},
		{container.DeviceMapping{PathOnHost: ""}, "empty"},
		{container.DeviceMapping{PathOnHost: "/dev/null", CgroupPermissions: "rwx"}, "invalid device mode: rwx"},
		{container.DeviceMapping{PathOnHost: "/dev/null", CgroupPermissions: "rr"}, "invalid device mode: rr"},
	} {
		_, err := cleanDevices([]container.DeviceMapping{tc.d})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cleanDevices(%+v): %v, want %q", tc.d, err, tc.want)
		}
	}
}

func TestCheckCgroupParent(t *testing.T) {
	for _, ok := range []string{"", "/my/parent", "rel", "/" + strings.Repeat("a", 255)} {
		if err := checkCgroupParent(ok); err != nil {
			t.Errorf("checkCgroupParent(%.30q): %v", ok, err)
		}
	}
	if err := checkCgroupParent("/x/" + strings.Repeat("a", 256)); err == nil {
		t.Errorf("a 256-byte component accepted")
	}
}

// Whatever is accepted reaches the spec absolute and clean.
func FuzzSpecPaths(f *testing.F) {
	for _, s := range []string{"/dev/null", "../../tmp/x", "/a/../../b", "", "rwm", "/dev/../", "x\x00"} {
		f.Add(s, s, "rwm")
	}
	f.Fuzz(func(t *testing.T, host, ctr, perms string) {
		if wd, err := cleanWorkingDir(ctr); err == nil && ctr != "" && (!path.IsAbs(wd) || path.Clean(wd) != wd) {
			t.Fatalf("cleanWorkingDir(%q) = %q", ctr, wd)
		}
		devs, err := cleanDevices([]container.DeviceMapping{{PathOnHost: host, PathInContainer: ctr, CgroupPermissions: perms}})
		if err != nil {
			return
		}
		for _, p := range []string{devs[0].PathOnHost, devs[0].PathInContainer} {
			if !path.IsAbs(p) || path.Clean(p) != p || strings.ContainsRune(p, 0) {
				t.Fatalf("cleanDevices(%q, %q) gave %q", host, ctr, p)
			}
		}
		if devs[0].PathInContainer == "/" || !validDeviceMode(devs[0].CgroupPermissions) {
			t.Fatalf("cleanDevices accepted %+v", devs[0])
		}
	})
}
