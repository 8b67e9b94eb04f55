package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// cgroup2Mount is the host's cgroup2 mount (the unified one of a hybrid
// host); the test is skipped without one.
func cgroup2Mount(t *testing.T) *mountinfo.Info {
	t.Helper()
	for _, mp := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (bool, bool) { return m.Mountpoint != mp, false })
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) > 0 && ms[len(ms)-1].FSType == "cgroup2" {
			return ms[len(ms)-1]
		}
	}
	t.Skip("no cgroup2 mount on this host")
	return nil
}

// optSet is a mount's option list without favordynmods, sorted.
func optSet(opts string) []string {
	out := slices.DeleteFunc(strings.Split(opts, ","), func(o string) bool { return o == "favordynmods" })
	slices.Sort(out)
	return out
}

// berthd sets favordynmods on the cgroup2 mount at start, so moving a
// container's processes into its cgroups does not wait for an RCU grace
// period, and leaves the mount's other options as they were. The test
// first takes the option off (other options kept) if an earlier berthd
// set it.
func TestFavorDynmodsSetAtStart(t *testing.T) {
	requireEnv(t)
	before := cgroup2Mount(t)
	if slices.Contains(strings.Split(before.VFSOptions, ","), "favordynmods") {
		flags := uintptr(unix.MS_REMOUNT)
		for o, f := range map[string]uintptr{"nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC, "relatime": unix.MS_RELATIME, "noatime": unix.MS_NOATIME} {
			if slices.Contains(strings.Split(before.Options, ","), o) {
				flags |= f
			}
		}
		data := strings.Join(slices.DeleteFunc(optSet(before.VFSOptions), func(o string) bool { return o == "rw" }), ",")
		if err := unix.Mount("", before.Mountpoint, "", flags, data); err != nil {
			t.Fatalf("taking favordynmods off %s: %v", before.Mountpoint, err)
		}
		before = cgroup2Mount(t)
	}
	d := startDaemon(t)
	after := cgroup2Mount(t)
	if !slices.Contains(strings.Split(after.VFSOptions, ","), "favordynmods") {
		if strings.Contains(d.LogTail(200), "waits for an RCU grace period") {
			t.Skipf("this kernel has no favordynmods: %s", after.VFSOptions)
		}
		t.Fatalf("%s super options after berthd started: %q, want favordynmods among them", after.Mountpoint, after.VFSOptions)
	}
	if !slices.Equal(optSet(after.VFSOptions), optSet(before.VFSOptions)) || after.Options != before.Options {
		t.Errorf("%s options changed beyond favordynmods: %q %q, were %q %q", after.Mountpoint, after.Options, after.VFSOptions, before.Options, before.VFSOptions)
	}
}
