package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostTmpfs mounts a fresh tmpfs on a new folder with the given propagation
// flag (unix.MS_SHARED, unix.MS_PRIVATE) and unmounts it (and anything
// under it) when the test ends.
func hostTmpfs(t *testing.T, dir string, prop uintptr) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	if err := unix.Mount("", dir, "", prop, ""); err != nil {
		t.Fatalf("set propagation of %s: %v", dir, err)
	}
}

// TestBindPropagation: with -v src:dst:rshared (rslave) a mount made on the
// host under src after the container started shows inside it, as with
// Docker; a source that is not on a shared mount is refused with Docker's
// error.
func TestBindPropagation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount")
	}
	d := sharedDaemon(t, "volumes")
	c := d.Docker(t)
	for _, prop := range []string{"rshared", "rslave"} {
		t.Run(prop, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src")
			hostTmpfs(t, src, unix.MS_SHARED)
			name := uniq("prop-" + prop)
			c.Must(t, "run", "-d", "--name", name, "-v", src+":/dst:"+prop, "busybox", "sleep", "600")
			t.Cleanup(func() { c.Run(t, "rm", "-f", name) })

			sub := filepath.Join(src, "sub")
			hostTmpfs(t, sub, unix.MS_SHARED)
			if err := os.WriteFile(filepath.Join(sub, "marker"), []byte("from-host"), 0o644); err != nil {
				t.Fatal(err)
			}
			eventually(t, 20*time.Second, func() error {
				r := c.Run(t, "exec", name, "cat", "/dst/sub/marker")
				if r.Exit != 0 || r.Out() != "from-host" {
					return fmt.Errorf("host mount under the %s source not seen in the container: %s", prop, r)
				}
				return nil
			})
		})
	}
	t.Run("private source", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "src")
		hostTmpfs(t, src, unix.MS_PRIVATE)
		for _, args := range [][]string{
			{"-v", src + ":/dst:rshared"},
			{"--mount", "type=bind,src=" + src + ",dst=/dst,bind-propagation=rshared"},
		} {
			name := uniq("prop-private")
			r := c.Run(t, append(append([]string{"run", "--name", name}, args...), "busybox", "true")...)
			c.Run(t, "rm", "-f", name)
			want := fmt.Sprintf("path %s is mounted on %s but it is not a shared mount", src, src)
			if r.Exit == 0 || !strings.Contains(r.Stderr, want) {
				t.Errorf("%v on a private mount: %s, want failure with %q", args, r, want)
			}
		}
		r := c.Run(t, "run", "--rm", "-v", src+":/dst:rslave", "busybox", "true")
		if want := "is not a shared or slave mount"; r.Exit == 0 || !strings.Contains(r.Stderr, want) {
			t.Errorf("rslave on a private mount: %s, want failure with %q", r, want)
		}
	})
}
