package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// What a client may rely on when `run --rm`'s wait (condition=removed) is
// answered, while berthd still unmounts the container's network namespace
// and root file system and removes its state behind the reply. The
// daemon's exit gate (BERTH_TEST_EXIT_GATE) holds that clean-up at a
// known point until the test lets it go on (or kills berthd): no timing.

// newExitGate is container name's exit gate, a FIFO NAME.exit, driven
// as a preparation's gate is (its steps: "netns", "rootfs", and a kill's
// "signalled").
func newExitGate(t *testing.T, d *Daemon, name string) *prepGate {
	return newPrepGate(t, d, name+".exit")
}

func startGatedDaemon(t *testing.T) *Daemon {
	t.Helper()
	d := newStoppedDaemon(t)
	if err := os.Mkdir(filepath.Join(d.Root, "gate"), 0o700); err != nil {
		t.Fatal(err)
	}
	d.Env = []string{"BERTH_TEST_EXIT_GATE=" + filepath.Join(d.Root, "gate")}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.importBusybox(); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestRunRmReplyBeforeCleanup(t *testing.T) {
	d := startGatedDaemon(t)
	t.Run("port, name and volume free", func(t *testing.T) { rmReplyFreed(t, d) })
	t.Run("start again while unmounting", func(t *testing.T) { restartWhileUnmounting(t, d) })
	// Last: restarts berthd.
	t.Run("berthd killed after the reply", func(t *testing.T) { rmReplyKilled(t, d) })
}

// rmReplyFreed: `run --rm` is answered while its namespace's unmount is
// held, with its exit code; by then its name, its published port and its
// anonymous volume are free.
func rmReplyFreed(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("rm-reply")
	g := newExitGate(t, d, name)
	port := freePort(t)
	pub := fmt.Sprintf("%d:80", port)
	vols := b.Must(t, "volume", "ls", "-q")
	r := b.Run(t, "run", "--rm", "--name", name, "-p", pub, "-v", "/data", "busybox", "sh", "-c", "exit 7")
	if r.Exit != 7 {
		t.Fatalf("run --rm: %s, want exit code 7", r)
	}
	g.waitStep("netns") // held: the reply did not wait for it
	if r := b.Run(t, "inspect", name); r.Exit == 0 {
		t.Errorf("inspect right after run --rm: %s, want no such container", r)
	}
	if ps := b.Must(t, "ps", "-a", "--filter", "name="+name, "-q"); ps != "" {
		t.Errorf("ps -a right after run --rm lists %q", ps)
	}
	if now := b.Must(t, "volume", "ls", "-q"); now != vols {
		t.Errorf("volumes after run --rm -v /data: %q, want %q", now, vols)
	}
	id := b.Must(t, "run", "-d", "--name", name, "-p", pub, "busybox", "sleep", "1d")
	if got := b.Must(t, "port", id, "80"); !strings.HasSuffix(got, fmt.Sprintf(":%d", port)) {
		t.Errorf("port of the next container: %q, want host port %d", got, port)
	}
	g.waitStep("rootfs") // both held: one write lets both go on
	g.release("ok")
	b.Must(t, "rm", "-f", id)
}

// restartWhileUnmounting: a container started again while its last run's
// namespace is still being unmounted from the path the new run's takes
// gets a namespace (the start waits for the unmount).
func restartWhileUnmounting(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("again")
	g := newExitGate(t, d, name)
	b.Must(t, "create", "--name", name, "busybox", "sh", "-c", "ip -o -4 addr show eth0")
	if r := b.Run(t, "start", "-a", name); r.Exit != 0 || !strings.Contains(r.Stdout, "inet ") {
		t.Fatalf("first run: %s", r)
	}
	g.waitStep("netns")
	res := runAsync(t, b, "start", "-a", name)
	g.release("ok")
	if r := <-res; r.Exit != 0 || !strings.Contains(r.Stdout, "inet ") {
		t.Errorf("second run, started while the first one's namespace was unmounting: %s", r)
	}
	b.Must(t, "rm", name)
}

// rmReplyKilled: berthd is killed after the reply, with the unmounts and
// the state directory's removal held: the record is gone, the leftovers
// are there, and the next berthd removes them all.
func rmReplyKilled(t *testing.T, d *Daemon) {
	b := d.Berth()
	name := uniq("rm-killed")
	g := newExitGate(t, d, name)
	id := b.Must(t, "run", "-d", "--rm", "--name", name, "busybox", "true")
	g.waitStep("netns")
	g.waitStep("rootfs") // after the removal's commit
	if r := b.Run(t, "inspect", name); r.Exit == 0 {
		t.Errorf("inspect after the removal: %s, want no such container", r)
	}
	state := filepath.Join(d.ExecRoot, "containers", id)
	netns := filepath.Join(d.ExecRoot, "netns", id)
	held := map[string]bool{}
	for _, m := range mountsUnder(d.Root) {
		switch {
		case m == netns:
			held["netns mount"] = true
		case strings.Contains(m, id):
			held["rootfs mount"] = true
		}
	}
	if _, err := os.Stat(state); err == nil {
		held["state directory"] = true
	}
	for _, what := range []string{"netns mount", "rootfs mount", "state directory"} {
		if !held[what] {
			t.Errorf("no %s while the clean-up is held (%v)", what, mountsUnder(d.Root))
		}
	}
	d.Kill()
	os.Remove(g.path)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, func() error {
		left := leftOf(d, id)
		for _, dir := range []string{state, filepath.Join(d.DataRoot, "containers", id)} {
			if _, err := os.Stat(dir); err == nil {
				left = append(left, dir)
			}
		}
		return leftErr("SIGKILL after the reply and restart", left)
	})
	if r := b.Run(t, "run", "--rm", "--name", name, "busybox", "true"); r.Exit != 0 {
		t.Errorf("run --rm with the name again: %s", r)
	}
}
