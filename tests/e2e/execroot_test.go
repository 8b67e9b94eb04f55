package e2e

import (
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// execRootMounts lists the sources of the mounts stacked at d's exec-root.
func execRootMounts(t *testing.T, d *Daemon) []string {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(d.ExecRoot))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range ms {
		out = append(out, m.FSType+" "+m.Source)
	}
	return out
}

// The exec-root of a berthd on a disk goes on a tmpfs of its own, which
// holds the running containers' state across a crash and a clean restart
// (live-restore) without another tmpfs stacked on it, and goes at a clean
// stop once no container's state is left in it.
func TestExecRootTmpfsAcrossRestarts(t *testing.T) {
	d := newStoppedDaemon(t)
	var st unix.Statfs_t
	if err := unix.Statfs(d.Root, &st); err != nil || st.Type == unix.TMPFS_MAGIC {
		t.Skip("the test's root is on a tmpfs already")
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	want := "tmpfs berth-exec"
	check := func(when string) {
		t.Helper()
		if ms := execRootMounts(t, d); len(ms) != 1 || ms[0] != want {
			t.Fatalf("%s: mounts at the exec-root %v, want [%s]", when, ms, want)
		}
	}
	check("started")
	b := d.Berth()
	id := b.Must(t, "run", "-d", "busybox", "sleep", "1d")
	d.Kill()
	check("berthd killed")
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	check("started again after the kill")
	if out := b.Must(t, "exec", id, "echo", "alive"); out != "alive" {
		t.Fatalf("exec after the kill: %q", out)
	}
	if !d.Stop() {
		t.Fatal("berthd did not stop on SIGTERM")
	}
	check("stopped with a container running")
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if out := b.Must(t, "inspect", "--format", "{{.State.Status}}", id); out != "running" {
		t.Fatalf("after a clean restart: %q, want running", out)
	}
	b.Must(t, "rm", "-f", id)
	if !d.Stop() {
		t.Fatal("berthd did not stop on SIGTERM")
	}
	if ms := execRootMounts(t, d); len(ms) != 0 {
		t.Fatalf("stopped with no container: mounts at the exec-root %v, want none", ms)
	}
	if err := d.Start(); err != nil { // for the leak checks at cleanup
		t.Fatal(err)
	}
	check("started once more")
}
