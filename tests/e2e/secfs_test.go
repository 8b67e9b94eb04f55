package e2e

import (
	"strings"
	"testing"
)

// /sys/fs/cgroup is read-only inside a container on every runtime, the
// tmpfs that holds the v1 hierarchies included; --privileged lifts it, as
// Docker does.
func TestCgroupFSReadOnly(t *testing.T) {
	d := sharedDaemon(t, "run")
	c := d.Docker(t)
	for _, rt := range []string{"crun", "runc"} {
		r := c.Run(t, "run", "--rm", "--runtime", rt, "busybox", "sh", "-c",
			"touch /sys/fs/cgroup/x 2>&1; mkdir /sys/fs/cgroup/y 2>&1; ls /sys/fs/cgroup >/dev/null && echo listed")
		if r.Exit != 0 || !strings.Contains(r.Stdout, "Read-only file system") || strings.Count(r.Stdout, "Read-only file system") != 2 || !strings.Contains(r.Stdout, "listed") {
			t.Errorf("%s: writes to /sys/fs/cgroup: %s, want both refused with Read-only file system and the folder readable", rt, r)
		}
		if r := c.Run(t, "run", "--rm", "--runtime", rt, "--privileged", "busybox", "sh", "-c", "grep ' /sys/fs/cgroup ' /proc/mounts"); r.Exit != 0 || strings.Contains(r.Stdout, " ro,") {
			t.Errorf("%s --privileged: /sys/fs/cgroup mount %s, want read-write", rt, r)
		}
	}
}
