package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Start ahead: berthd prepares a created container in the background
// (monitor up, runtime container created) so that its start only releases
// it. These tests check that such a container still behaves exactly as a
// created one, that whatever changes what its start builds is honoured, and
// that nothing of a preparation outlives the container or berthd.

// preparedAhead reports whether berthd has prepared the container: the
// runtime created it (its init's pid is recorded) while it is still
// created.
func preparedAhead(d *Daemon, id string) bool {
	_, err := os.Stat(filepath.Join(d.ExecRoot, "containers", id, "init.pid"))
	return err == nil
}

func waitPrepared(t *testing.T, d *Daemon, id string) {
	t.Helper()
	waitFor(t, 60*time.Second, "container "+id[:12]+" prepared ahead of its start", func() bool { return preparedAhead(d, id) })
}

// leftOf lists what of container id exists on the host: processes naming
// it, mounts, its network namespace file, cgroups.
func leftOf(d *Daemon, id string) []string {
	var out []string
	for _, p := range scanProcs(func(pid int, exe string) string {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && strings.Contains(string(b), id) {
			return "names the container"
		}
		return ""
	}) {
		out = append(out, "process "+p.String())
	}
	for _, m := range mountsUnder(d.Root) {
		if strings.Contains(m, id) {
			out = append(out, "mount "+m)
		}
	}
	if _, err := os.Stat(filepath.Join(d.ExecRoot, "netns", id)); err == nil {
		out = append(out, "netns file")
	}
	for _, pat := range []string{"/sys/fs/cgroup/*" + id + "*", "/sys/fs/cgroup/*/*" + id + "*", "/sys/fs/cgroup/*/*/*" + id + "*"} {
		cgs, _ := filepath.Glob(pat)
		for _, cg := range cgs {
			out = append(out, "cgroup "+cg)
		}
	}
	return out
}

func TestStartAhead(t *testing.T) {
	d := startDaemon(t)
	t.Run("looks created", func(t *testing.T) { aheadLooksCreated(t, d) })
	t.Run("start -a", func(t *testing.T) { aheadStartA(t, d) })
	t.Run("Go monitor", func(t *testing.T) { aheadGoMonitor(t, d) })
	t.Run("start -ai with a TTY", func(t *testing.T) { aheadStartAiWithATty(t, d) })
	t.Run("init killed before start", func(t *testing.T) { aheadInitKilledBeforeStart(t, d) })
	t.Run("network connect before start", func(t *testing.T) { aheadNetworkConnectBeforeStart(t, d) })
	t.Run("update before start", func(t *testing.T) { aheadUpdateBeforeStart(t, d) })
	t.Run("rm leaves nothing", func(t *testing.T) { aheadRmLeavesNothing(t, d) })
	t.Run("failed preparation leaves nothing", func(t *testing.T) { aheadFailedLeavesNothing(t, d) })
	t.Run("more than the bound", func(t *testing.T) { aheadMoreThanTheBound(t, d) })
}

// A preparation that fails midway (here the user lookup, after the root
// filesystem is mounted, while the monitor is launched and the network
// namespace reserved beside it) leaves nothing running or mounted, and
// the start reports the failure.
func aheadFailedLeavesNothing(t *testing.T, d *Daemon) {
	b := d.Berth()
	id := b.Must(t, "create", "--user", "nosuchuser", "busybox", "true")
	if r := b.Run(t, "start", id); r.Exit == 0 || !strings.Contains(r.Stderr, "nosuchuser") {
		t.Errorf("start with an unknown user: %s", r)
	}
	waitFor(t, 60*time.Second, "nothing left of the failed preparation", func() bool { return len(leftOf(d, id)) == 0 })
	if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", id); st != "created" {
		t.Errorf("after the failed start: %s, want created", st)
	}
	b.Must(t, "rm", id)
}

func aheadLooksCreated(t *testing.T, d *Daemon) {
	b := d.Berth()
	id := b.Must(t, "create", "busybox", "sleep", "1d")
	waitPrepared(t, d, id)
	got := b.Must(t, "inspect", "-f", "{{.State.Status}} {{.State.Pid}} {{.State.StartedAt}} [{{.NetworkSettings.IPAddress}}]", id)
	if got != "created 0 0001-01-01T00:00:00Z []" {
		t.Errorf("prepared container inspects as %q, want a plain created one", got)
	}
	if ps := b.Must(t, "ps", "-q", "--no-trunc"); strings.Contains(ps, id) {
		t.Errorf("prepared container listed by ps without -a: %q", ps)
	}
	if n := b.Must(t, "network", "inspect", "-f", "{{len .Containers}}", "bridge"); n != "0" {
		t.Errorf("network inspect shows %s containers on bridge before any start", n)
	}
	b.Must(t, "start", id)
	st := b.Must(t, "inspect", "-f", "{{.State.Status}} {{.NetworkSettings.IPAddress}}", id)
	if f := strings.Fields(st); len(f) != 2 || f[0] != "running" {
		t.Errorf("after start: %q, want running with an address", st)
	}
	hosts := b.Must(t, "exec", id, "cat", "/etc/hosts")
	if ip := b.Must(t, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", id); !strings.Contains(hosts, ip+"\t") {
		t.Errorf("/etc/hosts lacks the container's address %s:\n%s", ip, hosts)
	}
	b.Must(t, "rm", "-f", id)
}

func aheadStartA(t *testing.T, d *Daemon) {
	eachCLI(t, d, func(t *testing.T, c CLI) {
		id := c.Must(t, "create", "busybox", "sh", "-c", "echo to-out; echo to-err >&2; exit 3")
		waitPrepared(t, d, id)
		r := c.Run(t, "start", "-a", id)
		if !strings.Contains(r.Stdout, "to-out") || !strings.Contains(r.Stderr, "to-err") || r.Exit != 3 {
			t.Errorf("start -a of a prepared container: %s", r)
		}
		c.Must(t, "rm", id)
	})
}

func aheadGoMonitor(t *testing.T, d *Daemon) {
	b := d.Berth()
	// The local log driver is berth-monitor's, the others berth-cmon's.
	id := b.Must(t, "create", "--log-driver", "local", "busybox", "sh", "-c", "echo via-go-monitor")
	waitPrepared(t, d, id)
	if r := b.Run(t, "start", "-a", id); !strings.Contains(r.Stdout, "via-go-monitor") || r.Exit != 0 {
		t.Errorf("start -a with the Go monitor: %s", r)
	}
	if out := b.Must(t, "logs", id); out != "via-go-monitor" {
		t.Errorf("logs %q, want via-go-monitor", out)
	}
	b.Must(t, "rm", id)
}

func aheadStartAiWithATty(t *testing.T, d *Daemon) {
	b := d.Berth()
	id := b.Must(t, "create", "-it", "busybox", "sh")
	waitPrepared(t, d, id)
	p := d.Docker(t).StartPty(t, "start", "-ai", id)
	p.Write("echo sum-$((40+2))\n")
	p.Expect("sum-42", 30*time.Second)
	p.Write("exit 5\n")
	if code := p.Wait(30 * time.Second); code != 5 {
		t.Errorf("start -ai exit code %d, want 5; output %q", code, p.Output())
	}
	b.Must(t, "rm", id)
}

func aheadInitKilledBeforeStart(t *testing.T, d *Daemon) {
	b := d.Berth()
	id := b.Must(t, "create", "busybox", "echo", "started-afresh")
	waitPrepared(t, d, id)
	raw, err := os.ReadFile(filepath.Join(d.ExecRoot, "containers", id, "init.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitFor(t, 30*time.Second, "the prepared init to end", func() bool {
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(st), ") Z ")
	})
	if r := b.Run(t, "start", "-a", id); !strings.Contains(r.Stdout, "started-afresh") || r.Exit != 0 {
		t.Errorf("start after the prepared init was killed: %s", r)
	}
	b.Must(t, "rm", id)
}

func aheadNetworkConnectBeforeStart(t *testing.T, d *Daemon) {
	b := d.Berth()
	sub, gw := netSubnet(d, 1)
	net := "sa-net-" + d.Net
	b.Must(t, "network", "create", "--subnet", sub, "--gateway", gw, net)
	defer b.Run(t, "network", "rm", net)
	id := b.Must(t, "create", "busybox", "sleep", "1d")
	waitPrepared(t, d, id)
	b.Must(t, "network", "connect", net, id)
	b.Must(t, "start", id)
	addrs := b.Must(t, "exec", id, "ip", "-o", "-4", "addr")
	if !strings.Contains(addrs, "eth1") || !strings.Contains(addrs, strings.TrimSuffix(gw, ".1")) {
		t.Errorf("the network connected before start is missing inside:\n%s", addrs)
	}
	b.Must(t, "rm", "-f", id)
}

func aheadUpdateBeforeStart(t *testing.T, d *Daemon) {
	b := d.Berth()
	id := b.Must(t, "create", "busybox", "sleep", "1d")
	waitPrepared(t, d, id)
	b.Must(t, "update", "--memory", "64m", id)
	b.Must(t, "start", id)
	lim := b.Must(t, "exec", id, "sh", "-c", "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes")
	if lim != "67108864" {
		t.Errorf("memory limit inside after update before start: %q, want 67108864", lim)
	}
	b.Must(t, "rm", "-f", id)
}

func aheadRmLeavesNothing(t *testing.T, d *Daemon) {
	b := d.Berth()
	id := b.Must(t, "create", "-p", "127.0.0.1::80", "-v", "/data", "busybox", "sleep", "1d")
	waitPrepared(t, d, id)
	if len(leftOf(d, id)) == 0 {
		t.Fatal("a prepared container shows nothing on the host: the test cannot tell")
	}
	b.Must(t, "rm", "-v", id)
	eventually(t, 30*time.Second, func() error {
		if l := leftOf(d, id); len(l) > 0 {
			return fmt.Errorf("left after rm of a prepared container: %v", l)
		}
		return nil
	})
}

func aheadMoreThanTheBound(t *testing.T, d *Daemon) {
	b := d.Berth()
	var ids []string
	for i := 0; i < 7; i++ {
		ids = append(ids, b.Must(t, "create", "busybox", "sleep", "1d"))
	}
	waitPrepared(t, d, ids[0])
	b.Must(t, append([]string{"start"}, ids...)...)
	for _, id := range ids {
		if st := b.Must(t, "inspect", "-f", "{{.State.Status}}", id); st != "running" {
			t.Errorf("container %s: %s, want running", id[:12], st)
		}
	}
	b.Must(t, append([]string{"rm", "-f"}, ids...)...)
}

// TestStartAheadDaemonRestart: a preparation does not outlive berthd, be
// it SIGKILLed or stopped; the container then starts afresh.
func TestStartAheadDaemonRestart(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	for _, how := range []string{"SIGKILL", "SIGTERM"} {
		id := b.Must(t, "create", "busybox", "sh", "-c", "echo started-once; sleep 1d")
		waitPrepared(t, d, id)
		if how == "SIGKILL" {
			d.Kill()
		} else if !d.Stop() {
			t.Fatal("berthd did not stop on SIGTERM within 15 s")
		}
		if how == "SIGTERM" {
			if l := leftOf(d, id); len(l) > 0 {
				t.Errorf("after a clean stop, left of the prepared container: %v", l)
			}
		}
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		if l := leftOf(d, id); len(l) > 0 {
			t.Errorf("after %s and restart, left of the prepared container: %v", how, l)
		}
		if st := b.Must(t, "inspect", "-f", "{{.State.Status}} {{.State.Pid}}", id); st != "created 0" {
			t.Errorf("after %s and restart: %q, want created 0", how, st)
		}
		b.Must(t, "start", id)
		eventually(t, 30*time.Second, func() error {
			if out := b.Must(t, "logs", id); out != "started-once" {
				return fmt.Errorf("logs %q, want started-once", out)
			}
			return nil
		})
		b.Must(t, "rm", "-f", id)
	}
}
