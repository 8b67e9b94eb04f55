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

// startLaunched starts the launched monitor l with c's config.
func startLaunched(t *testing.T, l *monitor.Launched, c *ctr) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, monPid, err := l.Start(ctx, c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(monPid, syscall.SIGKILL) })
}

// A monitor launched ahead of its config runs the container once started
// with it, as Start's monitor does.
func TestLaunchedMonitorStart(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "echo out; exit 5"}, false)
	c.cfg.Start = true
	l := launchedC(t, c)
	startLaunched(t, l, c)
	if st := c.wait(); st.ExitCode != 5 {
		t.Fatalf("exit %+v, want 5", st)
	}
	if _, _, err := l.Start(context.Background(), c.cfg); err == nil {
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

// A release request sent before the go (queued) is served as the
// runtime's create succeeds: the process starts without a StartContainer,
// the connections sent along see all its output and feed its stdin, and
// none of them leaks into the container.
func TestLaunchedMonitorRelease(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "read l; echo got $l; echo err >&2; ls /proc/self/fd; exit 3"}, false)
	c.cfg.OpenStdin, c.cfg.StdinOnce = true, true
	l := launchedC(t, c)
	conns, err := l.Release(monitor.ReleaseRequest{Attach: []monitor.AttachOptions{{Stdin: true, Stdout: true, Stderr: true}, {Stderr: true}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, conn := range conns {
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(15 * time.Second))
	}
	startLaunched(t, l, c)
	if !l.Released() {
		t.Fatal("the release request sent before the create was not served")
	}
	if _, err := conns[0].Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	conns[0].CloseWrite()
	if out, errOut := readFrames(t, conns[0]); out != "got hello\n0\n1\n2\n3\n" || errOut != "err\n" {
		t.Errorf("first client: stdout %q stderr %q", out, errOut)
	}
	if out, errOut := readFrames(t, conns[1]); out != "" || errOut != "err\n" {
		t.Errorf("stderr-only client: stdout %q stderr %q", out, errOut)
	}
	if st := c.wait(); st.ExitCode != 3 {
		t.Fatalf("exit %+v, want 3", st)
	}
	if _, err := l.Release(monitor.ReleaseRequest{}); err == nil {
		t.Error("a release request after the ready report was taken")
	}
}

// A release request naming a network namespace the init is not in is not
// served: the container stays created, and starts as usual after.
func TestLaunchedMonitorReleaseOtherNetNS(t *testing.T) {
	c := newContainer(t, []string{"sh", "-c", "exit 4"}, false)
	l := launchedC(t, c)
	// The container has a network namespace of its own; the monitor's
	// own is another.
	conns, err := l.Release(monitor.ReleaseRequest{NetNS: "/proc/self/ns/net", Attach: []monitor.AttachOptions{{Stdout: true}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conns[0].Close()
	startLaunched(t, l, c)
	if l.Released() {
		t.Fatal("released into a namespace its init is not in")
	}
	c.startProcess()
	if st := c.wait(); st.ExitCode != 4 {
		t.Fatalf("exit %+v, want 4", st)
	}
}
