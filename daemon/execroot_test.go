package daemon

import (
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// diskDir is a new folder on a disk file system (the exec-root's case the
// tmpfs is for); the test is skipped where there is none to use, or
// without the right to mount.
func diskDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	dir := t.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil || st.Type == unix.TMPFS_MAGIC {
		t.Skip("the test's temp folder is not on a disk file system")
	}
	t.Cleanup(func() {
		for range 4 {
			ms, _ := mountinfo.GetMounts(mountinfo.PrefixFilter(dir))
			if len(ms) == 0 {
				return
			}
			for _, m := range ms {
				unix.Unmount(m.Mountpoint, unix.MNT_DETACH)
			}
		}
	})
	return dir
}

// mountsAt lists the mounts stacked at dir, bottom first.
func mountsAt(t *testing.T, dir string) []*mountinfo.Info {
	t.Helper()
	ms, err := mountinfo.GetMounts(mountinfo.SingleEntryFilter(dir))
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestExecRootTmpfsLifecycle(t *testing.T) {
	exec := filepath.Join(diskDir(t), "exec")
	if err := os.Mkdir(exec, 0o711); err != nil {
		t.Fatal(err)
	}
	// What a berthd stopped before the tmpfs left on disk: its own names.
	for _, d := range []string{"containers", "netns", "runtime", "trash"} {
		os.Mkdir(filepath.Join(exec, d), 0o700)
	}
	os.WriteFile(filepath.Join(exec, "berthd.pid"), []byte("1\n"), 0o644)
	// and its socket, which nothing listens on now.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(exec, "berth.sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	log := slog.New(slog.DiscardHandler)
	if err := mountExecRoot(exec, log); err != nil {
		t.Fatal(err)
	}
	ms := mountsAt(t, exec)
	if len(ms) != 1 || ms[0].FSType != "tmpfs" || ms[0].Source != execTmpfs {
		t.Fatalf("after mountExecRoot, mounts at the exec-root: %+v, want berthd's one tmpfs", ms)
	}
	if fi, err := os.Stat(exec); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("tmpfs mode %v (%v), want the folder's 0711", fi.Mode().Perm(), err)
	}
	// A berthd started again (after SIGKILL) uses the tmpfs, with what it
	// holds, and stacks no other.
	os.MkdirAll(filepath.Join(exec, "containers", "c1"), 0o700)
	if err := mountExecRoot(exec, log); err != nil {
		t.Fatal(err)
	}
	if n := len(mountsAt(t, exec)); n != 1 {
		t.Fatalf("a second start stacked tmpfs: %d mounts at the exec-root", n)
	}
	// A clean stop keeps it while a container's state is there...
	unmountExecRoot(exec, log)
	if _, err := os.Stat(filepath.Join(exec, "containers", "c1")); err != nil || len(mountsAt(t, exec)) != 1 {
		t.Fatalf("clean stop with a container's state: tmpfs unmounted (state: %v)", err)
	}
	// ... or a mount under it (a CRI pod's namespace) ...
	os.RemoveAll(filepath.Join(exec, "containers", "c1"))
	ns := filepath.Join(exec, "netns")
	os.Mkdir(ns, 0o700)
	if err := unix.Mount(ns, ns, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	unmountExecRoot(exec, log)
	if n := len(mountsAt(t, exec)); n != 1 {
		t.Fatalf("clean stop with a mount under the tmpfs: %d mounts at the exec-root, want 1", n)
	}
	unix.Unmount(ns, 0)
	// ... and unmounts it once there is none.
	unmountExecRoot(exec, log)
	if ms := mountsAt(t, exec); len(ms) != 0 {
		t.Fatalf("clean stop without state left mounts: %+v", ms)
	}
}

func TestExecRootLiveStateStaysOnDisk(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for name, prep := range map[string]func(exec string) error{
		"container state": func(exec string) error {
			return os.MkdirAll(filepath.Join(exec, "containers", "c1"), 0o700)
		},
		"foreign file": func(exec string) error {
			return os.WriteFile(filepath.Join(exec, "notes.txt"), nil, 0o600)
		},
		"listening socket": func(exec string) error {
			l, err := net.Listen("unix", filepath.Join(exec, "berth.sock"))
			if err == nil {
				t.Cleanup(func() { l.Close() })
			}
			return err
		},
		"mount under it": func(exec string) error {
			ns := filepath.Join(exec, "netns")
			if err := os.Mkdir(ns, 0o700); err != nil {
				return err
			}
			return unix.Mount(ns, ns, "", unix.MS_BIND, "")
		},
	} {
		t.Run(name, func(t *testing.T) {
			exec := filepath.Join(diskDir(t), "exec")
			if err := os.Mkdir(exec, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := prep(exec); err != nil {
				t.Fatal(err)
			}
			if err := mountExecRoot(exec, log); err != nil {
				t.Fatal(err)
			}
			if ms := mountsAt(t, exec); len(ms) != 0 {
				t.Fatalf("exec-root with %s was mounted over: %+v", name, ms)
			}
		})
	}
}

func TestExecRootLeavesOthersTmpfs(t *testing.T) {
	exec := filepath.Join(diskDir(t), "exec")
	if err := os.Mkdir(exec, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("hosts-run", exec, "tmpfs", 0, "mode=0700"); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if err := mountExecRoot(exec, log); err != nil {
		t.Fatal(err)
	}
	unmountExecRoot(exec, log)
	if ms := mountsAt(t, exec); len(ms) != 1 || ms[0].Source != "hosts-run" {
		t.Fatalf("the host's tmpfs at the exec-root: mounts %+v, want it alone and left in place", ms)
	}
}
