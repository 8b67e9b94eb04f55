package snapshots

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pendingOverlays returns how many references Detach keeps on target that
// still hold an overlay (fstatfs says overlayfs).
func pendingOverlays(t *testing.T, target string) int {
	t.Helper()
	releases.mu.Lock()
	defer releases.mu.Unlock()
	d := releases.pending[target]
	if d == nil {
		return 0
	}
	if d.taken {
		return len(d.fds) // being closed
	}
	n := 0
	for _, fd := range d.fds {
		var st unix.Statfs_t
		if err := unix.Fstatfs(fd, &st); err != nil {
			t.Fatalf("kept reference %d: %v", fd, err)
		}
		if st.Type == unix.OVERLAYFS_SUPER_MAGIC {
			n++
		}
	}
	return n
}

// mountedLayer prepares and mounts a writable layer over one lower
// directory holding a file, or skips where overlays cannot be mounted.
func mountedLayer(t *testing.T) (dir, merged string) {
	t.Helper()
	root := t.TempDir()
	lower := filepath.Join(root, "lower")
	if err := os.MkdirAll(lower, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(lower, "base"), []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	dir = filepath.Join(root, "c1")
	if err := CreateRW(dir); err != nil {
		t.Fatal(err)
	}
	merged, err := MountRW(dir, []string{lower})
	if err != nil {
		t.Skipf("cannot mount an overlay here: %v", err)
	}
	t.Cleanup(func() { UnmountAll(merged); Settle(merged) })
	return dir, merged
}

// The overlay leaves the mount table when Detach returns; its end (the
// reference berthd keeps for the background sync) happens without anyone
// asking; a mount of the same layer right after sees what was written.
func TestDetachEndsInBackground(t *testing.T) {
	dir, merged := mountedLayer(t)
	if err := os.WriteFile(filepath.Join(merged, "written"), []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Detach(merged); err != nil {
		t.Fatal(err)
	}
	if IsMounted(merged) {
		t.Fatal("still mounted after Detach")
	}
	deadline := time.Now().Add(30 * time.Second)
	for pendingOverlays(t, merged) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the detached overlay was never released")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := Detach(merged); err != nil {
		t.Fatalf("Detach of an unmounted layer: %v", err)
	}
	if _, err := MountRW(dir, []string{filepath.Join(filepath.Dir(dir), "lower")}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(merged, "written")); err != nil || string(b) != "kept" {
		t.Fatalf("after remount: %q, %v", b, err)
	}
}

// A mount of a layer whose last overlay is still pending ends that one
// first (two overlays never share an upper directory), and settleAll
// leaves no reference behind.
func TestMountSettlesPendingDetach(t *testing.T) {
	dir, merged := mountedLayer(t)
	// Hold the background worker back: wait for one still at work to
	// finish, then claim its place.
	deadline := time.Now().Add(30 * time.Second)
	for {
		releases.mu.Lock()
		if !releases.running {
			releases.running = true
			releases.mu.Unlock()
			break
		}
		releases.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatal("the background worker never finished")
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer func() {
		releases.mu.Lock()
		releases.running = false
		releases.mu.Unlock()
	}()
	if err := Detach(merged); err != nil {
		t.Fatal(err)
	}
	if pendingOverlays(t, merged) != 1 {
		t.Fatal("Detach kept no reference: the overlay ended on the caller's path")
	}
	if _, err := MountRW(dir, []string{filepath.Join(filepath.Dir(dir), "lower")}); err != nil {
		t.Fatal(err)
	}
	if n := pendingOverlays(t, merged); n != 0 {
		t.Fatalf("MountRW left the previous overlay pending (%d references)", n)
	}
	if err := Detach(merged); err != nil {
		t.Fatal(err)
	}
	settleAll()
	if n := pendingOverlays(t, merged); n != 0 {
		t.Fatalf("%d references left after settleAll", n)
	}
}
