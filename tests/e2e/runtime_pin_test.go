package e2e

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// crun runs from a read-only bind mount of its binary that berthd makes
// once (it would otherwise make one and re-execute itself on every
// command): a container cannot write to it, it stays while a container
// kept running by live-restore may need it, and a stop with no container
// left removes it.
func TestRuntimeRunsFromPinnedBinary(t *testing.T) {
	d := startDaemon(t)
	b := d.Berth()
	if rt := b.Must(t, "info", "--format", "{{.DefaultRuntime}}"); rt != "crun" {
		t.Skipf("default runtime is %s, not crun", rt)
	}
	pinned := filepath.Join(d.ExecRoot, "runtime", "crun-bin", "crun")
	if out := b.Must(t, "run", "--rm", "busybox", "echo", "pinned-ok"); out != "pinned-ok" {
		t.Fatalf("run --rm: %q", out)
	}
	if m := mountsUnder(filepath.Dir(pinned)); len(m) != 1 {
		t.Fatalf("mounts on %s: %q, want the one read-only bind mount", filepath.Dir(pinned), m)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(pinned, &st); err != nil {
		t.Fatal(err)
	}
	if st.Flags&1 == 0 { // ST_RDONLY
		t.Fatalf("%s is on a writable mount (flags %#x): a container could replace the runtime", pinned, st.Flags)
	}

	// live-restore: a container outlives berthd, and so does the mount its
	// monitor runs crun from; the next berthd stops and removes it.
	b.Must(t, "run", "-d", "--name", "pin-live", "busybox", "sleep", "1d")
	if !d.Stop() {
		t.Fatal("berthd did not stop on SIGTERM")
	}
	if m := mountsUnder(filepath.Dir(pinned)); len(m) != 1 {
		t.Fatalf("after a stop with a container running, mounts on %s: %q, want the pinned binary kept", filepath.Dir(pinned), m)
	}
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(filepath.Dir(pinned)); len(m) != 1 {
		t.Fatalf("after a restart, mounts on %s: %q, want one (reused, not stacked)", filepath.Dir(pinned), m)
	}
	b.Must(t, "rm", "-f", "pin-live")
	if !d.Stop() {
		t.Fatal("berthd did not stop on SIGTERM")
	}
	if m := mountsUnder(filepath.Dir(pinned)); len(m) != 0 {
		t.Fatalf("after a stop with no container, mounts left: %s", strings.Join(m, ", "))
	}
	if err := d.Start(); err != nil { // Close checks for leaks on a running daemon
		t.Fatal(err)
	}
}
