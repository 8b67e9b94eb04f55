package monitor_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/engine/runtime"
	"github.com/berth-dev/berth/internal/monitor"
)

// TestMonitorRemovesRuntimeState: with Config.RuntimeState, both monitors
// (the C one for json-file, the Go one for local), with runc and crun,
// remove the killed container's cgroups in every hierarchy and the
// runtime's state themselves; when that meets something the runtime's
// delete would have to handle (here a directory in the state), they fall
// back to it. Either way nothing of the container is left once the
// monitor lets go of its lock, and the exit code is the kill's.
func TestMonitorRemovesRuntimeState(t *testing.T) {
	runtimes := []string{runcPath}
	if p, err := exec.LookPath("crun"); err == nil {
		runtimes = append(runtimes, p)
	}
	for _, rt := range runtimes {
		for _, impl := range []string{"c", "go"} {
			for _, fallback := range []bool{false, true} {
				name := filepath.Base(rt) + "/" + impl
				if fallback {
					name += "/fallback"
				}
				t.Run(name, func(t *testing.T) { testRemovesRuntimeState(t, rt, impl == "go", fallback) })
			}
		}
	}
}

func testRemovesRuntimeState(t *testing.T, rt string, goMonitor, fallback bool) {
	parent := "/berthtest-" + randomID(t)[:12]
	cgPath := parent + "/ctr"
	c := newContainerSpec(t, []string{"sh", "-c", "sleep 300 & sleep 300"}, false, func(spec map[string]any) {
		spec["linux"].(map[string]any)["cgroupsPath"] = cgPath
	})
	t.Cleanup(func() {
		for _, d := range runtime.CgroupPathDirs(parent) {
			os.Remove(d)
		}
	})
	c.cfg.Runtime, c.cfg.Start = rt, true
	if goMonitor {
		c.cfg.LogDriver = "local"
	}
	c.cfg.RuntimeState = filepath.Join(c.runcRoot, c.cfg.ID)
	c.cfg.Cgroups = runtime.CgroupPathDirs(cgPath)
	initPid, _ := c.start()
	var present []string
	for _, d := range c.cfg.Cgroups {
		if _, err := os.Stat(d); err == nil {
			present = append(present, d)
		}
	}
	if len(present) == 0 {
		t.Fatalf("the container has none of the cgroups %q", c.cfg.Cgroups)
	}
	if fallback {
		if err := os.Mkdir(filepath.Join(c.cfg.RuntimeState, "unexpected"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	syscall.Kill(initPid, syscall.SIGKILL)
	if st := c.wait(); st.ExitCode != 137 {
		t.Fatalf("exit %+v, want 137", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	release, err := monitor.Hold(ctx, c.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	for _, d := range append(present, c.cfg.RuntimeState) {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left after the exit (stat: %v)", d, err)
		}
	}
	if out, err := c.runc("state", c.cfg.ID); err == nil {
		t.Errorf("the runtime still knows the container: %s", out)
	}
	// Which way it went: the monitor says when it falls back.
	log, _ := os.ReadFile(filepath.Join(c.cfg.StateDir, monitor.LogFile))
	if fell := strings.Contains(string(log), "runtime delete after"); fell != fallback {
		t.Errorf("fell back to the runtime's delete: %v, want %v; monitor log:\n%s", fell, fallback, log)
	}
}

// TestRemoveStateWaitsForProcesses: RemoveState waits (cgroup v2's
// populated event) for the processes of a cgroup to be gone, and gives up
// with an error, removing nothing, when they stay past its wait.
func TestRemoveStateWaitsForProcesses(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	v2 := "/sys/fs/cgroup/unified"
	if _, err := os.Stat(filepath.Join(v2, "cgroup.procs")); err != nil {
		v2 = "/sys/fs/cgroup"
	}
	if _, err := os.Stat(filepath.Join(v2, "cgroup.procs")); err != nil {
		t.Skip("no cgroup v2 hierarchy")
	}
	dir := filepath.Join(v2, "berthtest-"+randomID(t)[:12])
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Skip("cannot make a cgroup v2 directory:", err)
	}
	t.Cleanup(func() { os.Remove(dir) })
	state := t.TempDir()
	if err := os.WriteFile(filepath.Join(state, "status"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A process in the cgroup: it stays until its stdin closes.
	cmd := exec.Command("sh", "-c", "echo $$ > "+filepath.Join(dir, "cgroup.procs")+" && echo in && exec cat")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if _, err := stdout.Read(make([]byte, 3)); err != nil {
		t.Skip("a process cannot join a cgroup v2 directory here:", err)
	}
	if err := monitor.RemoveState(state, []string{dir}, 50*time.Millisecond); err == nil {
		t.Fatal("RemoveState succeeded while a process stays in the cgroup")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal("the cgroup went while its process stays:", err)
	}
	if _, err := os.Stat(filepath.Join(state, "status")); err != nil {
		t.Fatal("the state went while the cgroup stays:", err)
	}
	done := make(chan error, 1)
	go func() { done <- monitor.RemoveState(state, []string{dir}, 60*time.Second) }()
	stdin.Close() // the process ends; RemoveState sees the cgroup empty
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, state} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s left (stat: %v)", p, err)
		}
	}
}
