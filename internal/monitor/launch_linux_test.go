package monitor_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/monitor"
)

// launchedC launches the C monitor for c's state directory ahead of its
// config, skipping when the tests run the Go monitor alone.
func launchedC(t *testing.T, c *ctr) *monitor.Launched {
	t.Helper()
	if err := os.MkdirAll(c.cfg.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	l, err := monitor.Launch(monitorBinary(t), c.cfg.StateDir, c.cfg.LogDriver)
	if err != nil {
		t.Fatal(err)
	}
	if l == nil {
		t.Skip("no C monitor beside the Go one")
	}
	return l
}

// A monitor launched ahead of its config runs the container once started
// with it, as Start's monitor does.
func TestLaunchedMonitorStart(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "echo out; exit 5"}, false)
	c.cfg.Start = true
	l := launchedC(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, monPid, err := l.Start(ctx, c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(monPid, syscall.SIGKILL) })
	if st := c.wait(); st.ExitCode != 5 {
		t.Fatalf("exit %+v, want 5", st)
	}
	if _, _, err := l.Start(ctx, c.cfg); err == nil {
		t.Error("a second Start of the launched monitor succeeded")
	}
}

// Aborted before its config, a launched monitor ends having made nothing:
// no socket, lock, exit file or runtime state in its state directory.
func TestLaunchedMonitorAbort(t *testing.T) {
	c := newContainer(t, []string{"true"}, false)
	l := launchedC(t, c)
	l.Abort()
	l.Abort() // a second abort is a no-op
	entries, err := os.ReadDir(c.cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != monitor.LogFile {
			t.Errorf("aborted monitor left %s", e.Name())
		}
	}
	if b, _ := os.ReadFile(filepath.Join(c.cfg.StateDir, monitor.LogFile)); len(b) != 0 {
		t.Errorf("aborted monitor wrote %q", b)
	}
	waitNoProcessFor(t, c.cfg.StateDir)
	if _, _, err := l.Start(context.Background(), c.cfg); err == nil {
		t.Error("Start after Abort succeeded")
	}
	if _, err := os.Stat(filepath.Join(c.cfg.StateDir, monitor.ConfigFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Start after Abort wrote the config: %v", err)
	}
}

// A config for another state directory is refused before anything is
// written, and the launched monitor is ended.
func TestLaunchedMonitorWrongConfig(t *testing.T) {
	c := newContainer(t, []string{"true"}, false)
	l := launchedC(t, c)
	other := c.cfg
	other.StateDir = t.TempDir()
	if _, _, err := l.Start(context.Background(), other); err == nil {
		t.Fatal("Start with another state directory succeeded")
	}
	if _, err := os.Stat(filepath.Join(other.StateDir, monitor.ConfigFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config written to the other directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(c.cfg.StateDir, monitor.LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused monitor took its lock: %v", err)
	}
	waitNoProcessFor(t, c.cfg.StateDir)
}

// waitNoProcessFor waits until no process has dir on its command line.
func waitNoProcessFor(t *testing.T, dir string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		pids := processesWith(dir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("processes %v still run for %s", pids, dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func processesWith(arg string) []string {
	var pids []string
	cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range cmdlines {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg {
				pids = append(pids, filepath.Base(filepath.Dir(p)))
				break
			}
		}
	}
	return pids
}

// The Go monitor's log drivers are not launched ahead.
func TestLaunchGoMonitorDriver(t *testing.T) {
	l, err := monitor.Launch(monitorBinary(t), t.TempDir(), "local")
	if err != nil || l != nil {
		t.Fatalf("Launch for the local driver: %v, %v; want nil, nil", l, err)
	}
}
