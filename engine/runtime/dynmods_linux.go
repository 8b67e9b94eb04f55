package runtime

import (
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Every container's create moves its init into its cgroups (eleven v1
// hierarchies on a hybrid host, one on v2), and every exec its process.
// The kernel guards such moves with a lock whose writers, by default,
// wait for an RCU grace period each time the lock has been idle: the
// first move of a create waited 8 to 12 ms (median, 25 tries, load 16),
// wall time on the critical path of start and exec, for a few µs of work.
// The cgroup2 mount option "favordynmods" (Linux 6.0) keeps the lock
// ready for writers at the cost of a memory barrier in fork and exit: the
// same move took 0.26 ms. It is a property of the whole cgroup core, set
// through the cgroup2 mount (the unified one of a hybrid host); from
// Linux 6.18 on the kernel keeps it on until reboot once set.

// cgroup2Mounts are where the host's cgroup2 file system is mounted: the
// hybrid layout's, then the unified layout's.
var cgroup2Mounts = []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}

// FavorDynmods sets "favordynmods" on the host's cgroup2 mount, keeping
// the mount's other options, and returns the mount point it set it on: ""
// when it was set already or the host has no cgroup2 mount (a pure v1
// host: left as it is).
func FavorDynmods() (string, error) {
	for _, mp := range cgroup2Mounts {
		m, err := topMount(mp)
		if err != nil {
			return "", err
		}
		if m == nil || m.FSType != "cgroup2" {
			continue
		}
		if hasOpt(m.VFSOptions, "favordynmods") {
			return "", nil
		}
		flags, data := remountArgs(m.Options, m.VFSOptions, "favordynmods")
		if err := unix.Mount("", mp, "", flags, data); err != nil {
			return "", fmt.Errorf("remount %s with favordynmods (Linux 6.0 or later): %w", mp, err)
		}
		return mp, nil
	}
	return "", nil
}

// topMount is the mount at mp that is visible (the last one mounted
// there), nil if nothing is mounted there.
func topMount(mp string) (*mountinfo.Info, error) {
	ms, err := mountinfo.GetMounts(func(m *mountinfo.Info) (bool, bool) { return m.Mountpoint != mp, false })
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	return ms[len(ms)-1], nil
}

// mountFlags are the per-mount options a remount must pass again: a
// remount sets them all anew.
var mountFlags = map[string]uintptr{
	"ro": unix.MS_RDONLY, "nosuid": unix.MS_NOSUID, "nodev": unix.MS_NODEV, "noexec": unix.MS_NOEXEC,
	"noatime": unix.MS_NOATIME, "nodiratime": unix.MS_NODIRATIME, "relatime": unix.MS_RELATIME,
	"strictatime": unix.MS_STRICTATIME,
}

// remountArgs are mount(2)'s flags and data to remount a file system with
// its per-mount options (mountinfo's mount options) and its super block
// options (mountinfo's super options) as they are, plus add: the kernel
// takes cgroup2's options given at a remount as the whole new set, so one
// left out (nsdelegate, memory_recursiveprot ...) would be turned off.
func remountArgs(mountOpts, superOpts, add string) (uintptr, string) {
	flags := uintptr(unix.MS_REMOUNT)
	for _, o := range strings.Split(mountOpts, ",") {
		flags |= mountFlags[o]
	}
	var data []string
	for _, o := range strings.Split(superOpts, ",") {
		switch o {
		case "ro":
			flags |= unix.MS_RDONLY
		case "rw", "":
		default:
			data = append(data, o)
		}
	}
	if !slices.Contains(data, add) {
		data = append(data, add)
	}
	return flags, strings.Join(data, ",")
}

func hasOpt(opts, o string) bool { return slices.Contains(strings.Split(opts, ","), o) }
