package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCreateRmAcrossKill: what create and rm no longer do on their reply
// path loses nothing. A container created just before berthd is killed is
// there after the restart, and its first start writes the host files
// create no longer writes (hostname, --add-host in /etc/hosts) over the
// shared init layer's mount points; a bad --add-host is still refused by
// create. A container removed just before berthd is killed does not come
// back, and its name is free.
func TestCreateRmAcrossKill(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	if r := b.Run(t, "create", "--name", "lsbad", "--add-host", "nocolon", "busybox", "true"); r.Exit == 0 || !strings.Contains(r.Stderr, "nocolon") {
		t.Fatalf("create with a bad --add-host: %s, want refused", r)
	}
	if r := b.Run(t, "inspect", "lsbad"); r.Exit == 0 {
		t.Fatal("the refused create left a container")
	}
	b.Must(t, "create", "--name", "lskept", "--hostname", "lshost", "--add-host", "lsextra:10.99.88.77", "busybox",
		"sh", "-c", "cat /etc/hostname /etc/hosts; ls -a /; ls -d /proc/1 /sys/kernel /dev/pts /dev/shm")
	gone := b.Must(t, "create", "--name", "lsgone", "busybox", "true")
	b.Must(t, "rm", "lsgone")
	d.Kill()
	if err := d.Start(); err != nil {
		t.Fatalf("restarting berthd: %v", err)
	}
	out := b.Must(t, "start", "-a", "lskept")
	for _, want := range []string{"lshost\n", "10.99.88.77\tlsextra\n", "127.0.0.1\tlocalhost\n", ".dockerenv\n", "/proc/1\n", "/dev/pts\n", "/dev/shm\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("first start after the crash: output lacks %q:\n%s", want, out)
		}
	}
	if r := b.Run(t, "inspect", "lsgone"); r.Exit == 0 {
		t.Fatalf("a container removed before the crash came back: %s", r)
	}
	if ps := b.Must(t, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(ps, "lsgone") {
		t.Fatalf("ps -a lists the removed container:\n%s", ps)
	}
	b.Must(t, "create", "--name", "lsgone", "busybox", "true")
	for _, p := range []string{filepath.Join(d.DataRoot, "containers", gone), filepath.Join(d.DataRoot, "image", "overlay", gone)} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is still there after rm and a restart", p)
		}
	}
	// The writable layer holds only what the container wrote: the init
	// layer's mount points and files do not show in diff.
	if diff := b.Must(t, "diff", "lskept"); diff != "" {
		t.Errorf("diff of a container that wrote nothing: %q", diff)
	}
	b.Must(t, "rm", "lskept", "lsgone")
}

// TestRunRmReturnsRemoved: when `run --rm` returns (berth CLI and docker
// CLI, which both wait for condition=removed), the exit code is the
// program's, the container is gone from ps -a and inspect, and its name is
// free at once; its overlay is unmounted and its folders and state
// directory are deleted within a moment (the state directory goes once its
// monitor has cleaned the runtime up, after the reply).
func TestRunRmReturnsRemoved(t *testing.T) {
	d := startDaemon(t)
	eachCLI(t, d, func(t *testing.T, c CLI) {
		name := "lsrm-" + c.Name
		for i := 0; i < 3; i++ {
			r := c.Run(t, "run", "--rm", "--name", name, "busybox", "sh", "-c", "echo out; exit 3")
			if r.Exit != 3 || r.Stdout != "out\n" {
				t.Fatalf("run --rm #%d: %s, want exit 3 and out", i, r)
			}
			if ps := c.Must(t, "ps", "-a", "--filter", "name="+name, "--format", "{{.Names}}"); ps != "" {
				t.Fatalf("ps -a right after run --rm returned: %q", ps)
			}
			if r := c.Run(t, "inspect", name); r.Exit == 0 {
				t.Fatalf("inspect right after run --rm returned: %s", r)
			}
		}
		id := c.Must(t, "create", "--name", name, "busybox", "true")
		c.Must(t, "rm", id)
	})
	// Nothing named after a removed container stays: no mount under the
	// overlays, no folder, no state directory (waited for: after the reply).
	eventually(t, 30*time.Second, func() error {
		for _, dir := range []string{filepath.Join(d.DataRoot, "image", "overlay"), filepath.Join(d.DataRoot, "containers"), filepath.Join(d.ExecRoot, "containers")} {
			if m := mountsUnder(dir); len(m) > 0 {
				return fmt.Errorf("still mounted: %v", m)
			}
			if ents, _ := os.ReadDir(dir); len(ents) > 0 {
				return fmt.Errorf("%s still holds %s", dir, ents[0].Name())
			}
		}
		return nil
	})
}

// TestStateDirSweep: a removal moves the container's state directory away
// after its reply; one left by a crash in between (simulated: a state
// directory no record owns) is discarded by the next start, while a
// container's own is kept.
func TestStateDirSweep(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	id := b.Must(t, "run", "-d", "--name", "lskeep", "busybox", "sleep", "300")
	stray := filepath.Join(d.ExecRoot, "containers", strings.Repeat("ab", 32))
	if err := os.MkdirAll(stray, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stray, "monitor.lock"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d.Kill()
	if err := d.Start(); err != nil {
		t.Fatalf("restarting berthd: %v", err)
	}
	eventually(t, 30*time.Second, func() error {
		if _, err := os.Stat(stray); err == nil {
			return fmt.Errorf("%s is still there", stray)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(d.ExecRoot, "containers", id)); err != nil {
		t.Fatalf("the running container's state directory: %v", err)
	}
	if out := b.Must(t, "exec", "lskeep", "echo", "alive"); out != "alive" {
		t.Fatalf("exec after the restart: %q", out)
	}
	b.Must(t, "rm", "-f", "lskeep")
}
