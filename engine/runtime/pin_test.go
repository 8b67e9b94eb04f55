package runtime

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func mountCount(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) > 4 && fs[4] == path {
			n++
		}
	}
	return n
}

func copyExe(t *testing.T, dst string) {
	t.Helper()
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true to copy")
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestPinBinary(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (bind mounts)")
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "bin"), filepath.Join(dir, "pinned", "bin")
	copyExe(t, src)
	t.Cleanup(func() { unmountAll(dst) })
	for i := 0; i < 2; i++ { // the second time keeps the first mount
		if err := pinBinary(src, dst); err != nil {
			t.Fatal(err)
		}
		if n := mountCount(t, dst); n != 1 {
			t.Fatalf("pin %d: %d mounts on %s, want 1", i+1, n, dst)
		}
	}
	if err := exec.Command(dst).Run(); err != nil {
		t.Fatalf("running the pinned binary: %v", err)
	}
	if _, err := os.OpenFile(dst, os.O_WRONLY, 0); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("opening the pinned binary for writing: %v, want EROFS", err)
	}

	// An upgrade replaces the binary: the pin follows the new file.
	copyExe(t, src+".new")
	if err := os.Rename(src+".new", src); err != nil {
		t.Fatal(err)
	}
	if pinnedTo(src, dst) {
		t.Fatal("the old pin counts as the new binary")
	}
	if err := pinBinary(src, dst); err != nil {
		t.Fatal(err)
	}
	if !pinnedTo(src, dst) || mountCount(t, dst) != 1 {
		t.Fatalf("after the upgrade: pinned %v, %d mounts", pinnedTo(src, dst), mountCount(t, dst))
	}

	s := &Set{Runtimes: map[string]*Runtime{"crun": {Path: src, ExecPath: dst}}}
	s.Unpin()
	if n := mountCount(t, dst); n != 0 {
		t.Fatalf("after Unpin: %d mounts on %s", n, dst)
	}
	if _, err := os.Stat(filepath.Dir(dst)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("after Unpin, %s: %v, want it removed", filepath.Dir(dst), err)
	}
}
