package oci

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bundle writes an OCI bundle whose root holds only a static busybox
// (/bin/busybox) and whose process runs args; the runtime makes the other
// mount points.
func bundle(t *testing.T, args ...string) string {
	t.Helper()
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		t.Skip("needs /usr/bin/busybox")
	}
	dir := t.TempDir()
	for _, d := range []string{"bin", "dev"} { // crun wants /dev to exist
		if err := os.MkdirAll(filepath.Join(dir, "rootfs", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "rootfs", "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(map[string]any{
		"ociVersion": "1.0.2",
		"process":    process(args...),
		"root":       map[string]any{"path": "rootfs"},
		"mounts":     []map[string]any{{"destination": "/proc", "type": "proc", "source": "proc"}},
		"linux":      map[string]any{"namespaces": []map[string]any{{"type": "pid"}, {"type": "mount"}}},
	})
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// process is an OCI process running busybox with args as root.
func process(args ...string) map[string]any {
	return map[string]any{"args": append([]string{"/bin/busybox"}, args...), "cwd": "/", "user": map[string]any{"uid": 0, "gid": 0}}
}

// The verbs drive a real runtime through a container's life: create,
// start, exec, ps, pause, resume, kill, delete, with state at each step.
func TestVerbsWithRealRuntimes(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	for _, name := range []string{"runc", "crun"} {
		t.Run(name, func(t *testing.T) {
			path, err := exec.LookPath(name)
			if err != nil {
				t.Skip("needs " + name)
			}
			testLife(t, &CLI{Name: name, Path: path, Root: t.TempDir()})
		})
	}
}

func testLife(t *testing.T, r *CLI) {
	ctx := context.Background()
	dir := bundle(t, "sleep", "1000")
	id := "oci-test-" + filepath.Base(dir)
	t.Cleanup(func() { r.Delete(ctx, id, &DeleteOpts{Force: true}) })
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	pidFile := filepath.Join(dir, "init.pid")
	// A file, not a pipe: the init inherits the runtime's stdio, and a
	// pipe would keep Create waiting for its EOF.
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	if err := r.Create(ctx, id, &CreateOpts{Bundle: dir, PidFile: pidFile, IO: IO{Stdin: devnull, Stdout: devnull, Stderr: stderr}}); err != nil {
		msg, _ := os.ReadFile(stderr.Name())
		t.Fatalf("Create: %v: %s", err, msg)
	}
	wantStatus(t, r, id, "created")
	if err := r.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	st := wantStatus(t, r, id, "running")
	if pids, err := r.Ps(ctx, id); err != nil || !slices.Contains(pids, st.Pid) {
		t.Errorf("Ps = %v, %v; want it to hold init %d", pids, err, st.Pid)
	}

	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	xdir := t.TempDir()
	proc, err := json.Marshal(process("echo", "from exec"))
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := r.Exec(ctx, id, &ExecOpts{Process: proc, Dir: xdir, PidFile: filepath.Join(xdir, "pid"), IO: IO{Stdout: w, Stderr: w}})
	w.Close()
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	got, _ := io.ReadAll(out)
	out.Close()
	if err := cmd.Wait(); err != nil || strings.TrimSpace(string(got)) != "from exec" {
		t.Errorf("Exec output %q, wait %v", got, err)
	}

	if err := r.Pause(ctx, id); err != nil {
		t.Fatalf("Pause: %v", err)
	}
	wantStatus(t, r, id, "paused")
	if err := r.Resume(ctx, id); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	wantStatus(t, r, id, "running")
	if err := r.Kill(ctx, id, &KillOpts{Signal: int(syscall.SIGKILL)}); err != nil {
		t.Fatalf("Kill: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s, _ := r.State(ctx, id); s == nil || s.Status != "stopped"; s, _ = r.State(ctx, id) {
		if time.Now().After(deadline) {
			t.Fatalf("state after kill: %+v", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := r.Delete(ctx, id, &DeleteOpts{}); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if r.HasState(id) {
		t.Error("state directory left after Delete")
	}
	if _, err := r.State(ctx, id); err == nil || !IsNotExist(err) {
		t.Errorf("State after Delete = %v, want a not-exist error", err)
	}
}

func wantStatus(t *testing.T, r *CLI, id, want string) *State {
	t.Helper()
	st, err := r.State(context.Background(), id)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if st.Status != want || st.ID != id || st.Pid <= 0 {
		t.Fatalf("State = %+v, want status %s", st, want)
	}
	return st
}
