package e2e

import (
	"strings"
	"testing"
)

// escapeScript probes, from inside a container, what the security work
// closed: host device nodes, /proc and /sys masking and read-only paths,
// mounts. Each hole prints a LEAK line; writes put back the value they read,
// so a hole changes nothing on the host.
const escapeScript = `leak() { echo "LEAK: $1"; }
for p in /dev/mem /dev/kmem /dev/port /dev/kmsg /dev/sda /dev/vda /dev/nvme0n1 /dev/loop0 $HOSTONLY_DEVICES; do
	[ -e $p ] && leak "host device $p is present"
done
if mknod /tmp/mem c 1 1 2>/dev/null; then head -c 1 /tmp/mem >/dev/null 2>&1 && leak "a /dev/mem node made inside opens"; fi
[ "$(head -c 16 /proc/kcore 2>/dev/null | wc -c)" -eq 0 ] || leak "/proc/kcore is readable"
[ "$(head -c 16 /proc/keys 2>/dev/null | wc -c)" -eq 0 ] || leak "/proc/keys is readable"
[ -n "$OWN_KERNEL" ] || { (: > /proc/sysrq-trigger) 2>/dev/null && leak "/proc/sysrq-trigger is writable"; }
v=$(cat /proc/sys/kernel/sysrq 2>/dev/null) && (echo "$v" > /proc/sys/kernel/sysrq) 2>/dev/null && leak "/proc/sys is writable"
[ -z "$(ls -A /sys/firmware 2>/dev/null)" ] || leak "/sys/firmware is visible"
v=$(cat /sys/kernel/uevent_helper 2>/dev/null) && (echo "$v" > /sys/kernel/uevent_helper) 2>/dev/null && leak "/sys is writable"
mount -t tmpfs none /mnt 2>/dev/null && leak "mount -t tmpfs works"
mount -o bind / /mnt 2>/dev/null && leak "a bind mount works"
mount -o remount,rw /proc/sys 2>/dev/null && leak "/proc/sys can be remounted read-write"
echo probes-done`

// runEscapeProbes runs the probes and the host-loopback route trick in a
// container started with runArgs, and fails t on any hole. ownKernel: the
// container runs on gVisor's kernel, whose /dev/fuse and
// /proc/sysrq-trigger are its own emulations (a FUSE server inside the
// sandbox, a no-op), not the host's; on a host kernel both are probed.
func runEscapeProbes(t *testing.T, d *Daemon, network string, ownKernel bool, runArgs ...string) {
	t.Helper()
	c := d.Docker(t)
	env := []string{"-e", "HOSTONLY_DEVICES=/dev/fuse"}
	if ownKernel {
		env = []string{"-e", "OWN_KERNEL=1"}
	}
	r := c.Run(t, append(append(append([]string{"run", "--rm"}, env...), runArgs...), "busybox", "sh", "-c", escapeScript)...)
	if !strings.Contains(r.Stdout, "probes-done") {
		t.Fatalf("the probes did not run to the end: %s", r)
	}
	for _, line := range strings.Split(r.Stdout, "\n") {
		if strings.HasPrefix(line, "LEAK:") {
			t.Errorf("%v: %s", runArgs, line)
		}
	}
	probeLoopbackByRoute(t, d.Berth(), network, false, runArgs...)
}

// TestEscapeProbesPerIsolation: the escape probes pass under every
// isolation: process, sandbox (gVisor, when installed) and user namespaces
// (userns-remap).
func TestEscapeProbesPerIsolation(t *testing.T) {
	core := sharedDaemon(t, "core")
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"process", []string{"--isolation=process"}},
		{"sandbox", []string{"--isolation=sandbox"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "sandbox" {
				requireRunsc(t)
			}
			nw := uniq("probenet")
			sub, _ := netSubnet(core, 43)
			createNet(t, core.Berth(), nw, "--subnet", sub)
			runEscapeProbes(t, core, nw, tc.name == "sandbox", tc.args...)
		})
	}
	t.Run("userns", func(t *testing.T) {
		d := usernsDaemon(t)
		nw := uniq("probenet")
		sub, _ := netSubnet(d, 43)
		createNet(t, d.Berth(), nw, "--subnet", sub)
		runEscapeProbes(t, d, nw, false)
	})
}
