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

// berthd may die at any instant: containers keep running under their
// monitors, a container that exits meanwhile has its status recorded, and a
// restarted berthd picks everything up.
func TestDaemonCrashRecovery(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	var names []string
	for i := 0; i < 10; i++ {
		n := fmt.Sprintf("crash-%d", i)
		b.Must(t, "run", "-d", "--name", n, "busybox", "sh", "-c", "echo up; while true; do echo tick; sleep 0.2; done")
		names = append(names, n)
	}
	b.Must(t, "run", "-d", "--name", "short", "busybox", "sh", "-c", "sleep 2; exit 7")
	shortPid := b.Must(t, "inspect", "--format", "{{.State.Pid}}", "short")
	oldPid := d.Pid()
	d.Kill()

	// While berthd is down the short one exits: wait until its process is
	// gone (or a zombie its monitor has yet to reap).
	eventually(t, 10*time.Second, func() error {
		st, err := os.ReadFile("/proc/" + shortPid + "/status")
		if err != nil || strings.Contains(string(st), "State:\tZ") {
			return nil
		}
		return fmt.Errorf("the short container's process %s is still running", shortPid)
	})
	if err := d.Start(); err != nil {
		t.Fatalf("restarting berthd on the same roots: %v", err)
	}
	if d.Pid() == oldPid {
		t.Fatal("berthd was not restarted")
	}

	eachCLI(t, d, func(t *testing.T, c CLI) {
		running := c.Must(t, "ps", "--format", "{{.Names}}")
		for _, n := range names {
			if !strings.Contains("\n"+running+"\n", "\n"+n+"\n") {
				t.Errorf("after the crash, ps lacks %s:\n%s", n, running)
			}
		}
		if strings.Contains(running, "short") {
			t.Errorf("after the crash, ps lists the exited container as running:\n%s", running)
		}
		if st := c.Must(t, "ps", "-a", "--filter", "name=short", "--format", "{{.Status}}"); !strings.HasPrefix(st, "Exited (7)") {
			t.Errorf("short container status %q, want Exited (7) ...", st)
		}
		if out := c.Must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "short"); out != "exited 7" {
			t.Errorf("inspect short: %q, want \"exited 7\"", out)
		}
		if out := c.Must(t, "logs", "crash-0"); !strings.HasPrefix(out, "up\ntick") {
			t.Errorf("logs crash-0 after the crash: %q, want up and ticks", out)
		}
		if out := c.Must(t, "exec", "crash-1", "echo", "exec-ok"); out != "exec-ok" {
			t.Errorf("exec after the crash: %q", out)
		}
		p := c.StartPty(t, "attach", "crash-2")
		p.Expect("tick", 10*time.Second)
		p.Kill()
		before := c.Must(t, "logs", "crash-3")
		eventually(t, 5*time.Second, func() error {
			if after := c.Must(t, "logs", "crash-3"); len(after) <= len(before) {
				return fmt.Errorf("logs of crash-3 stopped growing after the crash: the monitor no longer records output")
			}
			return nil
		})
	})
	// stop works on containers started by the previous berthd.
	for _, n := range names[4:6] {
		b.Must(t, "stop", "-t", "1", n)
		if out := b.Must(t, "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", n); out != "exited 137" {
			t.Errorf("stop -t 1 %s after the crash: %q, want \"exited 137\"", n, out)
		}
	}
	if r := b.Run(t, "run", "--rm", "busybox", "echo", "still-works"); r.Out() != "still-works" {
		t.Errorf("a new run after the crash: %s", r)
	}
}

// A --rm container that exits while berthd is down is removed by the next
// berthd: the state a crash leaves between the auto-remove's answer to
// `run --rm` (given before the removal's commit) and that commit, its
// record still saying running and its monitor's exit report on disk.
func TestRunRmExitedWhileDown(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	id := b.Must(t, "run", "-d", "--rm", "--name", "rmdown", "busybox", "sleep", "300")
	pid, err := strconv.Atoi(b.Must(t, "inspect", "--format", "{{.State.Pid}}", "rmdown"))
	if err != nil {
		t.Fatal(err)
	}
	d.Kill()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the container's process %d: %v", pid, err)
	}
	eventually(t, 10*time.Second, func() error {
		st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
		if err != nil || strings.Contains(string(st), "State:\tZ") {
			return nil
		}
		return fmt.Errorf("the container's process %d is still running", pid)
	})
	if err := d.Start(); err != nil {
		t.Fatalf("restarting berthd on the same roots: %v", err)
	}
	eventually(t, 30*time.Second, func() error {
		if ps := b.Must(t, "ps", "-aq", "--no-trunc"); strings.Contains(ps, id) {
			return fmt.Errorf("the exited --rm container is still listed")
		}
		for _, dir := range []string{filepath.Join(d.DataRoot, "containers", id), filepath.Join(d.ExecRoot, "containers", id)} {
			if _, err := os.Stat(dir); err == nil {
				return fmt.Errorf("%s stayed", dir)
			}
		}
		return nil
	})
	if r := b.Run(t, "inspect", "rmdown"); r.Exit == 0 {
		t.Errorf("inspect of the removed container: %s", r)
	}
	// Its name is free again.
	if r := b.Run(t, "run", "--rm", "--name", "rmdown", "busybox", "true"); r.Exit != 0 {
		t.Errorf("run --rm with the name again: %s", r)
	}
}

// A graceful restart (SIGTERM) keeps containers running too.
func TestDaemonRestartKeepsContainers(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	id := b.Must(t, "run", "-d", "busybox", "sleep", "1d")
	if !d.Stop() {
		t.Fatal("berthd did not stop on SIGTERM within 15 s")
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if out := b.Must(t, "inspect", "--format", "{{.State.Status}}", id); out != "running" {
		t.Errorf("after a graceful daemon restart: %q, want running", out)
	}
	b.Must(t, "rm", "-f", id)
}
