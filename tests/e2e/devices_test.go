package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// dockerDeviceList is Docker's default device cgroup whitelist as a cgroup
// v1 devices.list prints it: mknod of any node, and rwm on null, zero,
// full, random, urandom, tty, console, the pty slaves, ptmx and tun only.
var dockerDeviceList = []string{
	"c *:* m", "b *:* m",
	"c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm", "c 1:5 rwm", "c 1:9 rwm",
	"c 5:1 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
}

// requireDevicesV1 skips on hosts without the cgroup v1 devices hierarchy
// (cgroup v2 filters devices with eBPF: there is no list to read).
func requireDevicesV1(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/sys/fs/cgroup/devices/devices.list"); err != nil {
		t.Skip("no cgroup v1 devices hierarchy on this host")
	}
}

// A default container's devices cgroup holds exactly Docker's default
// whitelist, on both runtimes: no rule more (a wider whitelist is a hole),
// none less (a device Docker containers use would fail).
func TestDefaultDeviceWhitelist(t *testing.T) {
	requireDevicesV1(t)
	d := sharedDaemon(t, "run")
	b := d.Berth()
	want := slices.Sorted(slices.Values(dockerDeviceList))
	for _, rt := range []string{"crun", "runc"} {
		id := b.Must(t, "run", "-d", "--runtime", rt, "busybox", "sleep", "300")
		t.Cleanup(func() { b.Run(t, "rm", "-f", id) })
		list, err := os.ReadFile(filepath.Join("/sys/fs/cgroup/devices/berth", id, "devices.list"))
		if err != nil {
			t.Fatalf("%s: %v", rt, err)
		}
		got := slices.Sorted(slices.Values(strings.Split(strings.TrimSpace(string(list)), "\n")))
		if !slices.Equal(got, want) {
			t.Errorf("%s: devices.list of a default container is\n%s\nwant\n%s", rt, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The container sees the same list as its own (host cgroup
		// namespace: its v1 devices hierarchy is its cgroup).
		inside := b.Must(t, "exec", id, "cat", "/sys/fs/cgroup/devices/devices.list")
		if strings.TrimSpace(inside) != strings.TrimSpace(string(list)) {
			t.Errorf("%s: devices.list inside the container is\n%s\nwant the host's view\n%s", rt, inside, list)
		}
	}
}

// hostDisk is the major and minor number of a block device of the host
// that the host itself can open for reading (a guest kernel may refuse
// even root its own disk): the one holding / when it can, else the first
// such the kernel lists.
func hostDisk(t *testing.T) (uint32, uint32) {
	t.Helper()
	var cands [][2]uint32
	var st syscall.Stat_t
	if err := syscall.Stat("/", &st); err == nil {
		cands = append(cands, [2]uint32{unix.Major(st.Dev), unix.Minor(st.Dev)})
	}
	entries, _ := os.ReadDir("/sys/dev/block")
	for _, e := range entries {
		var maj, mnr uint32
		if _, err := fmt.Sscanf(e.Name(), "%d:%d", &maj, &mnr); err == nil {
			cands = append(cands, [2]uint32{maj, mnr})
		}
	}
	dir := t.TempDir()
	for i, c := range cands {
		node := filepath.Join(dir, fmt.Sprint(i))
		if unix.Mknod(node, unix.S_IFBLK|0o600, int(unix.Mkdev(c[0], c[1]))) != nil {
			continue
		}
		if f, err := os.Open(node); err == nil {
			f.Close()
			return c[0], c[1]
		}
	}
	t.Skip("the host has no block device it can open")
	return 0, 0
}

// deviceProbe makes device nodes in the container's /dev (a tmpfs without
// nodev) and reports, one line each, whether they open for reading:
// /dev/null's numbers (allowed: the control that making and opening a node
// works there at all), the host's disk and /dev/mem's (not allowed).
const deviceProbe = `probe() {
	mknod /dev/$1 $2 $3 $4 || { echo "$1 mknod-failed"; return; }
	if head -c 1 /dev/$1 >/dev/null 2>/tmp/$1.err; then echo "$1 opened"; else echo "$1 refused: $(cat /tmp/$1.err)"; fi
}
probe nullprobe c 1 3
probe diskprobe b $DISK_MAJOR $DISK_MINOR
probe memprobe c 1 1
echo probe-done`

// A default container can make a node for a device outside Docker's
// whitelist (mknod is allowed for all) but not open it: the host's disk
// and /dev/mem stay closed, on both runtimes. --privileged, whose
// whitelist allows everything, opens the same disk node: the refusal is
// the device cgroup's, not something else in the way.
func TestDefaultContainerCannotOpenHostDevices(t *testing.T) {
	d := sharedDaemon(t, "run")
	b := d.Berth()
	maj, mnr := hostDisk(t)
	env := []string{"-e", fmt.Sprintf("DISK_MAJOR=%d", maj), "-e", fmt.Sprintf("DISK_MINOR=%d", mnr)}
	run := func(args ...string) map[string]string {
		t.Helper()
		r := b.Run(t, append(append(append([]string{"run", "--rm"}, env...), args...), "busybox", "sh", "-c", deviceProbe)...)
		if r.Exit != 0 || !strings.Contains(r.Stdout, "probe-done") {
			t.Fatalf("the device probe did not run to the end: %s", r)
		}
		out := map[string]string{}
		for _, line := range strings.Split(r.Out(), "\n") {
			if name, res, ok := strings.Cut(line, " "); ok {
				out[name] = res
			}
		}
		return out
	}
	for _, rt := range []string{"crun", "runc"} {
		got := run("--runtime", rt)
		if got["nullprobe"] != "opened" {
			t.Errorf("%s: a node of /dev/null's numbers: %q, want opened", rt, got["nullprobe"])
		}
		for p, what := range map[string]string{"diskprobe": fmt.Sprintf("the host's disk (b %d:%d)", maj, mnr), "memprobe": "/dev/mem (c 1:1)"} {
			if !strings.HasPrefix(got[p], "refused") || !strings.Contains(got[p], "not permitted") {
				t.Errorf("%s: a node of %s: %q, want refused with Operation not permitted", rt, what, got[p])
			}
		}
	}
	if got := run("--privileged"); got["diskprobe"] != "opened" {
		t.Errorf("--privileged: the host's disk node: %q, want opened (else the probe cannot tell the device cgroup's refusal)", got["diskprobe"])
	}
}
