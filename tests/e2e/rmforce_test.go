package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRmForceMany removes many running containers at once (the docker CLI
// sends the removals in parallel): every one is gone with nothing left
// behind (files named after it, runtime state, cgroups, mounts,
// processes, veths, port rules), and each got one kill event (signal 9),
// then die, then destroy, as Docker emits them. They run with crun and
// runc, under the C and the Go monitor, and one in the host's pid
// namespace (its monitor leaves the clean-up to the runtime's delete).
func TestRmForceMany(t *testing.T) {
	d := startDaemon(t)
	dk := d.Docker(t)
	const n = 12
	var names []string
	for i := range n {
		name := fmt.Sprintf("rmf%d", i)
		args := []string{"run", "-d", "--name", name}
		if i%4 == 0 {
			args = append(args, "-p", "127.0.0.1::80")
		}
		switch i % 4 {
		case 1:
			args = append(args, "--runtime", "runc")
		case 2:
			args = append(args, "--log-driver", "local")
		case 3:
			if i == 3 {
				args = append(args, "--pid", "host")
			}
		}
		dk.Must(t, append(args, "busybox", "sleep", "300")...)
		names = append(names, name)
	}
	ids := map[string]bool{}
	for _, id := range strings.Fields(dk.Must(t, "ps", "-q", "--no-trunc")) {
		ids[id] = true
	}
	if len(ids) != n {
		t.Fatalf("%d containers running, want %d", len(ids), n)
	}
	start := time.Now()
	out := dk.Must(t, append([]string{"rm", "-f"}, names...)...)
	if got := len(strings.Fields(out)); got != n {
		t.Fatalf("rm -f printed %d names, want %d: %q", got, n, out)
	}
	if left := dk.Must(t, "ps", "-aq"); left != "" {
		t.Fatalf("containers left: %q", left)
	}

	for _, l := range removedLeaks(t, d, ids) {
		t.Error(l)
	}

	// Events, per container: kill (signal 9) once, then die, then destroy.
	var evs []wireEvent
	eventually(t, 20*time.Second, func() error {
		evs = eventsBetween(t, dk, start, time.Now(), "type=container")
		destroyed := 0
		for _, e := range evs {
			if e.Action == "destroy" {
				destroyed++
			}
		}
		if destroyed != n {
			return fmt.Errorf("%d destroy events, want %d", destroyed, n)
		}
		return nil
	})
	seq := map[string][]string{}
	for _, e := range evs {
		a := e.Action
		if a == "kill" {
			a += " " + e.Actor.Attributes["signal"]
		}
		seq[e.Actor.ID] = append(seq[e.Actor.ID], a)
	}
	for id := range ids {
		if got := strings.Join(seq[id], ", "); got != "kill 9, die, destroy" {
			t.Errorf("events of %s: %s, want kill 9, die, destroy", id[:12], got)
		}
	}
}

// removedLeaks is what is left on the host of the removed containers ids
// (by full ID): files named after them under the daemon's root (its
// runtime state among them), cgroups, mounts, processes, veths, port
// rules.
func removedLeaks(t *testing.T, d *Daemon, ids map[string]bool) []string {
	// A removed container's folders leave their places at once, into the
	// daemon's trash, which deletes them in the background (a json-file
	// log in there is still named after the container for a moment).
	var leaks []string
	for deadline := time.Now().Add(20 * time.Second); ; {
		leaks = leaks[:0]
		filepath.WalkDir(d.Root, func(path string, e os.DirEntry, err error) error {
			if err == nil && ids[e.Name()] {
				leaks = append(leaks, "left: "+path)
			}
			return nil
		})
		if len(leaks) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for id := range ids {
		for _, cg := range cgroupsOf(id) {
			leaks = append(leaks, "cgroup left: "+cg)
		}
	}
	for _, m := range mountsUnder(d.Root) {
		// The daemon's own: the exec-root's tmpfs, the namespaces' shared
		// mount point, the namespaces it keeps prepared (netns/.pool-*),
		// the runtime binary it runs (exec-root/runtime/crun-bin).
		if m != d.ExecRoot && !strings.HasSuffix(m, "/netns") && !strings.Contains(m, "/netns/.pool-") && !strings.HasPrefix(m, filepath.Join(d.ExecRoot, "runtime")+"/") {
			leaks = append(leaks, "mount left: "+m)
		}
	}
	for _, p := range processesUsing(d.Root) {
		if p.pid != d.Pid() {
			leaks = append(leaks, "process left: "+p.String())
		}
	}
	leaks = append(leaks, d.netLeaks()...)
	for _, l := range ourRules(t, d) {
		if strings.Contains(l, "-j DNAT") {
			leaks = append(leaks, "port rule left: "+l)
		}
	}
	return leaks
}
