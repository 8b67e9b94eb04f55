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

// bundle writes an OCI bundle whose busybox rootfs runs args.
func bundle(t *testing.T, args []string) string {
	t.Helper()
	bb, err := os.ReadFile("/usr/bin/busybox")
	if err != nil {
		t.Skip("needs /usr/bin/busybox")
	}
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(rootfs, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sh", "echo", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", n)); err != nil {
			t.Fatal(err)
		}
	}
	spec := map[string]any{
		"ociVersion": "1.0.2",
		"process":    map[string]any{"user": map[string]any{"uid": 0, "gid": 0}, "args": args, "env": []string{"PATH=/bin"}, "cwd": "/"},
		"root":       map[string]any{"path": "rootfs"},
		"mounts":     []map[string]any{{"destination": "/proc", "type": "proc", "source": "proc"}},
		"linux":      map[string]any{"namespaces": []map[string]any{{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"}}},
	}
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
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
	dir := bundle(t, []string{"sleep", "1000"})
	id := "oci-test-" + filepath.Base(dir)
	t.Cleanup(func() { r.Delete(ctx, id, &DeleteOpts{Force: true}) })
	devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	pidFile := filepath.Join(dir, "init.pid")
	if err := r.Create(ctx, id, &CreateOpts{Bundle: dir, PidFile: pidFile, IO: IO{Stdin: devnull, Stdout: devnull, Stderr: devnull}}); err != nil {
		t.Fatalf("Create: %v", err)
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
	cmd, err := r.Exec(ctx, id, &ExecOpts{Process: []byte(`{"args":["echo","from exec"],"cwd":"/","env":["PATH=/bin"],"user":{"uid":0,"gid":0}}`),
		Dir: xdir, PidFile: filepath.Join(xdir, "pid"), IO: IO{Stdout: w, Stderr: w}})
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
